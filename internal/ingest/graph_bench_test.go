package ingest

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/servicegraph"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
)

// benchmarkComplete measures ingest up to the last summary: decode, store,
// summarise every trace and, with graph, aggregate it into the service
// graph's buckets (OnComplete) and flush them. The clock stops when Close
// has completed every trace, so aggregation is inside the measurement. One
// op is one document.
func benchmarkComplete(b *testing.B, graph bool) {
	gen := demo.NewGenerator(1, demo.GeneratorOptions{})
	var docs [][]byte
	for len(docs) < b.N {
		tr := gen.Trace(time.Now())
		for _, d := range tr.Docs {
			docs = append(docs, append([]byte(nil), d...))
		}
	}
	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{Logger: log, TraceIdle: 200 * time.Millisecond}
	var svc *servicegraph.Service
	if graph {
		if svc, err = servicegraph.New(context.Background(), servicegraph.Config{Store: st, Logger: log}); err != nil {
			b.Fatal(err)
		}
		// Two groups besides Default, one evaluated on the summary, one on
		// the spans, as a deployment with groups would have.
		for _, g := range []servicegraph.Group{{Name: "faults", FilterExpression: "fault OR error"},
			{Name: "orders", FilterExpression: `service("orders") { responsetime > 0.1 }`}} {
			if _, err := svc.CreateGroup(context.Background(), g); err != nil {
				b.Fatal(err)
			}
		}
		cfg.OnComplete = svc.OnComplete
		svc.Start()
	}
	p, err := New(st, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		for {
			if n, _ := p.q.len(); n < p.cfg.QueueItems/2 {
				break
			}
			runtime.Gosched()
		}
		p.Raw(docs[i])
	}
	if err := p.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	if svc != nil {
		if err := svc.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "docs/s")
	// The machine is shared: CPU time per document is steadier than the
	// wall-clock rate.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1000/float64(b.N), "cpu-µs/doc")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPipelineComplete is ingest without the service graph, and
// BenchmarkPipelineCompleteGraph with it (Default plus two groups): the
// difference is what pre-aggregation costs.
func BenchmarkPipelineComplete(b *testing.B)      { benchmarkComplete(b, false) }
func BenchmarkPipelineCompleteGraph(b *testing.B) { benchmarkComplete(b, true) }
