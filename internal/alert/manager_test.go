package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/servicegraph"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// env is a real embedded store, service graph and alert manager over a
// temporary directory, on a fake clock.
type env struct {
	t     testing.TB
	dir   string
	clock *clock
	st    *embedded.Store
	graph *servicegraph.Service
	m     *Manager
	seq   atomic.Int64
	cfg   Config
}

func newEnv(t testing.TB, t0 time.Time, cfg Config) *env {
	e := &env{t: t, dir: t.TempDir(), clock: &clock{t: t0}, cfg: cfg}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	var err error
	if e.st, err = embedded.Open(e.dir, embedded.Options{}); err != nil {
		e.t.Fatal(err)
	}
	if e.graph, err = servicegraph.New(context.Background(), servicegraph.Config{Store: e.st, Now: e.clock.now, Logger: quiet()}); err != nil {
		e.t.Fatal(err)
	}
	cfg := e.cfg
	cfg.Objects, cfg.Store, cfg.Graph, cfg.Now, cfg.Logger = e.st.Objects(), e.st, e.graph, e.clock.now, quiet()
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = time.Millisecond
	}
	if e.m, err = Open(context.Background(), cfg); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) close() {
	if e.st == nil {
		return
	}
	ctx := context.Background()
	e.m.Close(ctx)
	e.graph.Close(ctx)
	e.st.Close()
	e.st = nil
}

// reopen closes everything and opens it again over the same directory: a
// restart.
func (e *env) reopen() {
	e.close()
	e.open()
}

// feed stores n traces of one segment of service svc starting at `at`
// (faults of them with a 500, throttles with a 429), with the given
// response time and annotation tier, as ingest would: summaries put and the
// service graph told.
func (e *env) feed(at time.Time, svc string, n, faults, throttles int, rt float64, tier string) {
	e.t.Helper()
	ctx := context.Background()
	var sums []model.Summary
	var all [][]*model.Span
	for i := range n {
		k := e.seq.Add(1)
		start := float64(at.UnixNano())/1e9 + float64(i)*0.001
		status, flags := 200, ""
		switch {
		case i < faults:
			status, flags = 500, `"fault":true,`
		case i < faults+throttles:
			status, flags = 429, `"error":true,"throttle":true,`
		}
		doc := fmt.Sprintf(`{"trace_id":"1-%08x-%024x","id":"%016x","name":%q,"start_time":%.6f,"end_time":%.6f,%s`+
			`"http":{"request":{"method":"GET","url":"http://x/"},"response":{"status":%d}},"annotations":{"tier":%q}}`,
			at.Unix(), k, k, svc, start, start+rt, flags, status, tier)
		got, err := xray.Decode([]byte(doc))
		if err != nil {
			e.t.Fatalf("decode %s: %v", doc, err)
		}
		var spans []*model.Span
		for j := range got {
			got[j].Doc = nil
			spans = append(spans, &got[j])
		}
		spans = trace.Dedupe(spans)
		sums = append(sums, trace.Summarize(spans))
		all = append(all, spans)
	}
	if err := e.st.PutSummaries(ctx, sums); err != nil {
		e.t.Fatal(err)
	}
	for i := range sums {
		e.graph.OnComplete(ctx, &sums[i], all[i])
	}
}

// receiver is a webhook endpoint on loopback that records what it gets.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	got   []Notification
	fails atomic.Int64 // answer 503 to this many requests first
	hits  atomic.Int64
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		if r.fails.Add(-1) >= 0 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		var n Notification
		if req.Header.Get("Content-Type") != "application/json" || json.NewDecoder(req.Body).Decode(&n) != nil {
			http.Error(w, "bad notification", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, n)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) notifications() []Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Notification(nil), r.got...)
}

// wait polls until the receiver holds n notifications, with a deadline.
func (r *receiver) wait(t testing.TB, n int) []Notification {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.notifications()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d notifications, want %d: %+v", len(got), n, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) status(name string) Status {
	e.t.Helper()
	rs, ok := e.m.Get(name)
	if !ok {
		e.t.Fatalf("no rule %q", name)
	}
	return rs.Status
}

// TestServiceRuleLifecycle drives a fault_rate rule on a service through
// ok, pending, firing (one notification), a restart while firing (no second
// notification), resolved (one notification) and no data, on a fake clock
// over a real store and service graph; then checks the events and that a
// second restart keeps rule, state and history.
func TestServiceRuleLifecycle(t *testing.T) {
	t0 := time.Unix(1_767_225_600, 0) // a minute boundary
	e := newEnv(t, t0, Config{})
	recv := newReceiver(t)
	ctx := context.Background()
	r := defaults()
	r.Name, r.Service, r.Metric, r.Threshold = "checkout-faults", &ServiceScope{Name: "checkout"}, FaultRate, 0.2
	r.For, r.Notify = Duration(time.Minute), []string{recv.URL + "/hook?token=s3cret"}
	if _, err := e.m.Put(ctx, r, true); err != nil {
		t.Fatal(err)
	}
	want := func(state string, value float64) {
		t.Helper()
		st := e.status(r.Name)
		if st.State != state || st.Value == nil || fmt.Sprintf("%.4f", *st.Value) != fmt.Sprintf("%.4f", value) {
			t.Fatalf("at %v: status %+v (value %v), want %s with value %v", e.clock.now().Sub(t0), st, deref(st.Value), state, value)
		}
	}
	at := func(d time.Duration) { e.clock.set(t0.Add(d)) }

	e.feed(t0.Add(-time.Minute), "checkout", 40, 0, 0, 0.05, "gold")
	e.feed(t0.Add(-time.Minute), "payments", 40, 40, 0, 0.05, "gold") // another service's faults do not count
	at(0)
	e.m.Evaluate(ctx)
	want(StateOK, 0)

	e.feed(t0.Add(10*time.Second), "checkout", 40, 20, 0, 0.05, "gold") // 20 faults of 80
	at(30 * time.Second)
	e.m.Evaluate(ctx)
	want(StatePending, 0.25)

	at(60 * time.Second)
	e.m.Evaluate(ctx)
	want(StatePending, 0.25) // 30s of the 1m `for`

	at(90 * time.Second)
	e.m.Evaluate(ctx)
	want(StateFiring, 0.25)
	firing := recv.wait(t, 1)[0]
	if firing.State != "firing" || firing.Rule != r.Name || *firing.Value != 0.25 || firing.Requests != 80 ||
		!firing.StartedAt.Equal(t0.Add(90*time.Second)) || firing.Threshold != 0.2 || firing.Metric != FaultRate {
		t.Fatalf("firing notification %+v", firing)
	}
	if !strings.HasPrefix(firing.Link, "/#/traces?") || !strings.Contains(firing.Link, "f=service%28%22checkout%22%29+%7B+fault+%7D") {
		t.Errorf("link %q does not open checkout's faults", firing.Link)
	}

	// A restart while firing keeps the state and does not notify again.
	e.reopen()
	if st := e.status(r.Name); st.State != StateFiring || !st.Since.Equal(t0.Add(90*time.Second)) {
		t.Fatalf("after restart: %+v, want firing since 1m30s", st)
	}
	at(120 * time.Second)
	e.m.Evaluate(ctx)
	want(StateFiring, 0.25)

	// Faults stop; the window moves past them.
	e.feed(t0.Add(5*time.Minute), "checkout", 40, 0, 0, 0.05, "gold")
	at(7 * time.Minute)
	e.m.Evaluate(ctx)
	want(StateOK, 0)
	got := recv.wait(t, 2)
	res := got[1]
	if res.State != "resolved" || res.Reason != "condition cleared" || res.ID != firing.ID ||
		!res.StartedAt.Equal(firing.StartedAt) || res.ResolvedAt == nil || !res.ResolvedAt.Equal(t0.Add(7*time.Minute)) {
		t.Fatalf("resolved notification %+v (firing was %+v)", res, firing)
	}

	// Nothing in the window: no data, and no notification from ok.
	at(30 * time.Minute)
	e.m.Evaluate(ctx)
	if st := e.status(r.Name); st.State != StateNoData || st.Value != nil {
		t.Fatalf("after traffic stopped: %+v, want nodata", st)
	}
	e.m.Close(ctx) // drains the queue
	if n := len(recv.notifications()); n != 2 {
		t.Fatalf("%d notifications, want exactly 2: %+v", n, recv.notifications())
	}

	e.reopen()
	evs, ok := e.m.Events(r.Name)
	if !ok {
		t.Fatal("rule lost at restart")
	}
	var path []string
	for i := len(evs) - 1; i >= 0; i-- {
		path = append(path, evs[i].From+">"+evs[i].To)
	}
	if got, want := strings.Join(path, " "), "ok>pending pending>firing firing>ok ok>nodata"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if st := e.status(r.Name); st.State != StateNoData {
		t.Fatalf("state after restart %+v", st)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestServiceRuleMetrics checks each metric's value for a service with a
// known mix of requests, and that a service's type narrows the nodes.
func TestServiceRuleMetrics(t *testing.T) {
	t0 := time.Unix(1_767_225_600, 0)
	e := newEnv(t, t0.Add(4*time.Minute), Config{})
	e.feed(t0, "api", 100, 10, 5, 0.2, "gold")
	e.feed(t0.Add(time.Minute), "api", 100, 0, 5, 0.4, "gold")
	for metric, want := range map[string]float64{
		RequestRate:  200.0 / 5, // 200 requests over the 5 minutes from the window's start to now
		FaultRate:    10.0 / 200,
		ThrottleRate: 10.0 / 200,
		ErrorRate:    10.0 / 200, // 429s are errors too
		Avg:          0.3,
		P50:          0.2,
		P99:          0.4,
	} {
		r := defaults()
		r.Name, r.Service, r.Metric, r.MinRequests = "m", &ServiceScope{Name: "api"}, metric, 1
		res, _, err := e.m.Test(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if d := res.Value - want; d > want*0.02+1e-9 || d < -want*0.02-1e-9 {
			t.Errorf("%s = %v, want %v (within the sketches' 1%%)", metric, res.Value, want)
		}
		if res.Requests != 200 {
			t.Errorf("%s: %d requests, want 200", metric, res.Requests)
		}
	}
	r := defaults()
	r.Name, r.Service, r.Metric = "m", &ServiceScope{Name: "api", Type: "AWS::EC2::Instance"}, FaultRate
	if res, state, err := e.m.Test(context.Background(), r); err != nil || res.Requests != 0 || state != StateNoData {
		t.Fatalf("a type no node has: %+v %s %v, want no data", res, state, err)
	}
}

// TestFilterRule evaluates a filter rule over trace summaries, and checks
// the scan bound is applied and reported.
func TestFilterRule(t *testing.T) {
	t0 := time.Unix(1_767_225_600, 0)
	e := newEnv(t, t0.Add(time.Minute), Config{Settings: Settings{MaxScan: 50}})
	e.feed(t0, "api", 20, 8, 0, 0.1, "gold")
	e.feed(t0, "api", 20, 0, 0, 0.1, "silver")
	r := defaults()
	r.Name, r.Filter, r.Metric, r.Threshold = "gold-faults", `annotation.tier = "gold"`, FaultRate, 0.3
	res, state, err := e.m.Test(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 20 || res.Value != 0.4 || state != StateFiring || res.Truncated {
		t.Fatalf("gold: %+v, state %s", res, state)
	}
	// A head-only filter (read before the rest of a summary is decoded).
	r.Filter = "http.status >= 500"
	if res, _, err = e.m.Test(context.Background(), r); err != nil || res.Requests != 8 || res.Value != 1 {
		t.Fatalf("http.status >= 500: %+v %v", res, err)
	}
	e.feed(t0.Add(10*time.Second), "api", 100, 0, 0, 0.1, "gold")
	r.Filter = `annotation.tier = "gold"`
	res, _, err = e.m.Test(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || res.Scanned != 50 {
		t.Fatalf("140 traces with max_scan 50: %+v, want truncated at 50", res)
	}
}

// TestWebhookRetries checks that a webhook answering 503 is retried until it
// accepts, that a 400 is not retried, and that the counts add up.
func TestWebhookRetries(t *testing.T) {
	t0 := time.Unix(1_767_225_600, 0)
	e := newEnv(t, t0, Config{Settings: Settings{NotifyRetries: 3}})
	flaky := newReceiver(t)
	flaky.fails.Store(2)
	rejecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer rejecting.Close()
	var results sync.Map
	e.m.notify.observe = func(result string) {
		v, _ := results.LoadOrStore(result, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	r := defaults()
	r.Name, r.Service, r.Metric, r.Threshold = "r", &ServiceScope{Name: "api"}, FaultRate, 0.1
	r.Notify = []string{flaky.URL, rejecting.URL}
	ctx := context.Background()
	if _, err := e.m.Put(ctx, r, true); err != nil {
		t.Fatal(err)
	}
	e.feed(t0.Add(-30*time.Second), "api", 20, 20, 0, 0.1, "gold")
	e.m.Evaluate(ctx)
	flaky.wait(t, 1)
	e.m.Close(ctx)
	if h := flaky.hits.Load(); h != 3 {
		t.Errorf("flaky webhook hit %d times, want 3 (two 503s, then accepted)", h)
	}
	if s, f := e.m.notify.sent.Load(), e.m.notify.failed.Load(); s != 1 || f != 1 {
		t.Errorf("sent %d, failed %d; want 1 and 1", s, f)
	}
	if a := e.m.notify.attempts.Load(); a != 4 {
		t.Errorf("%d attempts, want 4 (3 to the flaky webhook, 1 to the one answering 400)", a)
	}
}

// TestRuleEdits checks that editing the condition of a firing rule resolves
// it (to the webhooks it had), that editing only its description keeps the
// state, and that deleting a firing rule resolves it.
func TestRuleEdits(t *testing.T) {
	t0 := time.Unix(1_767_225_600, 0)
	e := newEnv(t, t0, Config{})
	recv := newReceiver(t)
	ctx := context.Background()
	e.feed(t0.Add(-30*time.Second), "api", 20, 20, 0, 0.1, "gold")
	r := defaults()
	r.Name, r.Service, r.Metric, r.Threshold, r.Notify = "r", &ServiceScope{Name: "api"}, FaultRate, 0.1, []string{recv.URL}
	if _, err := e.m.Put(ctx, r, true); err != nil {
		t.Fatal(err)
	}
	e.m.Evaluate(ctx)
	recv.wait(t, 1)
	r.Description = "the API fails"
	if rs, err := e.m.Put(ctx, r, false); err != nil || rs.Status.State != StateFiring {
		t.Fatalf("description edit: %+v %v, want still firing", rs.Status, err)
	}
	r.Threshold = 0.5
	r.Notify = nil
	if rs, err := e.m.Put(ctx, r, false); err != nil || rs.Status.State != StateOK {
		t.Fatalf("threshold edit: %+v %v, want reset to ok", rs.Status, err)
	}
	if n := recv.wait(t, 2)[1]; n.State != "resolved" || n.Reason != "rule changed" || n.Threshold != 0.1 {
		t.Fatalf("after the edit: %+v, want resolved for the old threshold", n)
	}
	r.Notify = []string{recv.URL}
	e.m.Put(ctx, r, false)
	e.m.Evaluate(ctx)
	recv.wait(t, 3)
	if ok, err := e.m.Delete(ctx, "r"); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if n := recv.wait(t, 4)[3]; n.State != "resolved" || n.Reason != "rule deleted" {
		t.Fatalf("after delete: %+v", n)
	}
	e.reopen()
	if _, ok := e.m.Get("r"); ok {
		t.Fatal("deleted rule back after restart")
	}
}

// TestNotifyNeverBlocks: while a webhook holds a firing notification
// unanswered, evaluations go on (the rule resolves), and the webhook then
// gets the resolved notification after the firing one, in order.
func TestNotifyNeverBlocks(t *testing.T) {
	t0 := time.Unix(1_767_225_600, 0)
	e := newEnv(t, t0, Config{Settings: Settings{NotifyTimeout: 30 * time.Second}})
	entered, release := make(chan struct{}, 4), make(chan struct{})
	var mu sync.Mutex
	var states []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n Notification
		json.NewDecoder(r.Body).Decode(&n)
		mu.Lock()
		states = append(states, n.State)
		mu.Unlock()
		entered <- struct{}{}
		<-release
	}))
	defer hook.Close()
	ctx := context.Background()
	r := defaults()
	r.Name, r.Service, r.Metric, r.Threshold, r.Notify = "r", &ServiceScope{Name: "api"}, FaultRate, 0.1, []string{hook.URL}
	if _, err := e.m.Put(ctx, r, true); err != nil {
		t.Fatal(err)
	}
	e.feed(t0.Add(-30*time.Second), "api", 20, 20, 0, 0.1, "gold")
	e.m.Evaluate(ctx)
	<-entered // the firing POST is in flight, unanswered
	e.feed(t0.Add(5*time.Minute), "api", 200, 0, 0, 0.1, "gold")
	e.clock.set(t0.Add(10 * time.Minute))
	e.m.Evaluate(ctx) // returns although the webhook has not answered
	if st := e.status("r"); st.State != StateOK {
		t.Fatalf("state %s, want ok", st.State)
	}
	mu.Lock()
	n := len(states)
	mu.Unlock()
	if n != 1 {
		t.Fatalf("%d POSTs while the first is unanswered, want 1 (one URL's notifications go in order)", n)
	}
	close(release)
	<-entered
	e.m.Close(ctx)
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(states, ",") != "firing,resolved" {
		t.Fatalf("webhook got %v, want firing then resolved", states)
	}
}
