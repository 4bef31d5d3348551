package demo

import (
	"strconv"
	"testing"
	"time"
)

func BenchmarkGeneratorTrace(b *testing.B) {
	for _, spanBytes := range []int{0, 1000} {
		b.Run("span-bytes="+strconv.Itoa(spanBytes), func(b *testing.B) {
			// Measure the average trace first: SetBytes takes bytes per op.
			g := NewGenerator(1, GeneratorOptions{SpanBytes: spanBytes})
			start := time.Unix(1767225600, 0)
			var size int
			for range 1000 {
				for _, d := range g.Trace(start).Docs {
					size += len(d)
				}
			}
			b.SetBytes(int64(size / 1000))
			b.ReportAllocs()
			var spans, docs int
			for b.Loop() {
				tr := g.Trace(start)
				spans += tr.Spans
				docs += len(tr.Docs)
			}
			b.ReportMetric(float64(spans)/b.Elapsed().Seconds(), "spans/s")
			b.ReportMetric(float64(docs)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}
