package ingest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// fakeClock is the aggregator's injected clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{CacheBytes: 8 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// spansOf decodes a document and stores it, as the pipeline does.
func spansOf(t *testing.T, st store.Store, doc string) []model.Span {
	t.Helper()
	spans, err := xray.Decode([]byte(doc))
	if err != nil {
		t.Fatalf("decode %s: %v", doc, err)
	}
	if err := st.Append(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	return spans
}

func segment(tid model.TraceID, id, parent string, start, end float64, extra string) string {
	p := ""
	if parent != "" {
		p = fmt.Sprintf(`,"parent_id":%q`, parent)
	}
	return fmt.Sprintf(`{"trace_id":%q,"id":%q,"name":"svc-%s","start_time":%f,"end_time":%f%s%s}`, tid, id, id[:4], start, end, p, extra)
}

func TestAggregatorSummarisesIdleTraces(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	a := newAggregator(st, 3*time.Second, 0, clock.now)
	tid := model.TraceID{0x65, 0x53, 0xf1, 0x00, 1}

	a.add(spansOf(t, st, segment(tid, "a000000000000001", "", 1_700_000_000, 1_700_000_001, `,"fault":true`)), "error")
	clock.advance(2 * time.Second)
	if err := a.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.Summary(ctx, tid); ok {
		t.Fatalf("summary written after 2s; the trace is idle only after 3s")
	}
	a.add(spansOf(t, st, segment(tid, "b000000000000001", "a000000000000001", 1_700_000_000.1, 1_700_000_000.5, "")), "")
	clock.advance(2 * time.Second)
	a.flush(ctx, false)
	if _, ok, _ := st.Summary(ctx, tid); ok {
		t.Fatalf("summary written 2s after the last span")
	}
	clock.advance(time.Second)
	a.flush(ctx, false)
	sum, ok, err := st.Summary(ctx, tid)
	if err != nil || !ok {
		t.Fatalf("no summary 3s after the last span: %v", err)
	}
	if sum.Spans != 2 || !sum.HasFault || sum.Revision != 0 || a.liveCount() != 0 || sum.SampledBy != "error" {
		t.Errorf("summary spans=%d fault=%v revision=%d live=%d sampled by %q; want 2, true, 0, 0, error", sum.Spans, sum.HasFault, sum.Revision, a.liveCount(), sum.SampledBy)
	}

	// A late span reopens the trace: the summary is rebuilt from the store.
	a.add(spansOf(t, st, segment(tid, "c000000000000001", "a000000000000001", 1_700_000_000.2, 1_700_000_002, "")), "")
	clock.advance(3 * time.Second)
	a.flush(ctx, false)
	sum, _, _ = st.Summary(ctx, tid)
	if sum.Spans != 3 || sum.Revision != 1 || sum.End != 1_700_000_002 || sum.SampledBy != "error" {
		t.Errorf("after a late span: spans=%d revision=%d end=%v sampled by %q; want 3, 1, 1700000002, error", sum.Spans, sum.Revision, sum.End, sum.SampledBy)
	}
	var pending int
	st.Pending(ctx, func(model.TraceID) bool { pending++; return true })
	if pending != 0 {
		t.Errorf("%d traces still pending after their summaries", pending)
	}
}

// runFlusher flushes a on every kick, as Pipeline.flusher does, until the
// test ends; each flush first takes gate.
func runFlusher(t *testing.T, a *aggregator, gate *sync.Mutex) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-a.kick:
				gate.Lock()
				err := a.flush(context.Background(), false)
				gate.Unlock()
				if err != nil {
					t.Error(err)
				}
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// TestAggregatorCapsLiveTraces adds more traces than the cap, none idle.
// While the flusher is held up, add stops a quarter past the cap and waits;
// once it runs, it completes the least recently updated traces early.
func TestAggregatorCapsLiveTraces(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	var clockMu sync.Mutex // the clock is read by the flusher too
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	now := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock.now() }
	a := newAggregator(st, time.Hour, 40, now)
	var forced atomic.Int64
	a.forced = func(n int) { forced.Add(int64(n)) }
	var gate sync.Mutex
	gate.Lock() // the flusher is behind
	runFlusher(t, a, &gate)

	var peak atomic.Int64
	added := make(chan struct{})
	go func() {
		defer close(added)
		for i := range 500 {
			tid := model.TraceID{0x65, 0x53, 0xf1, 0x00, byte(i >> 8), byte(i)}
			a.add(spansOf(t, st, segment(tid, "a000000000000001", "", 1_700_000_000, 1_700_000_001, "")), "")
			peak.Store(max(peak.Load(), int64(a.liveCount())))
			clockMu.Lock()
			clock.advance(time.Millisecond)
			clockMu.Unlock()
		}
	}()
	// add holds at 51 live traces: 40 plus a quarter, plus the one that
	// passed the limit.
	deadline := time.Now().Add(10 * time.Second)
	for a.liveCount() < 51 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // time to run past the limit, if add did not wait
	held := a.liveCount()
	gate.Unlock()
	<-added
	if held != 51 {
		t.Errorf("with the flusher held up, %d live traces; want add to wait at 51", held)
	}
	if p := peak.Load(); p > 51 {
		t.Errorf("live traces reached %d with a cap of 40", p)
	}
	gate.Lock() // no flush of the flusher's under way: traces being summarised count as live
	err := a.flush(ctx, false)
	n := a.liveCount()
	gate.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if n != 40 || forced.Load() != 460 {
		t.Errorf("live %d, forced %d; want 40 and 460", n, forced.Load())
	}
	// The oldest were completed first, the newest are still live.
	if _, ok, _ := st.Summary(ctx, model.TraceID{0x65, 0x53, 0xf1, 0x00, 0, 0}); !ok {
		t.Errorf("the least recently updated trace was not summarised")
	}
	if _, ok, _ := st.Summary(ctx, model.TraceID{0x65, 0x53, 0xf1, 0x00, 499 >> 8, 499 & 0xff}); ok {
		t.Errorf("the most recent trace was summarised early")
	}
}

func TestAggregatorRecoversPending(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	tid := model.TraceID{0x65, 0x53, 0xf1, 0x00, 7}
	spansOf(t, st, segment(tid, "a000000000000001", "", 1_700_000_000, 1_700_000_001, `,"http":{"response":{"status":503}}`))
	spansOf(t, st, `{"type":"subsegment","trace_id":"`+tid.String()+`","id":"d000000000000001","parent_id":"a000000000000001","name":"db","start_time":1700000000.2,"end_time":1700000000.3,"namespace":"remote","sql":{"sanitized_query":"SELECT 1"}}`)
	// The process died before the aggregator saw them: a new one recovers.
	a := newAggregator(st, 3*time.Second, 0, clock.now)
	n, err := a.recover(ctx)
	if err != nil || n != 1 {
		t.Fatalf("recover: %d traces, %v; want 1", n, err)
	}
	sum, ok, _ := st.Summary(ctx, tid)
	if !ok || sum.Spans != 2 || sum.HTTP.Status != 503 || len(sum.Services) != 2 {
		t.Errorf("recovered summary %+v", sum)
	}
}

func TestAggregatorReportsCompletedTraces(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	a := newAggregator(st, 3*time.Second, 0, clock.now)
	type call struct {
		id       model.TraceID
		revision int
		spans    int
	}
	var calls []call
	a.complete = func(_ context.Context, sum *model.Summary, spans []*model.Span) {
		calls = append(calls, call{sum.TraceID, int(sum.Revision), len(spans)})
	}
	tid := model.TraceID{0x65, 0x53, 0xf1, 0x00, 2}
	root := segment(tid, "a000000000000001", "", 1_700_000_000, 1_700_000_001, "")
	a.add(spansOf(t, st, root), "")
	a.add(spansOf(t, st, root), "") // a duplicate is reported once
	a.add(spansOf(t, st, segment(tid, "b000000000000001", "a000000000000001", 1_700_000_000.1, 1_700_000_000.5, "")), "")
	clock.advance(3 * time.Second)
	if err := a.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	a.add(spansOf(t, st, segment(tid, "c000000000000001", "a000000000000001", 1_700_000_000.2, 1_700_000_000.6, "")), "")
	clock.advance(3 * time.Second)
	if err := a.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	want := []call{{tid, 0, 2}, {tid, 1, 3}}
	if !slices.Equal(calls, want) {
		t.Errorf("completed traces reported %+v, want %+v", calls, want)
	}
}

// TestAggregatorUsesSummaryHints: the tail sampler's summary of a trace is
// stored as is when the aggregator has seen exactly those spans, and
// ignored when other spans arrived.
func TestAggregatorUsesSummaryHints(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	a := newAggregator(st, 3*time.Second, 0, clock.now)
	hinted := model.TraceID{0x65, 0x53, 0xf1, 0x00, 3}
	stale := model.TraceID{0x65, 0x53, 0xf1, 0x00, 4}
	wrongCount := model.TraceID{0x65, 0x53, 0xf1, 0x00, 5}
	for _, tid := range []model.TraceID{hinted, stale, wrongCount} {
		a.add(spansOf(t, st, segment(tid, "a000000000000001", "", 1_700_000_000, 1_700_000_001, "")), "filter:x")
	}
	// A hint that differs from what Summarize computes (Spans 99) shows
	// which summary was stored.
	hint := func(tid model.TraceID) *model.Summary {
		return &model.Summary{TraceID: tid, Start: 1_700_000_000, End: 1_700_000_001, Spans: 99}
	}
	a.hintSummary(hinted, hint(hinted), 1)
	a.hintSummary(stale, hint(stale), 1)
	a.add(spansOf(t, st, segment(stale, "b000000000000001", "a000000000000001", 1_700_000_000.1, 1_700_000_000.5, "")), "")
	a.hintSummary(wrongCount, hint(wrongCount), 2)
	clock.advance(3 * time.Second)
	if err := a.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tid   model.TraceID
		spans int
	}{{hinted, 99}, {stale, 2}, {wrongCount, 1}} {
		sum, ok, err := st.Summary(ctx, c.tid)
		if err != nil || !ok {
			t.Fatalf("no summary for %s: %v", c.tid, err)
		}
		if sum.Spans != c.spans || sum.SampledBy != "filter:x" {
			t.Errorf("trace %s: Spans %d, SampledBy %q; want %d, filter:x", c.tid, sum.Spans, sum.SampledBy, c.spans)
		}
	}
}
