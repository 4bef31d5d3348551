package tailsample_test

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/ingest"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/tailsample"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func demoDocs(n int) [][]byte {
	gen := demo.NewGenerator(1, demo.GeneratorOptions{})
	var docs [][]byte
	for len(docs) < n {
		tr := gen.Trace(time.Now())
		for _, d := range tr.Docs {
			docs = append(docs, append([]byte(nil), d...))
		}
	}
	return docs
}

// BenchmarkIngest measures the whole ingest path behind the socket, as
// internal/ingest's BenchmarkPipeline does (decode demo documents, store
// them, summarise every trace), without and with the tail sampler. One op
// is one segment document; the pipeline is closed inside the timer, so the
// sampler's last decisions and the last summaries are counted. cpu-ns/doc
// is the process's user+system CPU time per document, steadier than wall
// time on a shared machine. "keep-all" keeps every trace (rate 1), so the
// store does the same work as without sampling and the difference is the
// sampler's own cost. "keep-all-filter" adds a filter policy with an
// annotation term, which spares traces without that annotation their
// summary; "keep-all-filter-scan" one without such a term, evaluated on the
// summary of every trace no earlier policy kept (the worst case). "rate-0.1"
// is a realistic setting, where the store writes fewer spans.
func BenchmarkIngest(b *testing.B) {
	for _, v := range []struct {
		name   string
		tail   bool
		rate   float64
		expr   string
		noHint bool // the sink does not take the sampler's summaries
	}{{"no-sampler", false, 0, "", false}, {"keep-all", true, 1, "", false}, {"keep-all-filter", true, 1, `annotation.tier = "gold"`, false},
		{"keep-all-filter-scan", true, 1, `http.url CONTAINS "/admin"`, false},
		{"keep-all-filter-scan-nohint", true, 1, `http.url CONTAINS "/admin"`, true}, {"rate-0.1", true, 0.1, "", false}} {
		b.Run(v.name, func(b *testing.B) {
			docs := demoDocs(b.N)
			st, err := embedded.Open(b.TempDir(), embedded.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			reg := prometheus.NewRegistry()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			cfg := ingest.Config{Logger: log, Registerer: reg, QueueItems: len(docs) + 1, QueueBytes: 1 << 40}
			var pipe *ingest.Pipeline
			if v.tail {
				tc := tailsample.Default()
				tc.Enabled, tc.Rate = true, v.rate
				if v.expr != "" {
					// Rate 1 is checked last: every trace not kept as an error reaches the filter.
					tc.Filters = []tailsample.FilterPolicy{{Name: "f", Expression: v.expr}}
				}
				var sink tailsample.Sink = &pipeSink{&pipe}
				if v.noHint {
					sink = tailsample.SinkFunc(func(ctx context.Context, policy string, spans []model.Span) error {
						return pipe.Write(ctx, policy, spans)
					})
				}
				s, err := tailsample.New(context.Background(), tc, sink, tailsample.Options{Logger: log, Registerer: reg})
				if err != nil {
					b.Fatal(err)
				}
				s.Start()
				cfg.Sampler = s
			}
			if pipe, err = ingest.New(st, cfg); err != nil {
				b.Fatal(err)
			}
			if err := pipe.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			runtime.GC()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				pipe.Raw(docs[i])
			}
			if err := pipe.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/doc")
			if d := gathered(reg, "fluoro_ingest_dropped_total"); d > 0 {
				b.Fatalf("%v documents dropped by the queue", d)
			}
		})
	}
}

// gathered sums the values of a counter in reg.
func gathered(reg *prometheus.Registry, name string) float64 {
	mfs, _ := reg.Gather()
	v := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				v += m.GetCounter().GetValue()
			}
		}
	}
	return v
}

// BenchmarkBufferAt50k simulates, on an injected clock, 15 seconds of
// 50,000 demo segment documents per second (decoded; ~3.6 segments and
// subsegments each) arriving in 10 ms batches, with the default 10 s
// decision wait, and reports the peak of the buffer's byte estimate
// against its cap and the share of traces decided early because the cap
// was reached: at the default 256 MiB cap, and at 2 GiB, enough to hold
// the full wait. (TestSpanBytesEstimate checks the estimate against the
// heap; the Go heap itself is not reported here because the simulated
// seconds share one pool of decoded documents.) One op is one run.
func BenchmarkBufferAt50k(b *testing.B) {
	const perSecond, seconds, batches = 50_000, 15, 100
	var pool []model.Span
	for _, d := range demoDocs(perSecond) {
		spans, err := xray.Decode(d)
		if err != nil {
			b.Fatal(err)
		}
		pool = append(pool, spans...)
	}
	for _, v := range []struct {
		name string
		cap  int64
	}{{"cap-256MiB", 256 << 20}, {"cap-2GiB", 2 << 30}} {
		b.Run(v.name, func(b *testing.B) {
			var peakBuf int64
			var forcedShare float64
			for range b.N {
				clock := &fakeClock{t: time.Unix(epoch, 0)}
				var kept atomic.Int64
				sink := tailsample.SinkFunc(func(_ context.Context, _ string, spans []model.Span) error {
					kept.Add(int64(len(spans)))
					return nil
				})
				reg := prometheus.NewRegistry()
				tc := tailsample.Default()
				tc.Enabled, tc.Rate, tc.MaxBytes, tc.MaxTraces = true, 0.1, v.cap, 10_000_000
				s, err := tailsample.New(context.Background(), tc, sink, tailsample.Options{Now: clock.now, Registerer: reg,
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					b.Fatal(err)
				}
				batch := make([]model.Span, 0, len(pool)/batches+1)
				for sec := range seconds {
					for k := range batches {
						batch = batch[:0]
						for _, sp := range pool[k*len(pool)/batches : (k+1)*len(pool)/batches] {
							// A new trace id per simulated second.
							binary.BigEndian.PutUint32(sp.TraceID[4:8], binary.BigEndian.Uint32(sp.TraceID[4:8])^uint32(sec+1))
							batch = append(batch, sp)
						}
						s.Offer(batch)
						_, buf := s.Buffered()
						peakBuf = max(peakBuf, buf)
						clock.advance(time.Second / batches)
						if k%10 == 9 {
							s.Poll(context.Background())
						}
					}
				}
				s.Close(context.Background())
				forcedShare = gathered(reg, "fluoro_tailsample_forced_decisions_total") / gathered(reg, "fluoro_tailsample_traces_total")
			}
			b.ReportMetric(float64(peakBuf)/(1<<20), "peak-buffered-MiB")
			b.ReportMetric(float64(v.cap)/(1<<20), "cap-MiB")
			b.ReportMetric(forcedShare*100, "forced-%")
		})
	}
}

// BenchmarkSampler measures the sampler alone, per segment document:
// buffering (Offer), deciding (Poll after the wait: gathering facts, the
// policies, the hash) and handing kept spans to a sink that discards them.
// Demo documents, decoded once; errors and latency policies on, rate 0.1;
// "with-filter" adds a filter on an annotation (checked on the spans first),
// "with-filter-scan" one that needs every undecided trace's summary. cpu-ns/doc is the process's CPU time per document
// (garbage collection included), to compare with BenchmarkIngest's.
func BenchmarkSampler(b *testing.B) {
	var pool []model.Span
	for _, d := range demoDocs(20_000) {
		spans, err := xray.Decode(d)
		if err != nil {
			b.Fatal(err)
		}
		pool = append(pool, spans...)
	}
	for _, v := range []struct {
		name    string
		filters []tailsample.FilterPolicy
	}{{"policies", nil}, {"with-filter", []tailsample.FilterPolicy{{Name: "vip", Expression: `annotation.tier = "gold"`}}},
		{"with-filter-scan", []tailsample.FilterPolicy{{Name: "admin", Expression: `http.url CONTAINS "/admin"`}}}} {
		b.Run(v.name, func(b *testing.B) {
			clock := &fakeClock{t: time.Unix(epoch, 0)}
			tc := tailsample.Default()
			tc.Enabled, tc.Rate = true, 0.1
			tc.Latency = []tailsample.LatencyPolicy{{Threshold: 2 * time.Second}, {Threshold: 500 * time.Millisecond, Service: "pay*"}}
			tc.Filters, tc.MaxBytes = v.filters, 4<<30 // the decision path, not the forced one
			s, err := tailsample.New(context.Background(), tc, tailsample.SinkFunc(func(context.Context, string, []model.Span) error { return nil }),
				tailsample.Options{Now: clock.now, Registerer: prometheus.NewRegistry()})
			if err != nil {
				b.Fatal(err)
			}
			batch := make([]model.Span, 1)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := range b.N {
				sp := pool[i%len(pool)]
				binary.BigEndian.PutUint32(sp.TraceID[4:8], binary.BigEndian.Uint32(sp.TraceID[4:8])^uint32(i/len(pool)+1))
				batch[0] = sp
				s.Offer(batch)
				if i%1000 == 999 {
					clock.advance(100 * time.Millisecond)
					s.Poll(context.Background())
				}
			}
			s.Close(context.Background())
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/doc")
		})
	}
}

// pipeSink is the server's sink: kept spans, and the sampler's summaries of
// them, go to the ingest pipeline.
type pipeSink struct{ pipe **ingest.Pipeline }

func (p *pipeSink) Write(ctx context.Context, policy string, spans []model.Span) error {
	return (*p.pipe).Write(ctx, policy, spans)
}

func (p *pipeSink) HintSummary(id model.TraceID, sum *model.Summary, n int) {
	(*p.pipe).HintSummary(id, sum, n)
}
