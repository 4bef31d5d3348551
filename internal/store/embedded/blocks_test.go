package embedded

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// fillDemo stores n demo traces with their summaries, one per millisecond
// from start, and returns their ids.
func fillDemo(t testing.TB, s *Store, n int, start time.Time) []model.TraceID {
	t.Helper()
	ctx := context.Background()
	g := demo.NewGenerator(5, demo.GeneratorOptions{})
	var ids []model.TraceID
	var batch []model.Span
	var sums []model.Summary
	for i := range n {
		tr := g.Trace(start.Add(time.Duration(i) * time.Millisecond))
		var spans []*model.Span
		for _, d := range tr.Docs {
			dec, err := xray.Decode(bytes.Clone(d))
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, dec...)
			for i := range dec {
				spans = append(spans, &dec[i])
			}
		}
		sum := trace.Summarize(trace.Dedupe(spans))
		ids = append(ids, sum.TraceID)
		sums = append(sums, sum)
		if len(batch) > 1000 {
			if err := s.Append(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := s.Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSummaries(ctx, sums); err != nil {
		t.Fatal(err)
	}
	return ids
}

type snapshot struct {
	traces map[model.TraceID][]store.Record
	sums   map[model.TraceID]model.Summary
	scans  map[string][]model.TraceID
}

func readAll(t *testing.T, s *Store, ids []model.TraceID) snapshot {
	t.Helper()
	ctx := context.Background()
	snap := snapshot{traces: map[model.TraceID][]store.Record{}, sums: map[model.TraceID]model.Summary{}, scans: map[string][]model.TraceID{}}
	for _, id := range ids {
		recs, err := s.Trace(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		snap.traces[id] = recs
		sum, ok, err := s.Summary(ctx, id)
		if err != nil || !ok {
			t.Fatalf("Summary %s: %v %v", id, ok, err)
		}
		snap.sums[id] = sum
	}
	from, to := ids[0].Epoch(), ids[len(ids)-1].Epoch()+1
	queries := map[string]store.SummaryQuery{
		"all":       {From: from, To: to},
		"late half": {From: from + (to-from)/2, To: to},
		"after":     {From: from, To: to, After: &ids[len(ids)/3]},
		"fault":     {From: from, To: to, Hint: &store.Hint{Field: store.HintFault}},
		"service":   {From: from, To: to, Hint: &store.Hint{Field: store.HintService, Value: model.Value{Kind: model.String, Str: "payments"}}},
		"annotation": {From: from, To: to, Hint: &store.Hint{Field: store.HintAnnotation, Key: "customer_tier",
			Value: model.Value{Kind: model.String, Str: "enterprise"}}},
		"prefilter": {From: from, To: to, Prefilter: func(s *model.Summary) bool { return s.HTTP.Status >= 400 }},
	}
	for name, q := range queries {
		var got []model.TraceID
		if err := s.Summaries(ctx, q, func(sum *model.Summary) bool { got = append(got, sum.TraceID); return true }); err != nil {
			t.Fatal(err)
		}
		snap.scans[name] = got
	}
	return snap
}

// TestBlocksReadAsLive moves a few pages of demo traces to blocks and
// reads back exactly what the live store returned: every span document
// byte for byte, every summary, every scan in the same order.
func TestBlocksReadAsLive(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	ids := fillDemo(t, s, 3*pageTraces+77, time.Unix(1_767_225_600, 0))
	live := readAll(t, s, ids)
	for name, got := range live.scans {
		if len(got) == 0 {
			t.Fatalf("scan %s found nothing: the test would prove nothing", name)
		}
	}
	if e, ok := s.OldestUnmoved(); !ok || e != ids[0].Epoch() {
		t.Errorf("before the move, OldestUnmoved = %d %v, want %d", e, ok, ids[0].Epoch())
	}
	st, err := s.MoveToBlocks(context.Background(), ids[len(ids)-1].Epoch()+1)
	if err != nil {
		t.Fatal(err)
	}
	if st.Traces != len(ids) || st.Blocks != 1 {
		t.Fatalf("moved %+v, want %d traces in one block", st, len(ids))
	}
	if e, ok := s.OldestUnmoved(); ok {
		t.Errorf("after moving everything, OldestUnmoved = %d, want none", e)
	}
	check := func(s *Store, when string) {
		got := readAll(t, s, ids)
		for _, id := range ids {
			if !reflect.DeepEqual(got.traces[id], live.traces[id]) {
				t.Fatalf("%s: trace %s differs:\n%s\nwant\n%s", when, id, formatRecs(got.traces[id]), formatRecs(live.traces[id]))
			}
			if !reflect.DeepEqual(got.sums[id], live.sums[id]) {
				t.Fatalf("%s: summary %s differs:\n%+v\nwant\n%+v", when, id, got.sums[id], live.sums[id])
			}
		}
		for name := range live.scans {
			if !reflect.DeepEqual(got.scans[name], live.scans[name]) {
				t.Fatalf("%s: scan %s: %d traces, want %d", when, name, len(got.scans[name]), len(live.scans[name]))
			}
		}
	}
	check(s, "after the move")
	s.Close()
	s, err = Open(dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s, "after reopening")
	// Nothing of the moved traces is left live.
	it, _ := s.spans.NewIter(nil)
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if it.Key()[0] == prefixSpan {
			n++
		}
	}
	it.Close()
	if n != 0 {
		t.Errorf("%d span keys left live after the move", n)
	}
}

// TestBlocksCrashAfterFile: a block file written but not committed (the
// process died before the index recorded it) is removed at open, and its
// traces are still read from the live store.
func TestBlocksUncommittedFile(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	ids := fillDemo(t, s, 50, time.Unix(1_767_225_600, 0))
	live := readAll(t, s, ids)
	// Write the block as a move would, but stop before committing it.
	w, err := newBlockWriter(filepath.Join(dir, "blocks"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := w.add(id, nil, nil, live.traces[id]); err != nil {
			t.Fatal(err)
		}
	}
	b, err := w.finish()
	if err != nil {
		t.Fatal(err)
	}
	b.release()
	s.Close()
	s, err = Open(dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(b.path); !os.IsNotExist(err) {
		t.Fatalf("uncommitted block %s kept: %v", b.path, err)
	}
	got := readAll(t, s, ids)
	if !reflect.DeepEqual(got.scans, live.scans) || !reflect.DeepEqual(got.traces, live.traces) {
		t.Fatal("reads changed after an uncommitted block was dropped")
	}
}

// TestBlocksCleanupRecord: a move whose span deletion did not happen (the
// process died between the two commits) finishes at the next open.
func TestBlocksCleanupRecord(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	ids := fillDemo(t, s, 40, time.Unix(1_767_225_600, 0))
	live := readAll(t, s, ids)
	if _, err := s.MoveToBlocks(context.Background(), ids[len(ids)-1].Epoch()+1); err != nil {
		t.Fatal(err)
	}
	// Put the spans back and the cleanup record, as if the span deletion
	// had not been committed.
	for _, id := range ids {
		var spans []model.Span
		for _, r := range live.traces[id] {
			spans = append(spans, model.Span{TraceID: id, Independent: r.Independent, Doc: r.Doc,
				Root: model.Entity{ID: r.ID, ParentID: r.ParentID, InProgress: r.InProgress}})
		}
		b := s.spans.NewBatch()
		for _, sp := range spans {
			v := append([]byte{0}, make([]byte, 8)...)
			if sp.Independent {
				v[0] |= flagIndependent
			}
			copy(v[1:], bytes.Clone(binaryID(sp.Root.ParentID)))
			b.Set(spanKey(nil, id, sp.Root.ID), append(v, sp.Doc...), nil)
		}
		b.Commit(nil)
		b.Close()
	}
	lo, hi := slices.MinFunc(ids, cmpTID), slices.MaxFunc(ids, cmpTID)
	end := nextTID(hi)
	rec := append(append([]byte(nil), lo[:]...), end[:]...)
	if err := s.index.Set(metaCleanup, rec, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	it, _ := s.spans.NewIter(nil)
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if it.Key()[0] == prefixSpan {
			n++
		}
	}
	it.Close()
	if n != 0 {
		t.Fatalf("%d moved span keys still live after the cleanup at open", n)
	}
	got := readAll(t, s, ids)
	if !reflect.DeepEqual(got.traces, live.traces) || !reflect.DeepEqual(got.scans, live.scans) {
		t.Fatal("reads differ after the cleanup")
	}
}

func binaryID(id model.SpanID) []byte {
	b := make([]byte, 8)
	for i := range 8 {
		b[7-i] = byte(id >> (8 * i))
	}
	return b
}

func formatRecs(recs []store.Record) string {
	var b bytes.Buffer
	for _, r := range recs {
		fmt.Fprintf(&b, "%s parent %s ip=%v ind=%v %s\n", r.ID, r.ParentID, r.InProgress, r.Independent, r.Doc)
	}
	return b.String()
}

// BenchmarkBlockTrace reads one random trace of 20,000 demo traces moved
// to blocks, as BatchGetTraces does.
func BenchmarkBlockTrace(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ids := fillDemo(b, s, 20_000, time.Unix(1_767_225_600, 0))
	if _, err := s.MoveToBlocks(context.Background(), ids[len(ids)-1].Epoch()+1); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i = (i + 7919) % len(ids)
		recs, err := s.Trace(ctx, ids[i])
		if err != nil || len(recs) == 0 {
			b.Fatalf("%s: %d records, %v", ids[i], len(recs), err)
		}
	}
}
