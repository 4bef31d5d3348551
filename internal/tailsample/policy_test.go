package tailsample

import (
	"runtime"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// TestSpanBytesEstimate: the byte estimate the caps use is close to what
// decoded demo documents really hold on the heap (the documents' bytes
// plus the growth of the live heap while decoding them): within 0.8× to
// 1.25× of the measured size, so that max_bytes means what it says.
func TestSpanBytesEstimate(t *testing.T) {
	gen := demo.NewGenerator(7, demo.GeneratorOptions{})
	var raw [][]byte
	for len(raw) < 5000 {
		for _, d := range gen.Trace(time.Now()).Docs {
			raw = append(raw, append([]byte(nil), d...))
		}
	}
	var mid, after runtime.MemStats
	docs := make([][]byte, len(raw))
	docBytes := 0
	for i, d := range raw {
		docs[i] = append([]byte(nil), d...) // as the UDP listener hands it over
		docBytes += cap(docs[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&mid)
	held := make([][]model.Span, 0, len(raw))
	for _, doc := range docs {
		spans, err := xray.Decode(doc)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, spans)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc-mid.HeapAlloc) + float64(docBytes)
	est := 0.0
	for _, spans := range held {
		for i := range spans {
			est += float64(spanBytes(&spans[i]))
		}
	}
	runtime.KeepAlive(held)
	ratio := est / heap
	t.Logf("documents %d B/doc, decoded %d B/doc", docBytes/len(raw), (after.HeapAlloc-mid.HeapAlloc)/uint64(len(raw)))
	t.Logf("%d documents: estimate %.0f B/doc, heap %.0f B/doc (ratio %.2f)", len(raw), est/float64(len(raw)), heap/float64(len(raw)), ratio)
	if ratio < 0.8 || ratio > 1.25 {
		t.Errorf("estimate/heap = %.2f, want within [0.8, 1.25]", ratio)
	}
}
