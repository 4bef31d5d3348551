package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/fluoro-dev/fluoro/internal/otlp"
	"github.com/fluoro-dev/fluoro/internal/otlp/otlptest"
	"github.com/fluoro-dev/fluoro/internal/server"
)

// ingestMetrics reads the stored-document and dropped counters from /metrics.
func ingestMetrics(b *testing.B, addr string) (stored, dropped float64) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, _ := strconv.ParseFloat(val, 64)
		switch name {
		case "fluoro_ingest_spans_stored_total":
			stored = v
		case "fluoro_ingest_dropped_total":
			dropped = v
		}
	}
	return stored, dropped
}

// BenchmarkOTLPGRPCIngest measures OTLP/gRPC ingest into the store: 4
// clients send 512-span requests (realistic spans, random W3C trace ids)
// through a real gRPC connection to a running server, and each iteration
// ends when all its spans are in the store. The clients run in the same
// process, so their marshalling counts against the figure.
func BenchmarkOTLPGRPCIngest(b *testing.B) {
	for _, gc := range []int{100, 200} {
		// 200 is what `fluoro server` runs with (cmd/fluoro serverGCPercent);
		// 100 is the Go runtime's default, for comparison.
		b.Run(fmt.Sprintf("gogc=%d", gc), func(b *testing.B) {
			defer debug.SetGCPercent(debug.SetGCPercent(gc))
			benchmarkOTLPGRPCIngest(b)
		})
	}
}

func benchmarkOTLPGRPCIngest(b *testing.B) {
	const (
		clients   = 4
		perReq    = 512
		perClient = 50 // requests per client per iteration: 102,400 spans
	)
	cfg := server.Default()
	cfg.Data = b.TempDir()
	cfg.UDP, cfg.HTTP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.OTLPGRPC, cfg.OTLPHTTP = "127.0.0.1:0", ""
	cfg.Ingest.QueueItems, cfg.Ingest.QueueBytes = 1_000_000, 1<<30
	s, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	conn, err := grpc.NewClient(s.OTLPGRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	rng := rand.New(rand.NewPCG(7, 8))
	ctx := context.Background()

	total := 0.0
	var mallocs uint64
	var elapsed, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		reqs := make([][]ptraceotlp.ExportRequest, clients)
		docs := 0 // the store counts documents: a trace's spans from one request nest in one
		for c := range reqs {
			for range perClient {
				td := otlptest.Batch(rng, perReq, time.Now(), false)
				mapped, _ := otlp.NewMapper().Map(td, nil)
				docs += len(mapped)
				reqs[c] = append(reqs[c], ptraceotlp.NewExportRequestFromTraces(td))
			}
		}
		before, _ := ingestMetrics(b, s.HTTPAddr().String())
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		m0 := ms.Mallocs
		c0 := cpuTime()
		t0 := time.Now()
		b.StartTimer()
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, req := range reqs[c] {
					resp, err := client.Export(ctx, req)
					if err != nil || resp.PartialSuccess().RejectedSpans() != 0 {
						b.Errorf("export: %v (%s)", err, resp.PartialSuccess().ErrorMessage())
						return
					}
				}
			}()
		}
		wg.Wait()
		want := before + float64(docs)
		deadline := time.Now().Add(2 * time.Minute)
		for {
			stored, dropped := ingestMetrics(b, s.HTTPAddr().String())
			if dropped > 0 {
				b.Fatalf("%v spans dropped: the queue overflowed", dropped)
			}
			if stored >= want {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("stored %v of %v spans after 2 minutes", stored-before, want-before)
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.StopTimer()
		elapsed += time.Since(t0)
		cpu += cpuTime() - c0
		runtime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - m0
		total += clients * perClient * perReq
		b.StartTimer()
	}
	b.ReportMetric(total/elapsed.Seconds(), "spans/s")
	b.ReportMetric(float64(mallocs)/total, "allocs/span")
	// The machine is shared: spans per CPU-second the process (server and
	// clients) used says what the 2 cores would do if they were ours.
	if cpu > 0 {
		b.ReportMetric(total/cpu.Seconds(), "spans/cpu-s")
	}
	b.ReportMetric(0, "ns/op")
}
