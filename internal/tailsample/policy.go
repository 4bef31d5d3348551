package tailsample

import (
	"math"
	"unsafe"

	"github.com/cespare/xxhash/v2"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/query"
	"github.com/fluoro-dev/fluoro/internal/sampling"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/trace"
)

// Policy names recorded on kept traces and used as metric labels. Filter
// policies are "filter:" followed by the filter's name.
const (
	PolicyError   = "error"
	PolicyLatency = "latency"
	PolicyRate    = "rate"
	PolicyBoost   = "boost"
)

// Position maps a trace id to a number in [0, 1), the same on every node
// and in every run: xxhash64 of the 16 id bytes, top 53 bits. A trace is
// kept at rate r when Position < r, so a trace kept at some rate is kept at
// every higher rate, and nodes sampling the same trace at the same rate
// agree.
func Position(id model.TraceID) float64 {
	return float64(xxhash.Sum64(id[:])>>11) / (1 << 53)
}

// facts is what the built-in policies need of a trace, gathered in one pass
// over its spans without building a summary.
type facts struct {
	flagged  bool // fault, error or throttle anywhere
	rootTime float64
	rootURL  string
	segments []segFact
}

type segFact struct {
	service  string
	url      string
	duration float64 // NaN while in progress
}

func gather(spans []model.Span, f *facts) {
	*f = facts{segments: f.segments[:0], rootTime: math.NaN()}
	var root *model.Entity
	start, end := math.Inf(1), math.Inf(-1)
	for i := range spans {
		sp := &spans[i]
		e := &sp.Root
		if !f.flagged {
			e.Walk(func(x *model.Entity, _ int) {
				if x.Fault || x.Error || x.Throttle {
					f.flagged = true
				}
			})
		}
		if e.Start < start {
			start = e.Start
		}
		if e.End > end {
			end = e.End
		}
		if sp.Independent {
			continue
		}
		d := math.NaN()
		if !e.InProgress && e.End > 0 {
			d = e.End - e.Start
		}
		f.segments = append(f.segments, segFact{service: e.Name, url: e.HTTP.URL, duration: d})
		if e.ParentID == 0 && (root == nil || e.Start < root.Start || root.InProgress && !e.InProgress) {
			root = e
		}
	}
	switch {
	case root != nil && !root.InProgress && root.End > 0:
		f.rootTime, f.rootURL = root.End-root.Start, root.HTTP.URL
	case root != nil:
		f.rootURL = root.HTTP.URL
		f.rootTime = end - start
	case end > start:
		f.rootTime = end - start
	}
}

// evaluator decides traces. It is used by one goroutine at a time.
type evaluator struct {
	cfg     *Config
	filters []compiledFilter
	f       facts
	ptrs    []*model.Span
	// sum is the summary the last decide computed for a filter policy,
	// when haveSum says it did; the sampler hands it on with kept traces.
	sum     model.Summary
	haveSum bool
}

// decide returns the policy that keeps the trace, or "" to drop it. rate is
// the current probabilistic rate and boosts the active boosts. rated
// reports whether the trace reached the probabilistic step (it was not kept
// by an always-keep policy).
func (ev *evaluator) decide(id model.TraceID, spans []model.Span, rate float64, boosts []Boost) (policy string, rated bool) {
	ev.haveSum = false
	gather(spans, &ev.f)
	f := &ev.f
	if ev.cfg.KeepErrors && f.flagged {
		return PolicyError, false
	}
	for _, l := range ev.cfg.Latency {
		if slow(l, f) {
			return PolicyLatency, false
		}
	}
	if len(ev.filters) > 0 && ev.mayMatch(spans) {
		ev.ptrs = ev.ptrs[:0]
		for i := range spans {
			ev.ptrs = append(ev.ptrs, &spans[i])
		}
		deduped := trace.Dedupe(ev.ptrs)
		sum := trace.Summarize(deduped)
		sum.TraceID = id
		ev.sum, ev.haveSum = sum, true
		t := query.Trace{Summary: &sum}
		matched := ""
		for _, fl := range ev.filters {
			if fl.need != nil && !satisfies(fl.need, spans) {
				continue
			}
			if fl.needsSpans {
				t.Spans = deduped
			}
			if query.Match(fl.expr, &t) {
				matched = fl.policy
				break
			}
		}
		clear(ev.ptrs) // hold no span past the decision
		if matched != "" {
			return matched, false
		}
	}
	pos := Position(id)
	if pos < rate {
		return PolicyRate, true
	}
	for _, b := range boosts {
		if pos < b.Rate && b.applies(f) {
			return PolicyBoost, true
		}
	}
	return "", true
}

// mayMatch reports whether some filter could match: one without a
// necessary term, or one whose term some span satisfies. It spares most
// traces the summary a filter is evaluated on.
func (ev *evaluator) mayMatch(spans []model.Span) bool {
	for _, fl := range ev.filters {
		if fl.need == nil || satisfies(fl.need, spans) {
			return true
		}
	}
	return false
}

// satisfies reports whether some segment or subsegment carries the
// annotation value or user of h, compared as the filter language compares
// them (exact key, exact value of the same kind).
func satisfies(h *store.Hint, spans []model.Span) bool {
	found := false
	for i := range spans {
		spans[i].Root.Walk(func(e *model.Entity, _ int) {
			if found {
				return
			}
			if h.Field == store.HintUser {
				found = e.User == h.Value.Str
				return
			}
			for _, a := range e.Annotations {
				if a.Key == h.Key && a.Value.Kind == h.Value.Kind && sameValue(a.Value, h.Value) {
					found = true
					return
				}
			}
		})
		if found {
			return true
		}
	}
	return false
}

func sameValue(a, b model.Value) bool {
	switch a.Kind {
	case model.Number:
		return a.Num == b.Num
	case model.Bool:
		return a.Bool == b.Bool
	}
	return a.Str == b.Str
}

func slow(l LatencyPolicy, f *facts) bool {
	limit := l.Threshold.Seconds()
	if l.Service == "" {
		if l.URL != "" && !sampling.Match(l.URL, f.rootURL) {
			return false
		}
		return f.rootTime >= limit // false for NaN
	}
	for _, s := range f.segments {
		if s.duration >= limit && sampling.Match(l.Service, s.service) && (l.URL == "" || sampling.Match(l.URL, s.url)) {
			return true
		}
	}
	return false
}

// spanBytes estimates the memory a buffered span holds: its document, the
// Span and Entity structs and the decoded strings and lists.
func spanBytes(sp *model.Span) int64 {
	n := int64(len(sp.Doc)) + int64(unsafe.Sizeof(*sp))
	var walk func(e *model.Entity)
	walk = func(e *model.Entity) {
		n += int64(len(e.Name) + len(e.Origin) + len(e.Namespace) + len(e.User) + len(e.ResourceARN) +
			len(e.InstanceID) + len(e.AvailabilityZone) + len(e.AccountID) +
			len(e.HTTP.Method) + len(e.HTTP.URL) + len(e.HTTP.UserAgent) + len(e.HTTP.ClientIP) +
			len(e.AWS.Operation) + len(e.AWS.Region) + len(e.AWS.TableName) + len(e.AWS.QueueURL) + len(e.AWS.Bucket) + len(e.AWS.Function))
		if e.SQL != nil {
			n += int64(unsafe.Sizeof(*e.SQL)) + int64(len(e.SQL.URL)+len(e.SQL.SanitizedQuery)+len(e.SQL.DatabaseType)+len(e.SQL.User))
		}
		n += int64(cap(e.Exceptions)) * int64(unsafe.Sizeof(model.Exception{}))
		for _, x := range e.Exceptions {
			n += int64(len(x.ID) + len(x.Type) + len(x.Message))
		}
		n += int64(cap(e.Annotations)) * int64(unsafe.Sizeof(model.Annotation{}))
		for _, a := range e.Annotations {
			n += int64(len(a.Key) + len(a.Value.Str))
		}
		n += int64(cap(e.Subsegments)) * int64(unsafe.Sizeof(model.Entity{}))
		for i := range e.Subsegments {
			walk(&e.Subsegments[i])
		}
	}
	walk(&sp.Root)
	return n
}
