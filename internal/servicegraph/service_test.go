package servicegraph

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// fakeClock is a settable clock for eviction.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// completed is one demo trace as ingest hands it to OnComplete.
type completed struct {
	sum   model.Summary
	spans []*model.Span
}

func demoTraces(t testing.TB, seed int64, n int, start time.Time, step time.Duration) []completed {
	t.Helper()
	gen := demo.NewGenerator(seed, demo.GeneratorOptions{})
	out := make([]completed, 0, n)
	for i := range n {
		tr := gen.Trace(start.Add(time.Duration(i) * step))
		var spans []*model.Span
		for _, d := range tr.Docs {
			got, err := xray.Decode(d)
			if err != nil {
				t.Fatalf("decode demo document: %v", err)
			}
			for j := range got {
				got[j].Doc = nil
				spans = append(spans, &got[j])
			}
		}
		spans = trace.Dedupe(spans)
		sum := trace.Summarize(spans)
		out = append(out, completed{sum: sum, spans: spans})
	}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestServicePersistence feeds demo traces over three minutes, closes the
// service and the store, reopens both, and checks that the graph read back
// equals the graph built directly from the same traces; that a reopened
// trace (Revision > 0) is not counted again; and that a trace arriving for
// a minute already flushed and evicted from memory is added to the stored
// bucket rather than replacing it.
func TestServicePersistence(t *testing.T) {
	dir := t.TempDir()
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Unix(1_767_225_600, 0)}
	ctx := context.Background()
	svc, err := New(ctx, Config{Store: st, Now: clock.now, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	traces := demoTraces(t, 7, 300, clock.now(), 600*time.Millisecond) // 3 minutes
	want := NewBucket()
	for _, c := range traces[:250] {
		svc.OnComplete(ctx, &c.sum, c.spans)
		want.AddTrace(trace.BuildGraph(c.spans), c.sum.Duration())
	}
	reopened := traces[0]
	reopened.sum.Revision = 1
	svc.OnComplete(ctx, &reopened.sum, reopened.spans)
	if svc.Skipped() != 1 {
		t.Errorf("Skipped = %d, want 1", svc.Skipped())
	}
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	clock.add(10 * time.Minute)
	if err := svc.Flush(ctx); err != nil { // evicts every clean bucket
		t.Fatal(err)
	}
	if n := len(svc.mem); n != 0 {
		t.Errorf("%d buckets still in memory after evictAfter", n)
	}
	for _, c := range traces[250:] { // the first minutes again: read back, added to
		svc.OnComplete(ctx, &c.sum, c.spans)
		want.AddTrace(trace.BuildGraph(c.spans), c.sum.Duration())
	}
	if err := svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err = New(ctx, Config{Store: st, Now: clock.now, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	from := traces[0].sum.Start
	got, err := svc.Graph(ctx, DefaultGroupID, from, from+3600)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := render(got), render(want); g != w {
		t.Errorf("graph after reopen:\n%s\nwant\n%s", g, w)
	}
	// A range of two partial hours reads minute buckets only; a whole hour
	// reads the hourly roll-up: both must agree.
	if part, err := svc.Graph(ctx, DefaultGroupID, from-1800, from+1800); err != nil || render(part) != render(want) {
		t.Errorf("graph over two partial hours differs from the whole hour's (err %v)", err)
	}
	if len(want.Nodes) < 5 || len(want.Edges) < 5 {
		t.Errorf("demo graph too small to test anything: %d nodes, %d edges", len(want.Nodes), len(want.Edges))
	}
	// The series sums to the graph.
	pts, err := svc.Series(ctx, DefaultGroupID, from, from+3600, 60)
	if err != nil {
		t.Fatal(err)
	}
	sum := NewBucket()
	for i, p := range pts {
		if i > 0 && p.Start <= pts[i-1].Start {
			t.Errorf("series not in time order at %d", i)
		}
		sum.Merge(p.Bucket)
	}
	if len(pts) < 3 || render(sum) != render(want) {
		t.Errorf("series of %d points does not add up to the graph", len(pts))
	}
	// Nothing outside the window.
	if empty, _ := svc.Graph(ctx, DefaultGroupID, from+3600, from+7200); len(empty.Nodes) != 0 {
		t.Errorf("graph of a later hour has %d nodes", len(empty.Nodes))
	}
}

// TestGroupsAtIngest checks that a group's graph holds exactly the traces
// its filter selects, and that a group whose stored filter no longer parses
// is listed but matches nothing.
func TestGroupsAtIngest(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	svc, err := New(ctx, Config{Store: st, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	faults, err := svc.CreateGroup(ctx, Group{Name: "faults", FilterExpression: "fault"})
	if err != nil {
		t.Fatal(err)
	}
	everything, err := svc.CreateGroup(ctx, Group{Name: "everything"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateGroup(ctx, Group{Name: "bad", FilterExpression: "http.status = "}); err == nil {
		t.Fatal("CreateGroup accepted a broken filter")
	}
	if _, err := svc.CreateGroup(ctx, Group{Name: "with space"}); err == nil {
		t.Fatal("CreateGroup accepted a name with a space")
	}
	traces := demoTraces(t, 3, 400, time.Unix(1_767_225_600, 0), 100*time.Millisecond)
	wantAll, wantFaults := NewBucket(), NewBucket()
	nf := 0
	for _, c := range traces {
		svc.OnComplete(ctx, &c.sum, c.spans)
		g := trace.BuildGraph(c.spans)
		wantAll.AddTrace(g, c.sum.Duration())
		if c.sum.HasFault {
			wantFaults.AddTrace(g, c.sum.Duration())
			nf++
		}
	}
	if nf == 0 || nf == len(traces) {
		t.Fatalf("%d of %d demo traces fault; the test needs some of each", nf, len(traces))
	}
	from := traces[0].sum.Start
	check := func(id string, want *Bucket) {
		t.Helper()
		got, err := svc.Graph(ctx, id, from, from+3600)
		if err != nil {
			t.Fatal(err)
		}
		if render(got) != render(want) {
			t.Errorf("graph of group %s:\n%s\nwant\n%s", id, render(got), render(want))
		}
	}
	check(DefaultGroupID, wantAll)
	check(everything.ID, wantAll)
	check(faults.ID, wantFaults)

	// A stored filter that no longer parses (written by another version).
	if err := st.Objects().Put(ctx, objectKind, "broken", []byte(`{"name":"broken","id":"B","filter":"fault AND"}`)); err != nil {
		t.Fatal(err)
	}
	svc2, err := New(ctx, Config{Store: st, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc2.Resolve("broken", "")
	if err != nil || g.ID != "B" {
		t.Fatalf("Resolve(broken) = %+v, %v", g, err)
	}
	svc2.OnComplete(ctx, &traces[0].sum, traces[0].spans)
	if got, _ := svc2.Graph(ctx, "B", from, from+3600); len(got.Nodes) != 0 {
		t.Errorf("a broken group matched a trace")
	}
}

// TestDecodeCorrupt: truncated or altered encodings fail cleanly.
func TestDecodeCorrupt(t *testing.T) {
	traces := demoTraces(t, 1, 50, time.Unix(1_767_225_600, 0), time.Second)
	b := NewBucket()
	for _, c := range traces {
		b.AddTrace(trace.BuildGraph(c.spans), c.sum.Duration())
	}
	enc := b.Encode(nil)
	for i := 0; i < len(enc); i += 1 + len(enc)/200 {
		if err := NewBucket().DecodeMerge(enc[:i]); err == nil {
			t.Errorf("decoding the first %d of %d bytes succeeded", i, len(enc))
		}
	}
	if err := NewBucket().DecodeMerge(append([]byte{9}, enc[1:]...)); err == nil {
		t.Errorf("an unknown version decoded")
	}
}

// FuzzDecodeBucket: stored buckets are read back after crashes and across
// versions; no input may panic.
func FuzzDecodeBucket(f *testing.F) {
	traces := demoTraces(f, 1, 20, time.Unix(1_767_225_600, 0), time.Second)
	b := NewBucket()
	for _, c := range traces {
		b.AddTrace(trace.BuildGraph(c.spans), c.sum.Duration())
	}
	f.Add(b.Encode(nil))
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		nb := NewBucket()
		if nb.DecodeMerge(data) == nil {
			nb.Encode(nil)
		}
	})
}

var benchTraces []completed

// BenchmarkOnComplete is the aggregation cost of one completed demo trace
// (about 9 spans) with the Default group and two more, one of which needs
// the trace's spans.
func BenchmarkOnComplete(b *testing.B) {
	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	svc, err := New(ctx, Config{Store: st, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	for _, g := range []Group{{Name: "faults", FilterExpression: "fault OR error"},
		{Name: "orders", FilterExpression: `service("orders") { responsetime > 0.1 }`}} {
		if _, err := svc.CreateGroup(ctx, g); err != nil {
			b.Fatal(err)
		}
	}
	if benchTraces == nil {
		benchTraces = demoTraces(b, 1, 2000, time.Unix(1_767_225_600, 0), 10*time.Millisecond)
	}
	traces := benchTraces
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := &traces[i%len(traces)]
		svc.OnComplete(ctx, &c.sum, c.spans)
	}
}
