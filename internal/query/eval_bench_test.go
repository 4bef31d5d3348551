package query_test

import (
	"testing"

	"github.com/fluoro-dev/fluoro/internal/query"
)

// BenchmarkMatch evaluates one expression over the two-services trace. A
// fresh Trace per iteration, as the server makes per stored trace, so the
// service filter pays for building the graph.
func BenchmarkMatch(b *testing.B) {
	spans, sum := decode(b, twoServices...)
	for _, bc := range []struct{ name, expr string }{
		{"summary", `ok !partial duration < 3 AND http.url CONTAINS "/v2/" AND annotation.age > 29`},
		{"service", `service("backend.example.com") { fault AND responsetime > 1 } AND edge("front", "games") { error }`},
	} {
		e := parse(b, bc.expr)
		want := query.Match(e, &query.Trace{Summary: &sum, Spans: spans})
		if !want {
			b.Fatalf("Match(%s) = false; the benchmark should measure a match", bc.expr)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !query.Match(e, &query.Trace{Summary: &sum, Spans: spans}) {
					b.Fatal("no match")
				}
			}
		})
	}
}
