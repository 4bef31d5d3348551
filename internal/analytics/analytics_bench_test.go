package analytics

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

var benchTraces = flag.Int("analytics.traces", 100_000, "demo traces stored over one hour before BenchmarkEndpoints measures")

// demoTraces decodes and summarises n demo traces spread over [start,
// start+1h), as ingest would.
func demoTraces(b *testing.B, n int, start time.Time, each func(spans []*model.Span, sum *model.Summary)) {
	gen := demo.NewGenerator(11, demo.GeneratorOptions{})
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
		spans = trace.Dedupe(spans)
		sum := trace.Summarize(spans)
		each(spans, &sum)
	}
}

// BenchmarkEndpoints stores -analytics.traces demo traces (spans and
// summaries) over one hour, then measures each endpoint through the
// handler, JSON included, with limit=100000 so that every trace of the
// hour is analysed. traces/s is analysed traces per second of one request.
func BenchmarkEndpoints(b *testing.B) {
	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	end := time.Now().Truncate(time.Second)
	start := end.Add(-time.Hour)
	n := *benchTraces
	var batch []model.Span
	var sums []model.Summary
	demoTraces(b, n, start, func(spans []*model.Span, sum *model.Summary) {
		for _, s := range spans {
			batch = append(batch, *s)
		}
		sums = append(sums, *sum)
		if len(sums) == 1000 {
			if err := st.Append(ctx, batch); err != nil {
				b.Fatal(err)
			}
			if err := st.PutSummaries(ctx, sums); err != nil {
				b.Fatal(err)
			}
			batch, sums = batch[:0], sums[:0]
		}
	})
	if len(sums) > 0 {
		if err := st.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if err := st.PutSummaries(ctx, sums); err != nil {
			b.Fatal(err)
		}
	}
	st.Flush()
	h := NewHandler(st, func() time.Time { return end.Add(time.Second) }, nil)
	for _, c := range []struct{ name, query string }{
		{"latency", ""},
		{"heatmap", "step=1m"},
		{"heatmap-node", "step=1m&node=orders"},
		{"compare", "before_start=" + strconv.FormatInt(start.Unix(), 10) + "&before_end=" + strconv.FormatInt(start.Add(30*time.Minute).Unix(), 10) +
			"&start=" + strconv.FormatInt(start.Add(30*time.Minute).Unix(), 10)},
		{"rootcauses", ""},
		{"exceptions", ""},
		{"sql", ""},
		{"coldstarts", ""},
		{"annotations", "key=order_items"},
		{"latency-filtered", "filter=" + url.QueryEscape(`service("orders") AND responsetime > 0.05`)},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := c.name
			if i := len(path) - len("-filtered"); i > 0 && path[i:] == "-filtered" {
				path = path[:i]
			}
			if i := len(path) - len("-node"); i > 0 && path[i:] == "-node" {
				path = path[:i]
			}
			q := "limit=100000&end=" + strconv.FormatInt(end.Unix()+1, 10)
			if c.query == "" || !bytes.Contains([]byte(c.query), []byte("start=")) {
				q += "&start=" + strconv.FormatInt(start.Unix(), 10)
			}
			if c.query != "" {
				q += "&" + c.query
			}
			b.ReportAllocs()
			analysed := 0
			cpu0 := cpuTime()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, Prefix+path+"?"+q, nil)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("%s: %d %s", path, w.Code, w.Body)
				}
				analysed = bytes.Count(w.Body.Bytes(), []byte(`"analyzed":`)) // sanity: present
				if analysed == 0 {
					b.Fatalf("%s: no coverage in %s", path, w.Body.Bytes()[:200])
				}
			}
			cpu := cpuTime() - cpu0
			// Count the analysed traces once more for the metric.
			cov, err := Select(ctx, st, Request{Start: float64(start.Unix()), End: float64(end.Unix() + 1), Limit: MaxLimit}, false, func(*Trace) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
			traces := cov.Analyzed
			if c.name == "latency-filtered" {
				traces = cov.Matched // the filter reads every summary of the hour
			}
			b.ReportMetric(float64(traces)*float64(b.N)/b.Elapsed().Seconds(), "traces/s")
			if cpu > 0 {
				b.ReportMetric(float64(traces)*float64(b.N)/cpu.Seconds(), "traces/cpu-s")
			}
		})
	}
}

// BenchmarkAccumulators measures the analyses alone, over traces held in
// memory (10,000 demo traces fed repeatedly): what each costs per trace
// apart from reading the store.
func BenchmarkAccumulators(b *testing.B) {
	start := time.Now().Truncate(time.Hour)
	var traces []*Trace
	demoTraces(b, 10_000, start, func(spans []*model.Span, sum *model.Summary) {
		traces = append(traces, &Trace{Summary: sum, Spans: spans})
	})
	s, e := float64(start.Unix()), float64(start.Add(time.Hour).Unix())
	for _, c := range []struct {
		name string
		add  func() func(*Trace)
	}{
		{"latency", func() func(*Trace) { return NewLatency().Add }},
		{"heatmap", func() func(*Trace) { h, _ := NewHeatmap(s, e, 60, ""); return h.Add }},
		{"rootcauses", func() func(*Trace) { return NewRootCauses(0).Add }},
		{"exceptions", func() func(*Trace) { x, _ := NewExceptions(s, e, 60); return x.Add }},
		{"sql", func() func(*Trace) { return NewDatabase(0, 0).Add }},
		{"coldstarts", func() func(*Trace) { return NewColdStarts().Add }},
		{"annotations", func() func(*Trace) { a, _ := NewAnnotations("order_items", s, e, 60); return a.Add }},
	} {
		b.Run(c.name, func(b *testing.B) {
			add := c.add()
			b.ReportAllocs()
			i := 0
			cpu0 := cpuTime()
			for b.Loop() {
				add(traces[i%len(traces)])
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "traces/s")
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(float64(b.N)/cpu.Seconds(), "traces/cpu-s")
			}
		})
	}
}
