package tailsample_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store/storetest"
	"github.com/fluoro-dev/fluoro/internal/tailsample"
	"github.com/fluoro-dev/fluoro/internal/trace"
)

const epoch = 1_767_225_600

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sink records what the sampler passes on.
type sink struct {
	mu     sync.Mutex
	policy map[model.TraceID]string
	spans  map[model.TraceID]int
	writes int
	hints  map[model.TraceID]hint
}

type hint struct {
	sum     *model.Summary
	n       int
	written int // spans of the trace written when the hint came
}

func newSink() *sink {
	return &sink{policy: map[model.TraceID]string{}, spans: map[model.TraceID]int{}, hints: map[model.TraceID]hint{}}
}

func (k *sink) HintSummary(id model.TraceID, sum *model.Summary, n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.hints[id] = hint{sum, n, k.spans[id]}
}

func (k *sink) Write(_ context.Context, policy string, spans []model.Span) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.writes++
	for _, sp := range spans {
		if p, ok := k.policy[sp.TraceID]; ok && p != policy {
			panic(fmt.Sprintf("trace %s written under %q and %q", sp.TraceID, p, policy))
		}
		k.policy[sp.TraceID] = policy
		k.spans[sp.TraceID]++
	}
	return nil
}

func (k *sink) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.policy)
}

func (k *sink) kept() map[model.TraceID]string {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[model.TraceID]string, len(k.policy))
	for id, p := range k.policy {
		out[id] = p
	}
	return out
}

type harness struct {
	s     *tailsample.Sampler
	sink  *sink
	clock *fakeClock
	reg   *prometheus.Registry
}

func newHarness(t testing.TB, cfg tailsample.Config) *harness {
	t.Helper()
	h := &harness{sink: newSink(), clock: &fakeClock{t: time.Unix(epoch, 0)}, reg: prometheus.NewRegistry()}
	var err error
	h.s, err = tailsample.New(context.Background(), cfg, h.sink, tailsample.Options{Now: h.clock.now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: h.reg})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// settle advances the clock past the decision wait and decides.
func (h *harness) settle(wait time.Duration) {
	h.clock.advance(wait)
	h.s.Poll(context.Background())
}

func (h *harness) counter(name string, labels ...string) float64 {
	mfs, err := h.reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return math.NaN()
}

// span builds a segment (parent 0) or an independent subsegment of trace
// id, with a document of docBytes bytes.
func span(id model.TraceID, spanID, parent model.SpanID, service string, start, dur float64, mod func(e *model.Entity)) model.Span {
	sp := model.Span{TraceID: id, Independent: parent != 0 && service == "",
		Root: model.Entity{ID: spanID, ParentID: parent, Name: service, Start: start, End: start + dur}}
	if mod != nil {
		mod(&sp.Root)
	}
	sp.Doc = []byte(fmt.Sprintf(`{"trace_id":%q,"id":%q,"name":%q}`, id, spanID, service))
	return sp
}

func cfgWith(mod func(c *tailsample.Config)) tailsample.Config {
	c := tailsample.Default()
	c.Enabled = true
	mod(&c)
	return c
}

// TestKeepsFlaggedAndRateOfSuccesses: every trace with a fault, error or
// throttle (on a segment or a nested subsegment) is kept under "error";
// the successes are kept at the configured rate, exactly those whose
// Position is below it.
func TestKeepsFlaggedAndRateOfSuccesses(t *testing.T) {
	const rate, n = 0.1, 20_000
	h := newHarness(t, cfgWith(func(c *tailsample.Config) { c.Rate = rate }))
	flagged := map[model.TraceID]bool{}
	successes := 0
	for i := range n {
		id := storetest.TraceID(epoch, uint64(i+1))
		var mod func(e *model.Entity)
		switch i % 20 {
		case 0:
			mod = func(e *model.Entity) { e.Fault = true }
		case 1:
			mod = func(e *model.Entity) { e.Error = true }
		case 2:
			mod = func(e *model.Entity) { e.Subsegments = []model.Entity{{Name: "dynamodb", Throttle: true}} }
		}
		spans := []model.Span{span(id, 1, 0, "front", epoch, 0.05, nil)}
		if mod != nil {
			flagged[id] = true
			// The flag is on a later document of the trace, a downstream segment.
			spans = append(spans, span(id, 2, 1, "back", epoch+0.01, 0.02, mod))
		} else {
			successes++
		}
		h.s.Offer(spans)
	}
	h.settle(10 * time.Second)
	kept := h.sink.kept()
	for id := range flagged {
		if kept[id] != tailsample.PolicyError {
			t.Fatalf("flagged trace %s: kept by %q, want error", id, kept[id])
		}
	}
	byRate := 0
	for id, p := range kept {
		if flagged[id] {
			continue
		}
		if p != tailsample.PolicyRate || tailsample.Position(id) >= rate {
			t.Fatalf("success %s kept by %q at position %v", id, p, tailsample.Position(id))
		}
		byRate++
	}
	for i := range n {
		if id := storetest.TraceID(epoch, uint64(i+1)); !flagged[id] && tailsample.Position(id) < rate && kept[id] == "" {
			t.Fatalf("success %s at position %v dropped at rate %v", id, tailsample.Position(id), rate)
		}
	}
	// Binomial bound: kept successes ~ B(n=17,000, p=0.1), mean 1,700, standard
	// deviation 39.1; ±5 σ (±196) fails a fair hash with probability < 6e-7.
	mean := float64(successes) * rate
	sd := math.Sqrt(float64(successes) * rate * (1 - rate))
	if math.Abs(float64(byRate)-mean) > 5*sd {
		t.Errorf("kept %d of %d successes at rate %v; want %.0f ± %.0f (5σ)", byRate, successes, rate, mean, 5*sd)
	}
	t.Logf("kept %d of %d successes (expected %.0f, σ %.1f)", byRate, successes, mean, sd)
	if got := h.counter("fluoro_tailsample_traces_total", "policy", "error", "decision", "kept"); got != float64(len(flagged)) {
		t.Errorf("error/kept counter %v, want %d", got, len(flagged))
	}
	if got := h.counter("fluoro_tailsample_traces_total", "policy", "rate", "decision", "dropped"); got != float64(successes-byRate) {
		t.Errorf("rate/dropped counter %v, want %d", got, successes-byRate)
	}
	if got := h.counter("fluoro_tailsample_spans_total", "decision", "kept"); got != float64(2*len(flagged)+byRate) {
		t.Errorf("spans kept %v, want %d", got, 2*len(flagged)+byRate)
	}
	if n, b := h.s.Buffered(); n != 0 || b != 0 {
		t.Errorf("buffered after the decisions: %d traces, %d bytes", n, b)
	}
}

// TestPositionIsUniform: positions of sequential ids spread evenly over
// [0, 1) (chi-square over 20 buckets, 19 degrees of freedom; 43.8 is the
// 0.001 critical value).
func TestPositionIsUniform(t *testing.T) {
	const n, buckets = 100_000, 20
	var count [buckets]int
	for i := range n {
		p := tailsample.Position(storetest.TraceID(epoch+uint32(i%7), uint64(i)))
		if p < 0 || p >= 1 {
			t.Fatalf("position %v outside [0, 1)", p)
		}
		count[int(p*buckets)]++
	}
	chi := 0.0
	for _, c := range count {
		d := float64(c) - n/buckets
		chi += d * d / (n / buckets)
	}
	if chi > 43.8 {
		t.Errorf("chi-square %.1f over %d buckets: %v", chi, buckets, count)
	}
}

// TestDecisionWaitAndLateSpans: a trace is decided only after
// DecisionWait without a new span; spans arriving after the decision
// follow it, kept or dropped.
func TestDecisionWaitAndLateSpans(t *testing.T) {
	h := newHarness(t, cfgWith(func(c *tailsample.Config) { c.Rate = 0 }))
	faulty, fine := storetest.TraceID(epoch, 1), storetest.TraceID(epoch, 2)
	h.s.Offer([]model.Span{span(faulty, 1, 0, "a", epoch, 1, func(e *model.Entity) { e.Fault = true }), span(fine, 2, 0, "a", epoch, 1, nil)})
	h.settle(6 * time.Second)
	h.s.Offer([]model.Span{span(faulty, 3, 1, "b", epoch, 0.5, nil)}) // resets faulty's wait
	h.settle(5 * time.Second)
	if k := h.sink.kept(); len(k) != 0 {
		t.Fatalf("decided before the wait: %v", k)
	}
	if n, _ := h.s.Buffered(); n != 1 {
		t.Fatalf("%d traces buffered, want 1 (the fine trace was dropped after 11s)", n)
	}
	h.settle(5 * time.Second)
	if k := h.sink.kept(); k[faulty] != "error" || h.sink.spans[faulty] != 2 || len(k) != 1 {
		t.Fatalf("kept %v (%d spans of the faulty trace); want only the faulty trace, 2 spans", k, h.sink.spans[faulty])
	}
	// Late spans follow the cached decisions.
	h.s.Offer([]model.Span{span(faulty, 4, 1, "c", epoch, 0.1, nil), span(fine, 5, 2, "c", epoch, 0.1, func(e *model.Entity) { e.Fault = true })})
	if h.sink.spans[faulty] != 3 {
		t.Errorf("a late span of a kept trace was not passed on at once")
	}
	if _, ok := h.sink.kept()[fine]; ok {
		t.Errorf("a late span of a dropped trace was kept")
	}
	if n, _ := h.s.Buffered(); n != 0 {
		t.Errorf("late spans were buffered")
	}
}

// TestLatencyPolicies: a global threshold on the root response time, one
// for a service's segments and one for a URL pattern.
func TestLatencyPolicies(t *testing.T) {
	h := newHarness(t, cfgWith(func(c *tailsample.Config) {
		c.Rate = 0
		c.Latency = []tailsample.LatencyPolicy{
			{Threshold: 5 * time.Second},
			{Threshold: 500 * time.Millisecond, Service: "pay*"},
			{Threshold: time.Second, URL: "*/search?*"},
		}
	}))
	type tc struct {
		name  string
		spans func(id model.TraceID) []model.Span
		keep  bool
	}
	url := func(u string) func(e *model.Entity) { return func(e *model.Entity) { e.HTTP.URL = u } }
	cases := []tc{
		{"slow root", func(id model.TraceID) []model.Span { return []model.Span{span(id, 1, 0, "web", epoch, 6, nil)} }, true},
		{"fast root", func(id model.TraceID) []model.Span { return []model.Span{span(id, 1, 0, "web", epoch, 4, nil)} }, false},
		{"slow payments segment", func(id model.TraceID) []model.Span {
			return []model.Span{span(id, 1, 0, "web", epoch, 1, nil), span(id, 2, 1, "Payments", epoch, 0.6, nil)}
		}, true},
		{"fast payments segment", func(id model.TraceID) []model.Span {
			return []model.Span{span(id, 1, 0, "web", epoch, 1, nil), span(id, 2, 1, "payments", epoch, 0.4, nil)}
		}, false},
		{"slow other segment", func(id model.TraceID) []model.Span {
			return []model.Span{span(id, 1, 0, "web", epoch, 1, nil), span(id, 2, 1, "orders", epoch, 0.9, nil)}
		}, false},
		{"slow search", func(id model.TraceID) []model.Span {
			return []model.Span{span(id, 1, 0, "web", epoch, 1.5, url("https://shop.example/search?q=x"))}
		}, true},
		{"slow other URL", func(id model.TraceID) []model.Span {
			return []model.Span{span(id, 1, 0, "web", epoch, 1.5, url("https://shop.example/cart"))}
		}, false},
		{"in progress root, long trace", func(id model.TraceID) []model.Span {
			return []model.Span{span(id, 1, 0, "web", epoch, 0, func(e *model.Entity) { e.End, e.InProgress = 0, true }),
				span(id, 2, 1, "orders", epoch+1, 5, nil)}
		}, true},
	}
	for i, c := range cases {
		h.s.Offer(c.spans(storetest.TraceID(epoch, uint64(i+1))))
	}
	h.settle(10 * time.Second)
	kept := h.sink.kept()
	for i, c := range cases {
		p := kept[storetest.TraceID(epoch, uint64(i+1))]
		if c.keep && p != tailsample.PolicyLatency || !c.keep && p != "" {
			t.Errorf("%s: kept by %q, want kept=%v", c.name, p, c.keep)
		}
	}
}

// TestFilterPolicies: filter expressions over the trace's summary and, for
// service filters, its graph; the first matching filter names the policy.
func TestFilterPolicies(t *testing.T) {
	h := newHarness(t, cfgWith(func(c *tailsample.Config) {
		c.Rate = 0
		c.Filters = []tailsample.FilterPolicy{
			{Name: "vip", Expression: `annotation.tier = "gold"`},
			{Name: "slow-db", Expression: `service("orders") { responsetime > 0.3 }`},
			{Name: "admin", Expression: `user = "admin" OR http.url CONTAINS "/admin"`},
			{Name: "bulk", Expression: `annotation.items = 3 AND http.method = "POST"`},
		}
	}))
	ann := func(e *model.Entity) {
		e.Annotations = []model.Annotation{{Key: "tier", Value: model.Value{Kind: model.String, Str: "gold"}}}
	}
	cases := []struct {
		spans []model.Span
		want  string
	}{
		{[]model.Span{span(storetest.TraceID(epoch, 1), 1, 0, "web", epoch, 0.1, ann)}, "filter:vip"},
		{[]model.Span{span(storetest.TraceID(epoch, 2), 1, 0, "web", epoch, 0.1, nil)}, ""},
		{[]model.Span{span(storetest.TraceID(epoch, 3), 1, 0, "web", epoch, 1, nil), span(storetest.TraceID(epoch, 3), 2, 1, "orders", epoch, 0.5, nil)}, "filter:slow-db"},
		{[]model.Span{span(storetest.TraceID(epoch, 4), 1, 0, "web", epoch, 1, nil), span(storetest.TraceID(epoch, 4), 2, 1, "orders", epoch, 0.1, nil)}, ""},
		{[]model.Span{span(storetest.TraceID(epoch, 5), 1, 0, "web", epoch, 0.1, func(e *model.Entity) { e.User = "admin" })}, "filter:admin"},
		{[]model.Span{span(storetest.TraceID(epoch, 6), 1, 0, "web", epoch, 0.1, func(e *model.Entity) { e.HTTP.URL = "https://x/admin/users" })}, "filter:admin"},
		// Errors come first: a gold trace with a fault is kept as an error.
		{[]model.Span{span(storetest.TraceID(epoch, 7), 1, 0, "web", epoch, 0.1, func(e *model.Entity) { ann(e); e.Fault = true })}, "error"},
		// A numeric annotation on a subsegment, and the root's method.
		{[]model.Span{span(storetest.TraceID(epoch, 8), 1, 0, "web", epoch, 0.1, func(e *model.Entity) {
			e.HTTP.Method = "POST"
			e.Subsegments = []model.Entity{{Name: "work", Annotations: []model.Annotation{{Key: "items", Value: model.Value{Kind: model.Number, Num: 3}}}}}
		})}, "filter:bulk"},
		{[]model.Span{span(storetest.TraceID(epoch, 9), 1, 0, "web", epoch, 0.1, func(e *model.Entity) {
			e.HTTP.Method = "POST"
			e.Annotations = []model.Annotation{{Key: "items", Value: model.Value{Kind: model.Number, Num: 4}}}
		})}, ""},
	}
	for _, c := range cases {
		h.s.Offer(c.spans)
	}
	h.settle(10 * time.Second)
	kept := h.sink.kept()
	for i, c := range cases {
		if got := kept[storetest.TraceID(epoch, uint64(i+1))]; got != c.want {
			t.Errorf("case %d: kept by %q, want %q", i+1, got, c.want)
		}
	}
	if got := h.counter("fluoro_tailsample_traces_total", "policy", "filter:admin", "decision", "kept"); got != 2 {
		t.Errorf("filter:admin counter %v, want 2", got)
	}
	// Traces kept by a filter come with the summary the filter was
	// evaluated on, so that the store need not summarise them again; it is
	// the summary of exactly the spans written, given after writing them.
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	for i, c := range cases {
		id := storetest.TraceID(epoch, uint64(i+1))
		hn, ok := h.sink.hints[id]
		wantHint := strings.HasPrefix(c.want, "filter:")
		if ok != wantHint {
			t.Errorf("case %d (%q): hint given %v, want %v", i+1, c.want, ok, wantHint)
			continue
		}
		if !ok {
			continue
		}
		var ptrs []*model.Span
		for j := range c.spans {
			ptrs = append(ptrs, &c.spans[j])
		}
		want := trace.Summarize(trace.Dedupe(ptrs))
		want.TraceID = id
		if !reflect.DeepEqual(*hn.sum, want) || hn.n != len(c.spans) || hn.written != len(c.spans) {
			t.Errorf("case %d: hint %+v for %d spans (%d written), want %+v for %d", i+1, *hn.sum, hn.n, hn.written, want, len(c.spans))
		}
	}
}

func TestConfigValidate(t *testing.T) {
	check := func(name string, mod func(c *tailsample.Config), wantErr string) {
		t.Helper()
		c := cfgWith(mod)
		err := c.Validate()
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: error %v, want one containing %q", name, err, wantErr)
		}
	}
	check("defaults", func(*tailsample.Config) {}, "")
	check("zero caps take defaults", func(c *tailsample.Config) { c.MaxBytes, c.MaxTraces, c.DecisionWait = 0, 0, 0 }, "")
	check("rate above 1", func(c *tailsample.Config) { c.Rate = 1.5 }, "rate 1.5")
	check("negative rate", func(c *tailsample.Config) { c.Rate = -0.1 }, "rate -0.1")
	check("negative wait", func(c *tailsample.Config) { c.DecisionWait = -time.Second }, "negative")
	check("long wait", func(c *tailsample.Config) { c.DecisionWait = time.Hour }, "maximum of 10m")
	check("two budgets", func(c *tailsample.Config) { c.Budget.TracesPerSecond, c.Budget.TracesPerMonth = 1, 1e6 }, "not both")
	check("smoothing", func(c *tailsample.Config) { c.Budget.Smoothing = 2 }, "smoothing")
	check("min above max", func(c *tailsample.Config) { c.Budget.MinRate, c.Budget.MaxRate = 0.5, 0.2 }, "above max_rate")
	check("latency without threshold", func(c *tailsample.Config) { c.Latency = []tailsample.LatencyPolicy{{Service: "x"}} }, "latency[0]")
	check("filter without name", func(c *tailsample.Config) { c.Filters = []tailsample.FilterPolicy{{Expression: "ok"}} }, "name must be set")
	check("duplicate filter", func(c *tailsample.Config) {
		c.Filters = []tailsample.FilterPolicy{{Name: "a", Expression: "ok"}, {Name: "a", Expression: "error"}}
	}, "used twice")
	check("bad expression", func(c *tailsample.Config) {
		c.Filters = []tailsample.FilterPolicy{{Name: "a", Expression: "responsetime >"}}
	}, `filter "a"`)
	check("unsupported expression", func(c *tailsample.Config) {
		c.Filters = []tailsample.FilterPolicy{{Name: "g", Expression: `group.name = "x"`}}
	}, "not supported")
	if got := (tailsample.Budget{TracesPerMonth: 2_592_000}).Target(); got != 1 {
		t.Errorf("2,592,000 traces a month = %v/s, want 1", got)
	}
}

// TestConcurrentOffers: offers from several goroutines racing with
// decisions (spans arriving while their trace is being decided, after it
// was decided, and past the caps) lose and duplicate nothing: every span is
// counted once as kept or dropped, and a kept trace's spans all reach the
// sink. Run with -race.
func TestConcurrentOffers(t *testing.T) {
	h := newHarness(t, cfgWith(func(c *tailsample.Config) {
		c.Rate, c.DecisionWait, c.MaxTraces = 0.5, 5*time.Millisecond, 300
	}))
	const writers, traces, spansPer = 4, 2000, 4
	var wg sync.WaitGroup
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-stop:
				return
			default:
				h.clock.advance(time.Millisecond)
				h.s.Poll(context.Background())
			}
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range traces {
				id := storetest.TraceID(epoch, uint64(i))
				// Each writer sends its own spans of the same traces.
				h.s.Offer([]model.Span{span(id, model.SpanID(w*spansPer+1), 0, "a", epoch, 0.1, nil)})
				h.s.Offer([]model.Span{
					span(id, model.SpanID(w*spansPer+2), 1, "b", epoch, 0.1, nil),
					span(id, model.SpanID(w*spansPer+3), 1, "c", epoch, 0.1, nil),
					span(id, model.SpanID(w*spansPer+4), 1, "d", epoch, 0.1, nil),
				})
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-polled
	if err := h.s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	kept := h.counter("fluoro_tailsample_spans_total", "decision", "kept")
	dropped := h.counter("fluoro_tailsample_spans_total", "decision", "dropped")
	if total := writers * traces * spansPer; kept+dropped != float64(total) {
		t.Errorf("%v kept + %v dropped spans, want %d offered", kept, dropped, total)
	}
	written := 0
	for _, n := range h.sink.spans {
		written += n
	}
	if float64(written) != kept {
		t.Errorf("%d spans written, %v counted as kept", written, kept)
	}
	t.Logf("%v spans kept, %v dropped, %v forced decisions, %d traces kept", kept, dropped,
		h.counter("fluoro_tailsample_forced_decisions_total"), len(h.sink.kept()))
}
