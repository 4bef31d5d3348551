package daemon

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// BenchmarkAddDocument measures the relay's hot path alone: a document
// escaped into the current batch, a sealed batch handed to a sender (here
// one that recycles it at once). One op is one document of ~1.2 KB; the
// target is no allocation.
func BenchmarkAddDocument(b *testing.B) {
	cfg := Default()
	cfg.Endpoint = "http://127.0.0.1:1"
	m := newMetrics(nil)
	r := newRelay(cfg, m, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for bt := range r.queue {
			r.release(bt)
		}
	}()
	doc := []byte(`{"trace_id":"1-6b0752ef-f9b939e4acac410a40e06b36","id":"a000000000000001","name":"orders","start_time":1795642095.123456,"end_time":1795642095.223456,"http":{"request":{"method":"POST","url":"https://orders.example/api/v1/orders","user_agent":"Mozilla/5.0"},"response":{"status":200,"content_length":512}},"aws":{"xray":{"sdk":"X-Ray for Go","sdk_version":"1.8.5"}},"annotations":{"customer":"c-1"},"metadata":{"default":{"pad":"` + strings.Repeat("x", 700) + `"}}}`)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r.add(doc)
	}
	b.StopTimer()
	r.qmu.Lock()
	close(r.queue)
	r.qmu.Unlock()
	wg.Wait()
}
