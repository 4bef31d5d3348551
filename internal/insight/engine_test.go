package insight

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/trace"
)

// clock is an injected clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// frontendBackend builds a trace: frontend (the entry point) calls backend
// over HTTP; when fault is set backend faults and the fault reaches the
// client. The summary is computed as ingest computes it.
func frontendBackend(start float64, seq uint64, fault bool) (*model.Summary, []*model.Span) {
	var id model.TraceID
	binary.BigEndian.PutUint32(id[:4], uint32(start))
	binary.BigEndian.PutUint64(id[8:], seq)
	call := model.Entity{ID: 2, Name: "backend", Namespace: "remote", Start: start + 0.001, End: start + 0.02, Fault: fault,
		HTTP: model.HTTP{Method: "GET", URL: "http://backend/x", Traced: true}}
	front := &model.Span{TraceID: id, Root: model.Entity{ID: 1, Name: "frontend", Origin: "AWS::EC2::Instance", Start: start, End: start + 0.021,
		Fault: fault, Subsegments: []model.Entity{call}}}
	back := &model.Span{TraceID: id, Root: model.Entity{ID: 3, ParentID: 2, Name: "backend", Origin: "AWS::ECS::Container", Start: start + 0.002, End: start + 0.019, Fault: fault}}
	spans := []*model.Span{back, front}
	sum := trace.Summarize(spans)
	return &sum, spans
}

func TestEngineOpensAndCloses(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(t.TempDir(), embedded.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clk := &clock{t: base}
	e, err := New(ctx, Config{Objects: st.Objects(), Now: clk.Now, Grace: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(0)
	// minute feeds one minute of 60 traces with the given number of faults,
	// then moves the clock past the minute's grace and judges it.
	minute := func(m int, faults int) {
		for i := 0; i < 60; i++ {
			seq++
			sum, spans := frontendBackend(float64(base.Unix())+float64(m*60+i), seq, i < faults)
			e.Observe(ctx, sum, spans)
		}
		clk.Set(base.Add(time.Duration(m+1)*time.Minute + 31*time.Second))
		if err := e.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for m := 0; m < 40; m++ {
		minute(m, m%3/2) // 0 or 1 fault in 60: a ~0.5% baseline
	}
	if got := e.Insights(0, 1e12, nil); len(got) != 0 {
		t.Fatalf("insights during the baseline: %+v", got)
	}
	for m := 40; m < 44; m++ {
		minute(m, 30) // half the requests fault
	}
	active := e.Insights(0, 1e12, []string{Active})
	if len(active) != 1 {
		t.Fatalf("active insights after the spike: %+v", active)
	}
	r := active[0]
	if r.RootCause.Name != "backend" || r.RootCause.Type != "AWS::ECS::Container" {
		t.Errorf("root cause %+v, want backend", r.RootCause)
	}
	if len(r.Anomalous) != 2 {
		t.Errorf("anomalous %+v, want frontend and backend", r.Anomalous)
	}
	// Opened on the second anomalous minute (the detector's Persist).
	if r.Start != float64(base.Unix()+41*60) {
		t.Errorf("start %v, want minute 41", time.Unix(int64(r.Start), 0).UTC())
	}
	if r.ClientStats.Total != 3*60 || r.ClientStats.Faults != 3*30 || r.RootStats.Faults != 90 {
		t.Errorf("impact: client %+v root %+v, want 180 requests and 90 faults over minutes 41–43", r.ClientStats, r.RootStats)
	}
	if len(r.Services) != 2 || len(r.Edges) != 1 || r.Services[r.Edges[0][0]].Name != "frontend" || r.Services[r.Edges[0][1]].Name != "backend" {
		t.Errorf("impact graph %+v %+v, want frontend → backend", r.Services, r.Edges)
	}
	for m := 44; m < 47; m++ {
		minute(m, 0)
	}
	closed := e.Insights(0, 1e12, []string{Closed})
	if len(closed) != 1 || closed[0].ID != r.ID || closed[0].End != float64(base.Unix()+44*60) {
		t.Fatalf("closed insights %+v, want %s ending at minute 44", closed, r.ID)
	}
	if n := len(closed[0].Events); n != 2 {
		t.Errorf("%d events, want opened and closed: %+v", n, closed[0].Events)
	}
	// A late trace for a judged minute is dropped, not counted.
	sum, spans := frontendBackend(float64(base.Unix()+10*60), 999_999, true)
	e.Observe(ctx, sum, spans)
	if e.Late() != 1 {
		t.Errorf("late = %d, want 1", e.Late())
	}
	// Insights outlive the engine.
	e2, err := New(ctx, Config{Objects: st.Objects(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := e2.Insight(r.ID)
	if !ok || got.State != Closed || got.Summary != closed[0].Summary {
		t.Errorf("reloaded insight %+v, want %+v", got, closed[0])
	}
	// Outside the queried window: not listed.
	if l := e2.Insights(float64(base.Unix()+50*60), float64(base.Unix()+60*60), nil); len(l) != 0 {
		t.Errorf("insights after they closed: %+v", l)
	}
}

// TestEngineLowTraffic feeds a service a handful of requests a minute, most
// of them faulting: nothing opens.
func TestEngineLowTraffic(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(t.TempDir(), embedded.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clk := &clock{t: base}
	e, err := New(ctx, Config{Objects: st.Objects(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(0)
	for m := 0; m < 60; m++ {
		for i := 0; i < 4; i++ {
			seq++
			sum, spans := frontendBackend(float64(base.Unix())+float64(m*60+i), seq, m > 30 && i < 3)
			e.Observe(ctx, sum, spans)
		}
	}
	clk.Add(2 * time.Hour)
	if err := e.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.Insights(0, 1e12, nil); len(got) != 0 {
		t.Errorf("low traffic opened %+v", got)
	}
}
