package embedded

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/store/storetest"
)

var flagTraces = flag.Int("embedded.traces", 5_000, "traces stored before BenchmarkTrace and BenchmarkSummaries measure")

const (
	benchEpoch         = 1_767_225_600
	benchBatch         = 1_000 // spans per Append, as ingest batches them
	benchSpansPerTrace = 10
)

// benchDoc returns a segment document of about 300 bytes, varied by rng
// the way ids, times and names vary, so compression sees realistic input.
func benchDoc(rng *rand.Rand, tid model.TraceID, id, parent model.SpanID) []byte {
	start := float64(tid.Epoch()) + rng.Float64()
	return fmt.Appendf(nil, `{"trace_id":%q,"id":%q,"parent_id":%q,"name":"svc-%d","start_time":%.6f,"end_time":%.6f,`+
		`"origin":"AWS::EC2::Instance","http":{"request":{"method":"GET","url":"https://api.example.com/orders/%d"},`+
		`"response":{"status":200}}}`,
		tid.String(), id.String(), parent.String(), rng.IntN(20), start, start+rng.Float64()/10,
		rng.IntN(1_000_000))
}

// benchSpans returns n spans of n/benchSpansPerTrace traces starting at
// second epoch, trace by trace.
func benchSpans(rng *rand.Rand, epoch uint32, n int) []model.Span {
	spans := make([]model.Span, 0, n)
	var tid model.TraceID
	var root model.SpanID
	for i := range n {
		if i%benchSpansPerTrace == 0 {
			tid = storetest.TraceID(epoch+uint32(i/benchBatch), rng.Uint64())
			root = 0
		}
		id := model.SpanID(rng.Uint64())
		sp := model.Span{TraceID: tid, Independent: root != 0, Root: model.Entity{ID: id, ParentID: root}}
		sp.Doc = benchDoc(rng, tid, id, root)
		if root == 0 {
			root = id
		}
		spans = append(spans, sp)
	}
	return spans
}

func benchOpen(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkAppend measures ingest: one op is one Append of benchBatch spans
// of fresh traces.
func BenchmarkAppend(b *testing.B) {
	s := benchOpen(b)
	rng := rand.New(rand.NewPCG(1, 1))
	batch := benchSpans(rng, benchEpoch, benchBatch)
	var docBytes int64
	for _, sp := range batch {
		docBytes += int64(len(sp.Doc))
	}
	b.SetBytes(docBytes)
	b.ReportAllocs()
	ctx := context.Background()
	n := 0
	for b.Loop() {
		// New trace ids each round, so every op writes new keys; the
		// documents are reused.
		epoch := benchEpoch + uint32(n)
		for i := range batch {
			if i%benchSpansPerTrace == 0 {
				batch[i].TraceID = storetest.TraceID(epoch, rng.Uint64())
			} else {
				batch[i].TraceID = batch[i-1].TraceID
			}
		}
		if err := s.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*benchBatch)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64(docBytes)/benchBatch, "doc-bytes/span")
}

// loadTraces stores -embedded.traces traces of benchSpansPerTrace spans,
// with summaries, flushed and compacted as a long-running store would be.
func loadTraces(b *testing.B) (*Store, []model.TraceID) {
	b.Helper()
	s := benchOpen(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(2, 2))
	traces := *flagTraces
	var ids []model.TraceID
	for done := 0; done < traces; {
		n := min(benchBatch/benchSpansPerTrace, traces-done)
		spans := benchSpans(rng, benchEpoch+uint32(done/100), n*benchSpansPerTrace)
		sums := make([]model.Summary, 0, n)
		for i := 0; i < len(spans); i += benchSpansPerTrace {
			id := spans[i].TraceID
			ids = append(ids, id)
			sum := storetest.FullSummary(id)
			sum.Spans = benchSpansPerTrace
			sums = append(sums, sum)
		}
		if err := s.Append(ctx, spans); err != nil {
			b.Fatal(err)
		}
		if err := s.PutSummaries(ctx, sums); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := s.Compact(); err != nil {
		b.Fatal(err)
	}
	return s, ids
}

// reportDisk reports the size on disk per stored span: all of it, which
// includes WAL files Pebble keeps for reuse, and the tables alone. Call it
// after the loop: b.Loop drops metrics reported before it starts.
func reportDisk(b *testing.B, s *Store, traces int) {
	spans := float64(traces * benchSpansPerTrace)
	b.ReportMetric(float64(s.Stats().DiskBytes)/spans, "disk-bytes/span")
	b.ReportMetric(float64(s.Stats().TableBytes)/spans, "table-bytes/span")
}

// BenchmarkTrace measures fetching one random trace out of
// -embedded.traces, with the latency distribution.
func BenchmarkTrace(b *testing.B) {
	s, ids := loadTraces(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 3))
	var lat []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		id := ids[rng.IntN(len(ids))]
		t0 := time.Now()
		recs, err := s.Trace(ctx, id)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) != benchSpansPerTrace {
			b.Fatalf("trace %s: %d spans, want %d", id, len(recs), benchSpansPerTrace)
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	reportDisk(b, s, len(ids))
}

// BenchmarkSummaries measures a scan of every summary, newest first, as an
// unfiltered trace search does.
func BenchmarkSummaries(b *testing.B) {
	s, ids := loadTraces(b)
	ctx := context.Background()
	q := store.SummaryQuery{From: 0, To: benchEpoch + 1_000_000}
	b.ReportAllocs()
	scanned := 0
	for b.Loop() {
		n := 0
		err := s.Summaries(ctx, q, func(*model.Summary) bool { n++; return true })
		if err != nil {
			b.Fatal(err)
		}
		if n != len(ids) {
			b.Fatalf("scanned %d summaries, want %d", n, len(ids))
		}
		scanned += n
	}
	b.ReportMetric(float64(scanned)/b.Elapsed().Seconds(), "summaries/s")
}

// BenchmarkSummariesHead scans with a prefilter that rejects everything: the
// cost of a full scan for a filter that only reads summary heads.
func BenchmarkSummariesHead(b *testing.B) {
	s, ids := loadTraces(b)
	ctx := context.Background()
	b.ReportAllocs()
	scanned := 0
	for b.Loop() {
		n := 0
		q := store.SummaryQuery{From: 0, To: benchEpoch + 1_000_000,
			Prefilter: func(sum *model.Summary) bool { n++; return strings.Contains(sum.HTTP.URL, "nomatch") }}
		if err := s.Summaries(ctx, q, func(*model.Summary) bool { return true }); err != nil {
			b.Fatal(err)
		}
		if n != len(ids) {
			b.Fatalf("prefiltered %d summaries, want %d", n, len(ids))
		}
		scanned += n
	}
	b.ReportMetric(float64(scanned)/b.Elapsed().Seconds(), "summaries/s")
}
