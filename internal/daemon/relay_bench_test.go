package daemon_test

import (
	"context"
	"net"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/daemon"
)

// BenchmarkUDPRelay measures the daemon in this process: datagrams of the
// demo topology written to its UDP socket, relayed in batches of 50 to an
// endpoint that counts them. One op is one document. The sender waits for
// the daemon every 500 datagrams so the kernel drops none; allocs/op are
// the whole process's (sender, daemon, HTTP on both sides) per document.
func BenchmarkUDPRelay(b *testing.B) {
	c := &counter{}
	up := httptest.NewServer(c)
	defer up.Close()
	cfg := daemonBenchConfig(b, up.URL)
	d, err := daemon.Start(cfg, testLoggerB(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	docs := benchDocs(b)
	conn, err := net.Dial("udp", d.UDPAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		doc := docs[i%len(docs)]
		bytes += int64(len(doc))
		conn.Write(doc)
		if i%500 == 499 {
			for d.Counts().Received < int64(i+1) {
				runtime.Gosched()
			}
		}
	}
	for c.docs.Load() < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

func daemonBenchConfig(b *testing.B, endpoint string) daemon.Config {
	cfg := daemon.Default()
	cfg.UDP, cfg.TCP, cfg.Endpoint = "127.0.0.1:0", "127.0.0.1:0", endpoint
	cfg.OTLPGRPC, cfg.OTLPHTTP = "", ""
	cfg.SpoolDir = b.TempDir()
	cfg.TelemetryInterval = 0
	return cfg
}
