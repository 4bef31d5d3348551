package api

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

var (
	benchSpans  = flag.Int("api.spans", 300_000, "spans (segments and subsegments) stored before BenchmarkBatchGetTraces measures")
	benchBlocks = flag.Bool("api.blocks", false, "BenchmarkBatchGetTraces: summarise the traces and move them to blocks before measuring, as the server does with finished traces")
)

// BenchmarkBatchGetTraces fills an embedded store with -api.spans spans of
// demo traces spread over the last hour, then measures POST /Traces for one
// random stored trace through the handler (no network). It reports the p50
// and p99 latency, and the store's size per span.
func BenchmarkBatchGetTraces(b *testing.B) {
	dir := b.TempDir()
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	gen := demo.NewGenerator(7, demo.GeneratorOptions{})
	var ids []string
	spans, docs := 0, 0
	var batch []model.Span
	var sums []model.Summary
	now := time.Now()
	n := *benchSpans
	for spans < n {
		start := now.Add(-time.Duration(float64(time.Hour) * float64(n-spans) / float64(n)))
		tr := gen.Trace(start)
		ids = append(ids, tr.ID)
		spans += tr.Spans
		var traceSpans []*model.Span
		for _, d := range tr.Docs {
			decoded, err := xray.Decode(bytes.Clone(d))
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, decoded...)
			docs++
			if *benchBlocks {
				for i := range decoded {
					traceSpans = append(traceSpans, &decoded[i])
				}
			}
		}
		if *benchBlocks {
			sums = append(sums, trace.Summarize(trace.Dedupe(traceSpans)))
		}
		if len(batch) >= 2000 {
			if err := st.Append(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := st.Append(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
	if *benchBlocks {
		for i := 0; i < len(sums); i += 1000 {
			if err := st.PutSummaries(context.Background(), sums[i:min(i+1000, len(sums))]); err != nil {
				b.Fatal(err)
			}
		}
		sums = nil // garbage before measuring: a large live heap makes every GC cycle, and the p99, slower
		if _, err := st.MoveToBlocks(context.Background(), uint32(now.Add(time.Hour).Unix())); err != nil {
			b.Fatal(err)
		}
		st.Compact()
	}
	st.Flush()
	stats := st.Stats()

	srv := New(Config{Store: st, Ingest: nopIngester{}})
	srv.SetReady()
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		id := ids[rng.IntN(len(ids))]
		body := `{"TraceIds":["` + id + `"]}`
		req := httptest.NewRequest(http.MethodPost, "/Traces", strings.NewReader(body))
		w := httptest.NewRecorder()
		t0 := time.Now()
		srv.ServeHTTP(w, req)
		lat = append(lat, time.Since(t0))
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var out xray.BatchGetTracesOutput
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out.Traces) != 1 {
			b.Fatalf("trace %s: %v %s", id, err, w.Body)
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(stats.TableBytes)/float64(spans), "table-B/span")
	b.ReportMetric(float64(stats.TableBytes)/float64(docs), "table-B/doc")
	if os.Getenv("FLUORO_BENCH_VERBOSE") != "" {
		b.Logf("%d spans in %d documents, %d traces; tables %s bytes", spans, docs, len(ids), strconv.FormatInt(stats.TableBytes, 10))
	}
}

type nopIngester struct{}

func (nopIngester) Spans([]model.Span) error     { return nil }
func (nopIngester) CountReceived(string, int)    {}
func (nopIngester) Reject(string, string, error) {}
