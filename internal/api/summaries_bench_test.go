package api

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

var benchTraces = flag.Int("api.traces", 50_000, "traces summarised over one hour before BenchmarkTraceSummaries measures")

// BenchmarkTraceSummaries stores the summaries (and search postings) of
// -api.traces demo traces spread over one hour, then measures
// GetTraceSummaries through the handler: the first page, and every page of
// the hour, for an expression the postings answer and for one that scans.
// Spans are not stored: none of these expressions reads them.
func BenchmarkTraceSummaries(b *testing.B) {
	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	gen := demo.NewGenerator(11, demo.GeneratorOptions{})
	end := time.Now().Truncate(time.Second)
	start := end.Add(-time.Hour)
	n := *benchTraces
	var sums []model.Summary
	for i := range n {
		tr := gen.Trace(start.Add(time.Duration(float64(time.Hour) * float64(i) / float64(n))))
		var spans []*model.Span
		for _, d := range tr.Docs {
			decoded, err := xray.Decode(bytes.Clone(d))
			if err != nil {
				b.Fatal(err)
			}
			for j := range decoded {
				spans = append(spans, &decoded[j])
			}
		}
		sum := trace.Summarize(trace.Dedupe(spans))
		sums = append(sums, sum)
		if len(sums) == 1000 || i == n-1 {
			if err := st.PutSummaries(context.Background(), sums); err != nil {
				b.Fatal(err)
			}
			sums = sums[:0]
		}
	}
	st.Flush()
	srv := New(Config{Store: st, Ingest: nopIngester{}})
	call := func(expr string, token *string) (xray.GetTraceSummariesOutput, time.Duration) {
		s, e := float64(start.Unix()), float64(end.Unix()+1)
		in := xray.GetTraceSummariesInput{StartTime: &s, EndTime: &e, NextToken: token}
		if expr != "" {
			in.FilterExpression = &expr
		}
		body, _ := json.Marshal(in)
		req := httptest.NewRequest(http.MethodPost, "/TraceSummaries", bytes.NewReader(body))
		w := httptest.NewRecorder()
		t0 := time.Now()
		srv.ServeHTTP(w, req)
		d := time.Since(t0)
		if w.Code != 200 {
			b.Fatalf("%s: %d %s", expr, w.Code, w.Body)
		}
		var out xray.GetTraceSummariesOutput
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			b.Fatal(err)
		}
		return out, d
	}
	for _, bc := range []struct{ name, expr string }{
		{"indexed-service-fault", `service("orders") AND fault`},
		{"indexed-annotation", `annotation.customer_tier = "enterprise"`},
		{"scan-url-contains", `http.url CONTAINS "nomatch"`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var first, all time.Duration
			matched, scanned := 0, int64(0)
			var peak atomic.Uint64
			for range b.N {
				runtime.GC()
				stop := make(chan struct{})
				go samplePeakHeap(&peak, stop)
				out, d := call(bc.expr, nil)
				first += d
				all += d
				matched, scanned = len(out.TraceSummaries), out.TracesProcessedCount
				for out.NextToken != nil {
					out, d = call(bc.expr, out.NextToken)
					all += d
					matched += len(out.TraceSummaries)
					scanned += out.TracesProcessedCount
				}
				close(stop)
			}
			b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "first-page-ms")
			b.ReportMetric(float64(all.Milliseconds())/float64(b.N), "all-pages-ms")
			b.ReportMetric(float64(matched), "matched")
			b.ReportMetric(float64(scanned), "scanned")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			b.Logf("%s over %s traces", bc.expr, strconv.Itoa(n))
		})
	}
}

func samplePeakHeap(peak *atomic.Uint64, stop chan struct{}) {
	var ms runtime.MemStats
	for {
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak.Load() {
			peak.Store(ms.HeapInuse)
		}
		select {
		case <-stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}
