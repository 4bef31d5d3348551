package tailsample_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/store/storetest"
	"github.com/fluoro-dev/fluoro/internal/tailsample"
)

// TestBudgetFollowsTraffic simulates traffic on an injected clock: 200
// traces/s for 3 minutes, then 400/s (doubled), 200/s and 100/s (halved
// twice), 1% of them with errors. The budget is 10 kept traces/s. Over the
// last two minutes of each phase the kept rate must be within 10% of the
// budget, and over each whole phase (transients included) within 25%; the
// errors are all kept throughout.
func TestBudgetFollowsTraffic(t *testing.T) {
	const target = 10.0
	h := newHarness(t, cfgWith(func(c *tailsample.Config) {
		c.Rate = 0.5 // far from the answer: the controller must find it
		c.Budget.TracesPerSecond = target
	}))
	phases := []struct {
		perSecond int
		seconds   int
	}{{200, 180}, {400, 180}, {200, 180}, {100, 180}}
	var next uint64
	errors := map[model.TraceID]bool{}
	keptAt := []int{} // kept traces, cumulated, per simulated second
	for _, ph := range phases {
		for range ph.seconds {
			batch := make([]model.Span, 0, ph.perSecond)
			for range ph.perSecond {
				next++
				id := storetest.TraceID(epoch, next)
				var mod func(e *model.Entity)
				if next%100 == 0 {
					errors[id] = true
					mod = func(e *model.Entity) { e.Error = true }
				}
				batch = append(batch, span(id, model.SpanID(next), 0, "api", epoch, 0.1, mod))
			}
			h.s.Offer(batch)
			h.clock.advance(time.Second)
			h.s.Poll(context.Background())
			keptAt = append(keptAt, h.sink.count())
		}
	}
	// Decisions lag arrivals by the 10 s wait: phase boundaries in
	// decisions are 10 s later than in arrivals.
	// The first phase starts cold, at a rate of 0.5: its first interval
	// (and the wait) are left out.
	const lag = 10
	start := lag
	for i, ph := range phases {
		end := min(start+ph.seconds, len(keptAt)-1)
		from := start
		if i == 0 {
			from += 20
		}
		whole := float64(keptAt[end]-keptAt[from]) / float64(end-from)
		steady := float64(keptAt[end]-keptAt[end-120]) / 120
		t.Logf("%4d traces/s: kept %.1f/s over the phase, %.1f/s over its last 2 minutes (budget %v/s)", ph.perSecond, whole, steady, target)
		if math.Abs(steady-target) > 0.10*target {
			t.Errorf("%d traces/s: kept %.1f/s in steady state, want %v ± 10%%", ph.perSecond, steady, target)
		}
		if math.Abs(whole-target) > 0.25*target {
			t.Errorf("%d traces/s: kept %.1f/s over the phase, want %v ± 25%%", ph.perSecond, whole, target)
		}
		start = end
	}
	h.settle(10 * time.Second)
	kept := h.sink.kept()
	for id := range errors {
		if kept[id] != tailsample.PolicyError {
			t.Fatalf("error trace %s kept by %q", id, kept[id])
		}
	}
}

// TestBudgetAlwaysKeepOverBudget: when errors alone exceed the budget they
// are all kept and the rate falls to its minimum.
func TestBudgetAlwaysKeepOverBudget(t *testing.T) {
	h := newHarness(t, cfgWith(func(c *tailsample.Config) {
		c.Budget.TracesPerSecond = 5
		c.Budget.MinRate = 0.001
	}))
	var next uint64
	for range 60 {
		var batch []model.Span
		for i := range 100 {
			next++
			batch = append(batch, span(storetest.TraceID(epoch, next), 1, 0, "api", epoch, 0.1, func(e *model.Entity) { e.Fault = i%10 == 0 }))
		}
		h.s.Offer(batch)
		h.clock.advance(time.Second)
		h.s.Poll(context.Background())
	}
	if r := h.s.Rate(); r != 0.001 {
		t.Errorf("rate %v with 10 errors/s against a budget of 5/s; want the minimum 0.001", r)
	}
	if got, want := h.counter("fluoro_tailsample_traces_total", "policy", "error", "decision", "kept"), 510.0; got != want {
		t.Errorf("%v errors kept, want %v (all those decided: 51 seconds' worth)", got, want)
	}
}

// TestBoosts: a boost scoped to a service keeps its traces at the boost's
// rate and is recorded as "boost"; others stay at the base rate; the boost
// expires; boosts survive a restart through the store's objects.
func TestBoosts(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := &fakeClock{t: time.Unix(epoch, 0)}
	sk := newSink()
	open := func() *tailsample.Sampler {
		s, err := tailsample.New(ctx, cfgWith(func(c *tailsample.Config) { c.Rate = 0.05 }), sk,
			tailsample.Options{Objects: st.Objects(), Now: clock.now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	b, err := s.AddBoost(ctx, tailsample.BoostRequest{Rate: 1, Duration: 30 * time.Minute, Service: "check*", Reason: "deploy"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddBoost(ctx, tailsample.BoostRequest{Rate: 1.5, Duration: time.Minute}); err == nil {
		t.Error("a boost of rate 1.5 was accepted")
	}
	if _, err := s.AddBoost(ctx, tailsample.BoostRequest{Rate: 0.5, Duration: 8 * 24 * time.Hour}); err == nil {
		t.Error("a boost of 8 days was accepted")
	}
	// Restart: the boost is loaded back.
	s = open()
	if got := s.Boosts(ctx); len(got) != 1 || got[0].ID != b.ID || got[0].Service != "check*" {
		t.Fatalf("boosts after a restart: %+v, want %+v", got, b)
	}
	run := func(first uint64) (checkout, other map[model.TraceID]string) {
		var batch []model.Span
		for i := range uint64(2000) {
			svc := "checkout"
			if i%2 == 1 {
				svc = "catalog"
			}
			batch = append(batch, span(storetest.TraceID(epoch, first+i), 1, 0, svc, epoch, 0.1, nil))
		}
		s.Offer(batch)
		clock.advance(10 * time.Second)
		s.Poll(ctx)
		checkout, other = map[model.TraceID]string{}, map[model.TraceID]string{}
		kept := sk.kept()
		for i := range uint64(2000) {
			id := storetest.TraceID(epoch, first+i)
			if p, ok := kept[id]; ok && i%2 == 0 {
				checkout[id] = p
			} else if ok {
				other[id] = p
			}
		}
		return checkout, other
	}
	checkout, other := run(0)
	if len(checkout) != 1000 {
		t.Errorf("boosted service: %d of 1000 traces kept, want all", len(checkout))
	}
	for id, p := range checkout {
		if want := map[bool]string{true: "rate", false: "boost"}[tailsample.Position(id) < 0.05]; p != want {
			t.Errorf("boosted trace at %v kept by %q, want %q", tailsample.Position(id), p, want)
		}
	}
	for id, p := range other {
		if p != "rate" || tailsample.Position(id) >= 0.05 {
			t.Errorf("unboosted trace at %v kept by %q", tailsample.Position(id), p)
		}
	}
	clock.advance(30 * time.Minute)
	checkout, _ = run(10_000)
	for id, p := range checkout {
		if p != "rate" {
			t.Errorf("after expiry, trace at %v kept by %q", tailsample.Position(id), p)
		}
	}
	if got := s.Boosts(ctx); len(got) != 0 {
		t.Errorf("boosts after expiry: %+v", got)
	}
	n := 0
	st.Objects().List(ctx, tailsample.BoostKind, func(string, []byte) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d expired boosts still stored", n)
	}
	// Ending a boost early.
	b, _ = s.AddBoost(ctx, tailsample.BoostRequest{Rate: 0.5, Duration: time.Hour})
	if _, err := s.RemoveBoost(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveBoost(ctx, b.ID); err == nil {
		t.Error("removing a removed boost succeeded")
	}
}

// TestBoostsHTTP: the boosts API, its JSON errors, and its answer when tail
// sampling is off.
func TestBoostsHTTP(t *testing.T) {
	h := newHarness(t, cfgWith(func(*tailsample.Config) {}))
	srv := httptest.NewServer(tailsample.Handler(h.s))
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do("POST", tailsample.BoostsPath, `{"rate":0.5,"duration":"30m","service":"checkout","reason":"deploy 42"}`)
	if code != 201 || !strings.Contains(body, `"rate":0.5`) || !strings.Contains(body, `"service":"checkout"`) {
		t.Fatalf("POST: %d %s", code, body)
	}
	id := body[strings.Index(body, `"id":"`)+6:]
	id = id[:strings.Index(id, `"`)]
	if code, body := do("GET", tailsample.BoostsPath, ""); code != 200 || !strings.Contains(body, id) {
		t.Errorf("GET: %d %s", code, body)
	}
	for _, c := range []struct{ method, path, body, want string }{
		{"POST", tailsample.BoostsPath, `{"rate":2,"duration":"1m"}`, "InvalidRequestException"},
		{"POST", tailsample.BoostsPath, `{"rate":0.5,"duration":"soon"}`, "InvalidRequestException"},
		{"POST", tailsample.BoostsPath, `{"rate":0.5,"duration":"1m","extra":1}`, "InvalidRequestException"},
		{"POST", tailsample.BoostsPath, `not json`, "InvalidRequestException"},
		{"DELETE", tailsample.BoostsPath + "/nope", "", "ResourceNotFoundException"},
		{"PUT", tailsample.BoostsPath, "", "InvalidRequestException"},
	} {
		code, body := do(c.method, c.path, c.body)
		if code < 400 || !strings.Contains(body, `"__type":"`+c.want+`"`) {
			t.Errorf("%s %s %s: %d %s; want a %s", c.method, c.path, c.body, code, body, c.want)
		}
	}
	if code, body := do("DELETE", tailsample.BoostsPath+"/"+id, ""); code != 200 || !strings.Contains(body, id) {
		t.Errorf("DELETE: %d %s", code, body)
	}
	if code, body := do("GET", tailsample.BoostsPath, ""); code != 200 || body != `{"boosts":[]}` {
		t.Errorf("GET after DELETE: %d %s", code, body)
	}
	off := httptest.NewServer(tailsample.Handler(nil))
	defer off.Close()
	resp, err := http.Get(off.URL + tailsample.BoostsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || resp.Header.Get("X-Amzn-ErrorType") != "FailedPreconditionException" {
		t.Errorf("with tail sampling off: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}

// TestMemoryCaps: offering far more traces than the caps allow, without
// ever letting a trace go idle, keeps the buffer within both caps after
// every Offer; the excess is decided early and counted as forced, and
// every trace is decided exactly once.
func TestMemoryCaps(t *testing.T) {
	for _, c := range []struct {
		name      string
		maxTraces int
		maxBytes  int64
	}{{"traces", 100, 1 << 30}, {"bytes", 1 << 20, 64 << 10}} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, cfgWith(func(cfg *tailsample.Config) {
				cfg.Rate, cfg.MaxTraces, cfg.MaxBytes = 1, c.maxTraces, c.maxBytes
			}))
			const n = 10_000
			peakN, peakB := 0, int64(0)
			for i := range uint64(n) {
				id := storetest.TraceID(epoch, i+1)
				h.s.Offer([]model.Span{span(id, 1, 0, "a", epoch, 0.1, nil), span(id, 2, 1, "b", epoch, 0.05, nil)})
				nb, b := h.s.Buffered()
				peakN, peakB = max(peakN, nb), max(peakB, b)
				if nb > c.maxTraces || b > c.maxBytes {
					t.Fatalf("after %d traces: %d traces, %d bytes buffered; caps %d, %d", i+1, nb, b, c.maxTraces, c.maxBytes)
				}
			}
			buffered, _ := h.s.Buffered()
			forced := h.counter("fluoro_tailsample_forced_decisions_total")
			if forced != float64(n-buffered) || forced == 0 {
				t.Errorf("%v forced decisions, want %d (all but the %d buffered)", forced, n-buffered, buffered)
			}
			h.settle(10 * time.Second)
			kept := h.sink.kept()
			if len(kept) != n {
				t.Errorf("%d traces kept at rate 1, want %d", len(kept), n)
			}
			for id, spans := range h.sink.spans {
				if spans != 2 {
					t.Fatalf("trace %s: %d spans written, want 2", id, spans)
				}
			}
			t.Logf("peak %d traces, %d bytes buffered (caps %d, %d); %v forced", peakN, peakB, c.maxTraces, c.maxBytes, forced)
		})
	}
}
