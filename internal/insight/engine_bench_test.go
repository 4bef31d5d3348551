package insight

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// BenchmarkObserve is the detector's cost at ingest: Engine.Observe per
// completed demo trace (about 10 segments), the call ingest's OnComplete
// makes. BenchmarkSummarize beside it is the summary ingest computes for the
// same trace anyway, for scale.
func BenchmarkObserve(b *testing.B) {
	type tr struct {
		sum   model.Summary
		spans []*model.Span
	}
	start := time.Now().Truncate(time.Hour)
	gen := demo.NewGenerator(5, demo.GeneratorOptions{})
	var traces []tr
	for i := 0; i < 2000; i++ {
		t := gen.Trace(start.Add(time.Duration(i) * 30 * time.Millisecond))
		var spans []*model.Span
		for _, d := range t.Docs {
			decoded, err := xray.Decode(bytes.Clone(d))
			if err != nil {
				b.Fatal(err)
			}
			for j := range decoded {
				spans = append(spans, &decoded[j])
			}
		}
		spans = trace.Dedupe(spans)
		traces = append(traces, tr{trace.Summarize(spans), spans})
	}
	st, err := embedded.Open(b.TempDir(), embedded.Options{CacheBytes: 8 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	b.Run("observe", func(b *testing.B) {
		e, err := New(ctx, Config{Objects: st.Objects(), Now: func() time.Time { return start }})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		cpu0 := cpuTime()
		for b.Loop() {
			t := &traces[i%len(traces)]
			e.Observe(ctx, &t.sum, t.spans)
			i++
		}
		if cpu := cpuTime() - cpu0; cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/trace")
		}
	})
	b.Run("summarize", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		cpu0 := cpuTime()
		for b.Loop() {
			trace.Summarize(traces[i%len(traces)].spans)
			i++
		}
		if cpu := cpuTime() - cpu0; cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/trace")
		}
	})
}
