package ingest

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
)

// BenchmarkPipeline measures the whole ingest path behind the socket: decode
// and validate demo documents (SDK-shaped, ~320 B of JSON per span), write
// them to the embedded store, and summarise every trace. One op is one
// document. It reports documents/s, spans/s and the store's bytes per span.
func BenchmarkPipeline(b *testing.B) {
	gen := demo.NewGenerator(1, demo.GeneratorOptions{})
	var docs [][]byte
	spans := 0
	// Trace ids carry their start second: start traces at about the rate
	// they are ingested, so that keys arrive in time order as in a server.
	t0 := time.Now()
	for len(docs) < b.N { // every document once: a repeated trace would reopen it
		tr := gen.Trace(t0.Add(time.Duration(len(docs)) * time.Second / 30_000))
		for _, d := range tr.Docs {
			docs = append(docs, append([]byte(nil), d...))
		}
		spans += tr.Spans
	}
	spansPerDoc := float64(spans) / float64(len(docs))
	bytes := 0
	for _, d := range docs {
		bytes += len(d)
	}
	b.SetBytes(int64(bytes / len(docs)))

	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p, err := New(st, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for {
			if n, _ := p.q.len(); n < p.cfg.QueueItems/2 {
				break
			}
			runtime.Gosched()
		}
		p.Raw(docs[i])
	}
	for testutil.ToFloat64(p.stored)+testutil.ToFloat64(p.rejected.WithLabelValues("x")) < float64(b.N) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if d := testutil.ToFloat64(p.dropped); d > 0 {
		b.Fatalf("%v documents dropped", d)
	}
	spansAmp, indexAmp := st.WriteAmp()
	b.ReportMetric(spansAmp, "spans-wamp")
	b.ReportMetric(indexAmp, "index-wamp")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "docs/s")
	b.ReportMetric(float64(b.N)*spansPerDoc/elapsed.Seconds(), "spans/s")
	if err := p.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	if b.N >= 100_000 {
		st.Flush()
		st.Compact()
		b.ReportMetric(float64(st.Stats().TableBytes)/(float64(b.N)*spansPerDoc), "table-B/span")
		b.ReportMetric(float64(st.Stats().TableBytes)/float64(b.N), "table-B/doc")
		// Then as the server keeps finished traces: moved to blocks.
		moveStart := time.Now()
		ms, err := st.MoveToBlocks(context.Background(), uint32(time.Now().Add(time.Hour).Unix()))
		if err != nil {
			b.Fatal(err)
		}
		moved := time.Since(moveStart)
		st.Flush()
		st.Compact()
		b.ReportMetric(float64(st.Stats().TableBytes)/(float64(b.N)*spansPerDoc), "blocks-B/span")
		b.ReportMetric(float64(ms.Bytes)/(float64(b.N)*spansPerDoc), "blockfiles-B/span")
		b.ReportMetric(float64(ms.Documents)/moved.Seconds(), "moved-docs/s")
		b.ReportMetric(float64(ms.SpanBytes)/(float64(b.N)*spansPerDoc), "blockspans-B/span")
		b.ReportMetric(float64(ms.SummaryBytes)/(float64(b.N)*spansPerDoc), "blocksums-B/span")
		b.ReportMetric(float64(ms.PostingBytes)/(float64(b.N)*spansPerDoc), "blockpostings-B/span")
	}
}
