package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/servicegraph"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// graphBenchDay is 24 hours of pre-aggregated demo traffic at 1 million
// traces an hour, in the store of a running API, built once.
type graphBenchDay struct {
	srv *Server
	end float64
	// tracesPerMinute is what each stored minute bucket counts.
	tracesPerMinute int64
	bucketBytes     int
}

var benchDay *graphBenchDay

// setupGraphBench aggregates 10 × 1,000 distinct demo traces into 10 base
// minute buckets, then stores 1,440 minutes, each a base bucket merged 17
// times: ~17,000 traces a minute, ~1 million an hour; and the hourly
// roll-ups of those minutes, as ingest writes them. What a bucket costs to
// read depends on its nodes, edges and histogram bins, which 1,000 demo
// traces already fill (the demo topology has 20 nodes, 21 edges); more
// traces only grow the counts.
func setupGraphBench(b *testing.B) *graphBenchDay {
	if benchDay != nil {
		return benchDay
	}
	dir, err := tempDir()
	if err != nil {
		b.Fatal(err)
	}
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const minute = servicegraph.BucketSeconds
	end := float64(time.Now().Unix() / minute * minute)
	var bases [][]byte
	for seed := range int64(10) {
		gen := demo.NewGenerator(seed, demo.GeneratorOptions{})
		bk := servicegraph.NewBucket()
		for range 1000 {
			tr := gen.Trace(time.Unix(int64(end), 0))
			var spans []*model.Span
			for _, d := range tr.Docs {
				got, err := xray.Decode(d)
				if err != nil {
					b.Fatal(err)
				}
				for j := range got {
					spans = append(spans, &got[j])
				}
			}
			spans = trace.Dedupe(spans)
			sum := trace.Summarize(spans)
			bk.AddTrace(trace.BuildGraph(spans), sum.Duration())
		}
		enc := bk.Encode(nil)
		big := servicegraph.NewBucket()
		for range 17 {
			if err := big.DecodeMerge(enc); err != nil {
				b.Fatal(err)
			}
		}
		bases = append(bases, big.Encode(nil))
	}
	var batch []store.GraphBucket
	hours := map[uint32]*servicegraph.Bucket{} // the hourly roll-ups ingest keeps beside the minutes
	for m := 1; m <= 1440; m++ {
		start := uint32(end) - uint32(m*minute)
		batch = append(batch, store.GraphBucket{Start: start, Group: servicegraph.DefaultGroupID, Data: bases[m%len(bases)]})
		h := start / servicegraph.HourSeconds * servicegraph.HourSeconds
		if hours[h] == nil {
			hours[h] = servicegraph.NewBucket()
		}
		if err := hours[h].DecodeMerge(bases[m%len(bases)]); err != nil {
			b.Fatal(err)
		}
	}
	for h, bk := range hours {
		batch = append(batch, store.GraphBucket{Start: h, Group: servicegraph.HourGroup(servicegraph.DefaultGroupID), Data: bk.Encode(nil)})
	}
	if err := st.PutGraphBuckets(ctx, batch); err != nil {
		b.Fatal(err)
	}
	if err := st.Flush(); err != nil { // read from tables, as hours-old buckets are
		b.Fatal(err)
	}
	svc, err := servicegraph.New(ctx, servicegraph.Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	srv := New(Config{Store: st, ServiceGraph: svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	benchDay = &graphBenchDay{srv: srv, end: end, tracesPerMinute: 17_000, bucketBytes: len(bases[0])}
	return benchDay
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tempDir outlives a single benchmark run so the day is built once per
// process; the OS cleans its temporary directory.
func tempDir() (string, error) { return os.MkdirTemp("", "fluoro-graph-bench-") }

func benchGetServiceGraph(b *testing.B, hours int) {
	d := setupGraphBench(b)
	body := []byte(fmt.Sprintf(`{"StartTime": %f, "EndTime": %f}`, d.end-float64(hours*3600), d.end))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	var size int
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		d.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ServiceGraph", bytes.NewReader(body)))
		if rec.Code != http.StatusOK {
			b.Fatalf("GetServiceGraph: %d %s", rec.Code, rec.Body)
		}
		size = rec.Body.Len()
	}
	b.StopTimer()
	// The machine is shared: CPU time per call says what the call costs
	// when wall-clock time is inflated by other processes.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	if size < 1000 {
		b.Fatalf("answer of %d bytes is too small to be a graph", size)
	}
	b.ReportMetric(float64(hours)*60*float64(d.tracesPerMinute), "traces")
	b.ReportMetric(float64(d.bucketBytes), "bucket-B")
	b.ReportMetric(float64(size), "answer-B")
}

// BenchmarkGetServiceGraphHour is GetServiceGraph over the last hour of 1
// million traces (60 minute buckets), through the HTTP handler.
func BenchmarkGetServiceGraphHour(b *testing.B) { benchGetServiceGraph(b, 1) }

// BenchmarkGetServiceGraphDay is the same over 24 hours (1,440 buckets).
func BenchmarkGetServiceGraphDay(b *testing.B) { benchGetServiceGraph(b, 24) }
