package filterexpr

import "testing"

// A group filter of the kind users write: a service's faults or slowness,
// an annotation, URL prefixes, a negation.
const benchExpr = `service("api.example.com") { fault = true OR responsetime > 2.5 } AND annotation.account = "12345" ` +
	`AND http.url BEGINSWITH "http://api.example.com/" AND http.method = "POST" AND !partial ` +
	`AND (http.status >= 500 OR user CONTAINS "test")`

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchExpr)))
	for b.Loop() {
		if _, err := Parse(benchExpr); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	e, err := Parse(benchExpr)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = e.String()
	}
}
