package alert

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// BenchmarkEvaluate measures one evaluation cycle of 50 rules over an hour
// of the demo topology (36,000 traces, 10 a second): 40 service rules over
// its five services (every metric, windows of 5m, 15m and 1h; rules of the
// same window share one read of the buckets) and 10 filter rules over the
// trace summaries (windows of 1m and 5m: up to 3,000 summaries each).
// Reports ns/op and allocations per cycle, and per rule.
func BenchmarkEvaluate(b *testing.B) {
	t0 := time.Unix(1_767_225_600, 0)
	const traces, step = 36000, 100 * time.Millisecond
	e := newEnv(b, t0.Add(traces*step), Config{})
	gen := demo.NewGenerator(1, demo.GeneratorOptions{})
	ctx := context.Background()
	var sums []model.Summary
	var all [][]*model.Span
	flush := func() {
		if err := e.st.PutSummaries(ctx, sums); err != nil {
			b.Fatal(err)
		}
		for i := range sums {
			e.graph.OnComplete(ctx, &sums[i], all[i])
		}
		sums, all = sums[:0], all[:0]
	}
	for i := range traces {
		tr := gen.Trace(t0.Add(time.Duration(i) * step))
		var spans []*model.Span
		for _, d := range tr.Docs {
			got, err := xray.Decode(d)
			if err != nil {
				b.Fatal(err)
			}
			for j := range got {
				got[j].Doc = nil
				spans = append(spans, &got[j])
			}
		}
		spans = trace.Dedupe(spans)
		sums = append(sums, trace.Summarize(spans))
		all = append(all, spans)
		if len(sums) == 1000 {
			flush()
		}
	}
	flush()
	if err := e.graph.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	services := []string{"api-gateway", "orders", "payments", "inventory", "users"}
	windows := []Duration{Duration(5 * time.Minute), Duration(15 * time.Minute), Duration(time.Hour)}
	filters := []string{"fault", `service("payments")`, `annotation.customer_tier = "enterprise"`, "http.status >= 500",
		`http.method = "POST" AND responsetime > 0.2`}
	n := 0
	add := func(r Rule) {
		r.Name = fmt.Sprintf("rule-%02d", n)
		n++
		if _, err := e.m.Put(ctx, r, true); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 40 {
		r := defaults()
		r.Service = &ServiceScope{Name: services[i%len(services)]}
		r.Metric, r.Threshold, r.Window = metrics[i%len(metrics)], 0.5, windows[i%len(windows)]
		add(r)
	}
	for i := range 10 {
		r := defaults()
		r.Filter, r.Metric, r.Threshold = filters[i%len(filters)], metrics[i%len(metrics)], 0.5
		r.Window = Duration(time.Minute)
		if i >= 5 {
			r.Window = Duration(5 * time.Minute)
		}
		add(r)
	}
	e.m.Evaluate(ctx)
	for _, rs := range e.m.List() {
		if rs.Status.Evaluated == nil || rs.Status.Error != "" || rs.Status.Requests == 0 {
			b.Fatalf("rule %s not evaluated over data: %+v", rs.Name, rs.Status)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.m.Evaluate(ctx)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/50, "ns/rule")
}
