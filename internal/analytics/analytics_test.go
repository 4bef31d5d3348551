package analytics

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// t0 is the first trace's start in testdata/traces.json.
const t0 = 1795642200.0

type corpus struct {
	Traces []struct {
		Comment   string            `json:"comment"`
		Documents []json.RawMessage `json:"documents"`
	} `json:"traces"`
}

// loadTraces decodes testdata/traces.json into summarised traces, as ingest
// would: documents decoded, spans deduplicated, the summary computed.
func loadTraces(t testing.TB) []*Trace {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "traces.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c corpus
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	var out []*Trace
	for i, tr := range c.Traces {
		var spans []*model.Span
		for j, raw := range tr.Documents {
			var doc bytes.Buffer
			if err := json.Compact(&doc, raw); err != nil {
				t.Fatal(err)
			}
			decoded, err := xray.Decode(doc.Bytes())
			if err != nil {
				t.Fatalf("trace %d document %d: %v", i, j, err)
			}
			for k := range decoded {
				spans = append(spans, &decoded[k])
			}
		}
		spans = trace.Dedupe(spans)
		sum := trace.Summarize(spans)
		out = append(out, &Trace{Summary: &sum, Spans: spans})
	}
	return out
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s; run go test -update and review the diff:\n%s", name, path, got)
	}
}

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-9+RelativeAccuracy*math.Abs(want) }

func TestLatencyGolden(t *testing.T) {
	l := NewLatency()
	for _, tr := range loadTraces(t) {
		l.Add(tr)
	}
	r := l.Result(0)
	golden(t, "latency", r)

	node := func(name, typ string) NodeLatency {
		for _, n := range r.Nodes {
			if n.Service.Name == name && n.Service.Type == typ {
				return n
			}
		}
		t.Fatalf("no node %s %s in %+v", name, typ, r.Nodes)
		return NodeLatency{}
	}
	// orders: 6 segments, 2 of them faulted; payments likewise.
	if o := node("orders", "AWS::ECS::Container"); o.Count != 6 || o.Faults != 2 {
		t.Errorf("orders: count %d faults %d, want 6 and 2", o.Count, o.Faults)
	}
	if p := node("payments", "AWS::EC2::Instance"); p.Count != 6 || p.Faults != 2 {
		t.Errorf("payments: count %d faults %d, want 6 and 2", p.Count, p.Faults)
	}
	// The throttled DynamoDB table is an inferred node with 3 throttles.
	if d := node("stock", "AWS::DynamoDB::Table"); !d.Inferred || d.Count != 3 || d.Throttles != 3 {
		t.Errorf("stock table: %+v, want inferred, 3 calls, 3 throttles", d)
	}
	// orders → PostgreSQL: 2+3+4+5+6+7 = 27 queries.
	found := false
	for _, e := range r.Edges {
		if e.From.Name == "orders" && e.To.Type == "Database::SQL" {
			found = true
			if e.Count != 27 {
				t.Errorf("orders → database: %d calls, want 27", e.Count)
			}
		}
	}
	if !found {
		t.Errorf("no orders → database edge in %+v", r.Edges)
	}
	// /orders/1000 … /orders/1005 are one templated URL.
	for _, u := range r.URLs {
		if u.Service.Name == "orders" && u.URL != "https://shop.example.com/orders/{id}" {
			t.Errorf("orders URL %q is not templated", u.URL)
		}
	}
}

// TestPercentilesAccuracy checks the sketches against exact percentiles of
// sorted values, for a heavy-tailed latency distribution.
func TestPercentilesAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	d := newDist()
	var vals []float64
	for i := 0; i < 100_000; i++ {
		v := math.Exp(rng.NormFloat64()*1.2 - 3) // lognormal, median ≈ 50 ms
		if i%1000 == 0 {
			v *= 40 // a slow tail
		}
		vals = append(vals, v)
		d.add(v)
	}
	slices.Sort(vals)
	exact := func(q float64) float64 { return vals[int(math.Ceil(q*float64(len(vals)-1)))] }
	p := d.percentiles()
	for _, c := range []struct {
		name string
		got  float64
		q    float64
	}{{"p50", p.P50, 0.5}, {"p90", p.P90, 0.9}, {"p95", p.P95, 0.95}, {"p99", p.P99, 0.99}, {"p99.9", p.P999, 0.999}} {
		// DDSketch's guarantee: within α of the value at the rank (the rank
		// convention differs by at most one position).
		lo, hi := vals[max(0, int(c.q*float64(len(vals)-1))-1)], vals[min(len(vals)-1, int(c.q*float64(len(vals)-1))+1)]
		if c.got < lo*(1-RelativeAccuracy) || c.got > hi*(1+RelativeAccuracy) {
			t.Errorf("%s = %g, exact %g: outside ±%g", c.name, c.got, exact(c.q), RelativeAccuracy)
		}
	}
	if p.Count != 100_000 || p.Min != vals[0] || p.Max != vals[len(vals)-1] {
		t.Errorf("count/min/max = %d/%g/%g, want %d/%g/%g", p.Count, p.Min, p.Max, len(vals), vals[0], vals[len(vals)-1])
	}
	// Merging two halves gives the same answer as one sketch.
	a, b := newDist(), newDist()
	for i, v := range vals {
		if i%2 == 0 {
			a.add(v)
		} else {
			b.add(v)
		}
	}
	a.merge(b)
	if m := a.percentiles(); !near(m.P99, p.P99) || m.Count != p.Count {
		t.Errorf("merged p99 %g count %d, want %g %d", m.P99, m.Count, p.P99, p.Count)
	}
}

func TestHeatmapGolden(t *testing.T) {
	h, err := NewHeatmap(t0, t0+200, 60, "")
	if err != nil {
		t.Fatal(err)
	}
	hp, err := NewHeatmap(t0, t0+200, 60, "payments")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, tr := range loadTraces(t) {
		h.Add(tr)
		hp.Add(tr)
	}
	r, rp := h.Result(), hp.Result()
	golden(t, "heatmap", r)
	for _, c := range r.Columns {
		for _, n := range c.Counts {
			total += n
		}
	}
	if total != 16 || len(r.Columns) != 4 {
		t.Errorf("%d response times in %d columns, want 16 in 4", total, len(r.Columns))
	}
	var slow int64
	for _, c := range rp.Columns {
		slow += c.Counts[slices.Index(LatencyBuckets, 0.2)] // [200ms, 500ms): the failing payments
	}
	if slow != 2 {
		t.Errorf("payments heat map has %d durations in [0.2, 0.5), want 2", slow)
	}
	if _, err := NewHeatmap(t0, t0+3600, 1, ""); err == nil {
		t.Error("a heat map of 3600 columns was accepted")
	}
}

func TestCompare(t *testing.T) {
	before, after := NewLatency(), NewLatency()
	for _, tr := range loadTraces(t) {
		if tr.Summary.Start < t0+30 {
			before.Add(tr)
		} else {
			after.Add(tr)
		}
	}
	r := Compare(before, after, 0)
	golden(t, "compare", r)
	for _, n := range r.Nodes {
		if n.Service.Name != "payments" {
			continue
		}
		// before: traces 0–2 (one failure, 250 ms); after: 3–5 (one failure).
		if n.Before.Count != 3 || n.After.Count != 3 || n.FaultRate != [2]float64{1.0 / 3, 1.0 / 3} {
			t.Errorf("payments change %+v", n.Change)
		}
		if n.P50Ratio <= 0 {
			t.Errorf("payments p50 ratio %g", n.P50Ratio)
		}
	}
}

func TestRootCausesGolden(t *testing.T) {
	rc := NewRootCauses(0)
	for _, tr := range loadTraces(t) {
		rc.Add(tr)
	}
	r := rc.Result(0)
	golden(t, "rootcauses", r)
	if r.Faults.Traces != 2 || len(r.Faults.Services) == 0 || r.Faults.Services[0].Service.Name != "payments" || r.Faults.Services[0].Traces != 2 {
		t.Errorf("fault causes: %+v, want payments blamed for both faulted traces", r.Faults)
	}
	if r.Errors.Traces != 3 {
		t.Errorf("error causes over %d traces, want the 3 throttled", r.Errors.Traces)
	}
	excs := map[string]bool{}
	for _, c := range r.Errors.Exceptions {
		excs[c.Exception] = true
	}
	if !excs["ProvisionedThroughputExceededException"] {
		t.Errorf("error exceptions %+v lack ProvisionedThroughputExceededException", r.Errors.Exceptions)
	}
	if r.SlowThreshold <= 0 || r.Slow.Traces == 0 {
		t.Errorf("slow: threshold %g over %d traces", r.SlowThreshold, r.Slow.Traces)
	}
	if f := r.Faults.Services[0].Filter; f != `rootcause.fault.service { last and name = "payments" and type = "AWS::EC2::Instance" }` {
		t.Errorf("filter %s", f)
	}
}

func TestExceptionsGolden(t *testing.T) {
	x, err := NewExceptions(t0, t0+200, 60)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range loadTraces(t) {
		x.Add(tr)
	}
	r := x.Result(0)
	golden(t, "exceptions", r)
	byType := map[string]ExceptionPattern{}
	for _, p := range r.Patterns {
		if _, dup := byType[p.Type]; dup {
			t.Errorf("type %s has two templates: messages were not templated alike", p.Type)
		}
		byType[p.Type] = p
	}
	gw := byType["*errors.errorString"]
	if gw.Count != 2 || gw.Template != "gateway timeout after <num> ms calling <str> (request <hex>)" {
		t.Errorf("payments pattern %+v", gw)
	}
	// Raised in payments, cascading to orders (which faulted too).
	if len(gw.Cascades) != 1 || len(gw.Cascades[0].Path) != 2 || gw.Cascades[0].Path[1].Name != "orders" {
		t.Errorf("payments cascades %+v, want payments → orders", gw.Cascades)
	}
	if p := byType["ProvisionedThroughputExceededException"]; p.Count != 3 || len(p.Series) != 4 {
		t.Errorf("throttle pattern %+v", p)
	}
}

func TestMessageTemplate(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"user 42 not found", "user <num> not found"},
		{"order A-1001 failed", "order A-<num> failed"},
		{`table "orders" locked`, "table <str> locked"},
		{"id 550e8400-e29b-41d4-a716-446655440000.", "id <uuid>."},
		{"at 0x7ffe12ab", "at <hex>"},
		{"trace deadbeef99", "trace <hex>"},
		{"timeout after 3.5s to 10.0.0.12:5432", "timeout after <num>s to <num>:<num>"},
		{"token abcdefghijklmnop1234", "token <id>"},
		{"Connection refused", "Connection refused"},
		{"unterminated 'quote", "unterminated 'quote"},
	} {
		if got := MessageTemplate(c.in); got != c.want {
			t.Errorf("MessageTemplate(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestURLTemplate(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://shop.example.com/orders/1001?x=1", "https://shop.example.com/orders/{id}"},
		{"/users/550e8400-e29b-41d4-a716-446655440000/cart", "/users/{id}/cart"},
		{"http://inventory.internal/stock/sku-77", "http://inventory.internal/stock/sku-77"},
		{"http://h/blobs/9f86d081884c7d65", "http://h/blobs/{id}"},
		{"http://host", "http://host"},
	} {
		if got := urlTemplate(c.in); got != c.want {
			t.Errorf("urlTemplate(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDatabaseGolden(t *testing.T) {
	d := NewDatabase(0, 0)
	for _, tr := range loadTraces(t) {
		d.Add(tr)
	}
	r := d.Result(0)
	golden(t, "sql", r)
	if len(r.Statements) != 1 || r.Statements[0].Query != "SELECT price FROM items WHERE id = $1" || r.Statements[0].Stats.Count != 27 || r.Statements[0].Traces != 6 {
		t.Fatalf("statements %+v", r.Statements)
	}
	// 5, 6 and 7 queries in one segment reach the default threshold of 5.
	if len(r.NPlusOne) != 1 || r.NPlusOne[0].Segments != 3 || r.NPlusOne[0].MaxRepeats != 7 || r.NPlusOne[0].Service.Name != "orders" {
		t.Errorf("N+1 %+v", r.NPlusOne)
	}
	if len(r.Caching) != 1 || r.Caching[0].Traces != 3 || r.Caching[0].MaxRepeats != 3 ||
		r.Caching[0].Call != "config.internal GET http://config.internal/flags?app=inventory" || !near(r.Caching[0].Seconds, 3*2*0.010) {
		t.Errorf("caching %+v", r.Caching)
	}
}

func TestColdStartsGolden(t *testing.T) {
	c := NewColdStarts()
	for _, tr := range loadTraces(t) {
		c.Add(tr)
	}
	holders := 0
	for _, tr := range loadTraces(t) {
		if MayHold(tr.Summary) {
			holders++
		}
	}
	if holders != 7 { // 4 AWS Lambda invocations, 3 OpenTelemetry ones
		t.Errorf("MayHold accepts %d traces, want the 7 with functions", holders)
	}
	r := c.Result()
	golden(t, "coldstarts", r)
	fns := map[string]ColdStartFunction{}
	for _, f := range r.Functions {
		fns[f.Service.Name] = f
	}
	rs := fns["resize"]
	if rs.Cold.Count != 2 || rs.Warm.Count != 2 || rs.ColdShare != 0.5 || rs.Cold.P50 <= rs.Warm.P50 {
		t.Errorf("resize %+v", rs)
	}
	if rs.Init.Count != 2 || !near(rs.Init.P50, 0.350) || len(rs.InitBreakdown) != 2 || rs.InitBreakdown[0].Name != "connect db" {
		t.Errorf("resize init %+v %+v", rs.Init, rs.InitBreakdown)
	}
	if th := fns["thumbnailer"]; th.Cold.Count != 1 || th.Warm.Count != 2 {
		t.Errorf("thumbnailer (faas_coldstart annotation) %+v", th)
	}
	if _, ok := fns["orders"]; ok {
		t.Error("orders is not a function")
	}
}

func TestAnnotationsGolden(t *testing.T) {
	a, err := NewAnnotations("memory_used_mb", t0, t0+200, 60)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range loadTraces(t) {
		a.Add(tr)
	}
	r := a.Result()
	golden(t, "annotations", r)
	svc := map[string]AnnotationSeries{}
	for _, s := range r.Services {
		svc[s.Service.Name] = s
	}
	// orders: 180, 190, …, 230 — one value per trace.
	o := svc["orders"]
	if o.Overall.Count != 6 || o.Overall.Min != 180 || o.Overall.Max != 230 || !near(o.Overall.P50, 200) {
		t.Errorf("orders memory %+v", o.Overall)
	}
	if svc["payments"].Overall.Count != 6 {
		t.Errorf("payments memory %+v", svc["payments"].Overall)
	}
	if r.NonNumeric != 0 {
		t.Errorf("nonNumeric %d", r.NonNumeric)
	}
	if _, err := NewAnnotations("", t0, t0+1, 1); err == nil {
		t.Error("an empty key was accepted")
	}
}
