package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	nameRE     = regexp.MustCompile(`^[\p{L}\p{N}\s_.:/%&#=+\\\-@]{1,200}$`)
	idRE       = regexp.MustCompile(`^[0-9a-f]{16}$`)
	traceIDRE  = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)
	annotKeyRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// span is one decoded segment or subsegment of a generated trace.
type span struct {
	m           map[string]any
	doc         int    // index of its document in Trace.Docs
	parent      string // enclosing span, or parent_id of a document's top span
	segment     bool
	independent bool
	inProgress  bool
	start, end  int64 // microseconds
}

func (s *span) str(path ...string) string {
	v, _ := lookup(s.m, path...).(string)
	return v
}

func (s *span) flag(name string) bool { return s.m[name] == true }

func (s *span) status() int64 {
	n, _ := lookup(s.m, "http", "response", "status").(json.Number)
	v, _ := n.Int64()
	return v
}

func lookup(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// micros parses an epoch-seconds number with at most 6 decimals exactly.
func micros(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("time %v is not a number", v)
	}
	sec, frac, _ := strings.Cut(string(n), ".")
	if len(frac) > 6 {
		return 0, fmt.Errorf("time %s has more than microsecond precision", n)
	}
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("time %s: %w", n, err)
	}
	f, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return s*1e6 + f, nil
}

// decodeTrace parses and checks every document of tr, generated at start,
// and returns its spans: the complete ones first in document order, then
// the in-progress ones.
func decodeTrace(t *testing.T, tr Trace, start time.Time) []*span {
	t.Helper()
	if !traceIDRE.MatchString(tr.ID) {
		t.Fatalf("trace id %q: want 1-<8 hex>-<24 hex>", tr.ID)
	}
	if got, want := tr.ID[2:10], fmt.Sprintf("%08x", start.Unix()); got != want {
		t.Errorf("trace id %s: got epoch %s, want %s", tr.ID, got, want)
	}
	var spans, pending []*span
	errorf := func(s *span, format string, args ...any) {
		t.Helper()
		t.Errorf("trace %s doc %d span %s: %s\n%s", tr.ID, s.doc, s.str("id"), fmt.Sprintf(format, args...), tr.Docs[s.doc])
	}
	var walk func(s *span)
	walk = func(s *span) {
		t.Helper()
		if name := s.str("name"); !nameRE.MatchString(name) {
			errorf(s, "invalid name %q", name)
		}
		if id := s.str("id"); !idRE.MatchString(id) || id == "0000000000000000" {
			errorf(s, "invalid id %q", id)
		}
		var err error
		if s.start, err = micros(s.m["start_time"]); err != nil {
			errorf(s, "start_time: %v", err)
		}
		if s.inProgress {
			if _, ok := s.m["end_time"]; ok {
				errorf(s, "in-progress segment has an end_time")
			}
		} else if s.end, err = micros(s.m["end_time"]); err != nil {
			errorf(s, "end_time: %v", err)
		} else if s.end < s.start {
			errorf(s, "ends at %d before its start %d", s.end, s.start)
		}
		if ns, ok := s.m["namespace"]; ok && ns != "remote" && ns != "aws" {
			errorf(s, "namespace %v", ns)
		}
		for _, f := range []string{"error", "fault", "throttle", "in_progress"} {
			if v, ok := s.m[f]; ok && v != true {
				errorf(s, "%s = %v, want true or absent", f, v)
			}
		}
		if s.flag("throttle") && !s.flag("error") {
			errorf(s, "throttle without error")
		}
		if anns, ok := s.m["annotations"]; ok {
			for k, v := range anns.(map[string]any) {
				if !annotKeyRE.MatchString(k) {
					errorf(s, "annotation key %q", k)
				}
				switch v.(type) {
				case string, bool, json.Number:
				default:
					errorf(s, "annotation %s has value %v of type %T", k, v, v)
				}
			}
		}
		if c, ok := s.m["cause"]; ok {
			exs, _ := lookup(c, "exceptions").([]any)
			if lookup(c, "working_directory") == nil || len(exs) == 0 {
				errorf(s, "cause without working_directory or exceptions")
			}
			for _, ex := range exs {
				stack, _ := lookup(ex, "stack").([]any)
				id, _ := lookup(ex, "id").(string)
				if !idRE.MatchString(id) || lookup(ex, "type") == nil || lookup(ex, "message") == nil || len(stack) == 0 {
					errorf(s, "exception %v lacks id, type, message or stack", ex)
				}
				for _, fr := range stack {
					if lookup(fr, "path") == nil || lookup(fr, "label") == nil {
						errorf(s, "stack frame %v lacks path or label", fr)
					}
					if _, ok := lookup(fr, "line").(json.Number); !ok {
						errorf(s, "stack frame %v lacks line", fr)
					}
				}
			}
		}
		if !s.inProgress {
			spans = append(spans, s)
		}
		subs, _ := s.m["subsegments"].([]any)
		for _, c := range subs {
			cm, _ := c.(map[string]any)
			child := &span{m: cm, doc: s.doc, parent: s.str("id")}
			if _, ok := cm["trace_id"]; ok {
				errorf(child, "embedded subsegment has a trace_id")
			}
			walk(child)
			if child.start < s.start || child.end > s.end {
				errorf(child, "[%d, %d] not inside its parent's [%d, %d]", child.start, child.end, s.start, s.end)
			}
		}
	}
	for i, d := range tr.Docs {
		if len(d)+len(header) > 65507 {
			t.Errorf("trace %s doc %d: %d bytes do not fit a datagram", tr.ID, i, len(d))
		}
		dec := json.NewDecoder(bytes.NewReader(d))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil || dec.More() {
			t.Fatalf("trace %s doc %d: not one JSON object (%v):\n%s", tr.ID, i, err, d)
		}
		s := &span{m: m, doc: i, inProgress: m["in_progress"] == true}
		s.parent = s.str("parent_id")
		s.independent = m["type"] != nil
		s.segment = !s.independent
		if got := s.str("trace_id"); got != tr.ID {
			errorf(s, "got trace_id %q, want %q", got, tr.ID)
		}
		if s.independent && (m["type"] != "subsegment" || !idRE.MatchString(s.parent)) {
			errorf(s, "independent subsegment needs type subsegment and a parent_id")
		}
		if s.inProgress && s.independent {
			errorf(s, "in-progress subsegment")
		}
		if s.segment {
			if s.str("origin") == "" || s.str("aws", "xray", "sdk") == "" || s.str("service", "version") == "" {
				errorf(s, "segment lacks origin, aws.xray.sdk or service.version")
			}
		}
		if s.inProgress {
			pending = append(pending, s)
		}
		walk(s)
	}

	byID := map[string]*span{}
	for _, s := range spans {
		if byID[s.str("id")] != nil {
			t.Errorf("trace %s: id %s used twice", tr.ID, s.str("id"))
		}
		byID[s.str("id")] = s
	}
	if len(spans) != tr.Spans {
		t.Errorf("trace %s: got %d spans in the documents, Trace.Spans = %d", tr.ID, len(spans), tr.Spans)
	}
	roots := 0
	callees := map[string]int{}
	for _, s := range spans {
		if s.independent || s.segment {
			if s.parent == "" {
				roots++
				if s.str("name") != "api-gateway" || s.str("origin") != "AWS::EC2::Instance" || s.status() == 0 ||
					s.str("http", "request", "method") == "" || s.str("http", "request", "url") == "" ||
					s.str("http", "request", "user_agent") == "" || s.str("http", "request", "client_ip") == "" {
					errorf(s, "root segment lacks gateway fields")
				}
				if s.start != start.UnixMicro() {
					errorf(s, "root starts at %d, want %d", s.start, start.UnixMicro())
				}
				continue
			}
			p := byID[s.parent]
			if p == nil {
				errorf(s, "parent %s not in the trace", s.parent)
				continue
			}
			if p.doc <= s.doc {
				errorf(s, "sent in doc %d, not before its parent's doc %d", s.doc, p.doc)
			}
			if s.start < p.start || s.end > p.end {
				errorf(s, "[%d, %d] not inside its parent's [%d, %d]", s.start, s.end, p.start, p.end)
			}
			if s.segment {
				callees[s.parent]++
				if p.segment || p.str("namespace") != "remote" || lookup(p.m, "http", "request", "traced") != true {
					errorf(s, "parent %s is not a traced remote subsegment", s.parent)
				}
			}
		}
	}
	if roots != 1 {
		t.Errorf("trace %s: got %d root segments, want 1", tr.ID, roots)
	}
	for _, s := range spans {
		traced := lookup(s.m, "http", "request", "traced") == true
		if got, want := callees[s.str("id")], map[bool]int{true: 1}[traced]; got != want {
			errorf(s, "got %d callee segments, want %d", got, want)
		}
	}
	for _, s := range pending {
		c := byID[s.str("id")]
		switch {
		case c == nil:
			errorf(s, "in-progress segment never completed")
		case c.doc < s.doc || c.start != s.start:
			errorf(s, "complete version in doc %d starts at %d", c.doc, c.start)
		}
	}
	return append(spans, pending...)
}

func TestTraceDocuments(t *testing.T) {
	g := NewGenerator(1, GeneratorOptions{})
	start := time.Unix(1767225600, 123456000)
	ids := map[string]string{}
	for i := range 3000 {
		tr := g.Trace(start.Add(time.Duration(i) * time.Millisecond))
		if _, dup := ids[tr.ID]; dup {
			t.Errorf("trace id %s generated twice", tr.ID)
		}
		ids[tr.ID] = tr.ID
		for _, s := range decodeTrace(t, tr, start.Add(time.Duration(i)*time.Millisecond)) {
			if s.inProgress {
				continue
			}
			if prev, dup := ids[s.str("id")]; dup {
				t.Errorf("span id %s in trace %s was used in trace %s", s.str("id"), tr.ID, prev)
			}
			ids[s.str("id")] = tr.ID
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

func TestTraceMix(t *testing.T) {
	const n = 4000
	g := NewGenerator(7, GeneratorOptions{})
	start := time.Unix(1767225600, 0)
	counts := map[string]int{}
	var durations []int64
	for range n {
		spans := decodeTrace(t, g.Trace(start), start)
		seen := map[string]bool{}
		root := spans[0]
		for _, s := range spans {
			if s.segment && s.parent == "" && !s.inProgress {
				root = s
			}
			if s.str("namespace") == "aws" || s.m["sql"] != nil {
				durations = append(durations, s.end-s.start)
			}
			features := map[string]bool{
				"sql":                 s.str("sql", "database_type") == "PostgreSQL" && s.str("sql", "sanitized_query") != "" && s.str("sql", "database_version") != "" && s.str("sql", "driver_version") != "" && s.str("sql", "user") != "" && strings.HasSuffix(s.str("name"), "@db.internal"),
				"uninstrumented http": s.str("namespace") == "remote" && s.str("name") == "api.partner.example" && lookup(s.m, "http", "request", "traced") == nil,
				"local subsegment":    !s.segment && s.m["namespace"] == nil,
				"in progress":         s.inProgress,
				"independent":         s.independent,
				"user":                s.str("user") != "",
				"annotation string":   hasAnnotation(s, func(v any) bool { _, ok := v.(string); return ok }),
				"annotation number":   hasAnnotation(s, func(v any) bool { _, ok := v.(json.Number); return ok }),
				"annotation bool":     hasAnnotation(s, func(v any) bool { _, ok := v.(bool); return ok }),
				"slow call":           s.end-s.start >= 100_000,
				"call over a second":  s.end-s.start >= 1_000_000,
				"throttle":            s.str("name") == "DynamoDB" && s.flag("throttle") && s.flag("error") && s.status() == 429,
				"fault cause":         s.flag("fault") && s.m["cause"] != nil,
			}
			for _, o := range []string{"AWS::EC2::Instance", "AWS::ECS::Container", "AWS::EKS::Container", "AWS::ElasticBeanstalk::Environment"} {
				features[o] = s.str("origin") == o
			}
			for _, a := range []struct{ name, field string }{
				{"DynamoDB", "table_name"}, {"SQS", "queue_url"}, {"S3", "bucket_name"}, {"SNS", "topic_arn"},
			} {
				features[a.name] = s.str("name") == a.name && s.str("namespace") == "aws" &&
					s.str("aws", "operation") != "" && s.str("aws", "region") != "" && s.str("aws", "request_id") != "" &&
					s.str("aws", a.field) != "" && lookup(s.m, "aws", "retries") != nil
			}
			for f, ok := range features {
				if ok {
					seen[f] = true
				}
			}
		}
		switch st := root.status(); {
		case root.flag("fault"):
			seen["fault trace"] = st >= 500 && root.m["cause"] != nil
		case root.flag("throttle"):
			seen["throttle trace"] = st == 429
		case root.flag("error"):
			seen["error trace"] = st >= 400 && st < 500
		default:
			seen["ok trace"] = st < 400
		}
		for f := range seen {
			counts[f]++
		}
	}

	t.Logf("traces with each feature, of %d: %v", n, counts)
	check := func(feature string, lo, hi float64) {
		t.Helper()
		if got := float64(counts[feature]) / n; got < lo || got > hi {
			t.Errorf("%s: got in %.3f of traces, want %.3f to %.3f", feature, got, lo, hi)
		}
	}
	check("ok trace", 0.87, 0.93)
	check("error trace", 0.035, 0.065)
	check("throttle trace", 0.01, 0.03)
	check("fault trace", 0.02, 0.045)
	check("in progress", 0.01, 0.10)
	check("independent", 0.02, 0.25)
	check("user", 0.5, 0.7)
	check("slow call", 0.02, 0.3)
	for _, f := range []string{
		"sql", "uninstrumented http", "local subsegment", "annotation string", "annotation number",
		"annotation bool", "call over a second", "throttle", "fault cause", "DynamoDB", "SQS", "S3", "SNS",
		"AWS::EC2::Instance", "AWS::ECS::Container", "AWS::EKS::Container", "AWS::ElasticBeanstalk::Environment",
	} {
		check(f, 10.0/n, 1)
	}
	fast := 0
	for _, d := range durations {
		if d < 20_000 {
			fast++
		}
	}
	if got := float64(fast) / float64(len(durations)); got < 0.9 {
		t.Errorf("database and AWS calls under 20 ms: got %.2f of them, want most", got)
	}
}

func hasAnnotation(s *span, is func(any) bool) bool {
	anns, _ := s.m["annotations"].(map[string]any)
	for _, v := range anns {
		if is(v) {
			return true
		}
	}
	return false
}

func TestSpanBytes(t *testing.T) {
	check := func(spanBytes int, lo, hi float64) {
		t.Helper()
		g := NewGenerator(3, GeneratorOptions{SpanBytes: spanBytes})
		var bytes, spans int
		for range 1000 {
			tr := g.Trace(time.Unix(1767225600, 0))
			for _, d := range tr.Docs {
				bytes += len(d)
				if !json.Valid(d) {
					t.Fatalf("SpanBytes %d: invalid JSON:\n%s", spanBytes, d)
				}
				if len(d)+len(header) > 65507 {
					t.Errorf("SpanBytes %d: a %d-byte document does not fit a datagram", spanBytes, len(d))
				}
			}
			spans += tr.Spans
		}
		if got := float64(bytes) / float64(spans); got < lo || got > hi {
			t.Errorf("SpanBytes %d: got %.0f bytes per span, want %.0f to %.0f", spanBytes, got, lo, hi)
		}
	}
	check(0, 270, 350)
	check(1000, 950, 1060)
	check(4000, 3900, 4100)
	check(MaxSpanBytes, 9800, 10200)
}

func TestGeneratorDeterministic(t *testing.T) {
	a, b := NewGenerator(42, GeneratorOptions{}), NewGenerator(42, GeneratorOptions{})
	start := time.Unix(1767225600, 0)
	for i := range 200 {
		ta, tb := a.Trace(start), b.Trace(start)
		if ta.ID != tb.ID || ta.Spans != tb.Spans || !bytes.Equal(bytes.Join(ta.Docs, nil), bytes.Join(tb.Docs, nil)) {
			t.Fatalf("trace %d differs between generators of the same seed: %s and %s", i, ta.ID, tb.ID)
		}
	}
}
