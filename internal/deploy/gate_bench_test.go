package deploy

import (
	"context"
	"io"
	"log/slog"
	"os"
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

// BenchmarkGate evaluates one gate over a store holding a day of the demo
// topology's service-graph buckets (1,440 minutes of ~17,000 traces each,
// and their hourly roll-ups, as internal/api's GetServiceGraph benchmark
// lays them out), marker at midday:
//
//   - window=15m reads 30 minute buckets (the default gate);
//   - window=12h reads the whole day: 24 hourly roll-ups (the marker is on
//     an hour).
func BenchmarkGate(b *testing.B) {
	dir, err := os.MkdirTemp("", "deploy-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	end := uint32(time.Now().Unix()) / servicegraph.HourSeconds * servicegraph.HourSeconds
	var bases [][]byte
	for seed := range int64(4) {
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
	hours := map[uint32]*servicegraph.Bucket{}
	for m := 1; m <= 1440; m++ {
		start := end - uint32(m*servicegraph.BucketSeconds)
		data := bases[m%len(bases)]
		batch = append(batch, store.GraphBucket{Start: start, Group: servicegraph.DefaultGroupID, Data: data})
		h := start / servicegraph.HourSeconds * servicegraph.HourSeconds
		if hours[h] == nil {
			hours[h] = servicegraph.NewBucket()
		}
		if err := hours[h].DecodeMerge(data); err != nil {
			b.Fatal(err)
		}
	}
	for h, bk := range hours {
		batch = append(batch, store.GraphBucket{Start: h, Group: servicegraph.HourGroup(servicegraph.DefaultGroupID), Data: bk.Encode(nil)})
	}
	if err := st.PutGraphBuckets(ctx, batch); err != nil {
		b.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		b.Fatal(err)
	}
	graph, err := servicegraph.New(ctx, servicegraph.Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Objects: st.Objects(), Graph: graph, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	d, err := s.Create(ctx, Deployment{Service: "api-gateway", Version: "1", Time: time.Unix(int64(end)-12*3600, 0)})
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range []time.Duration{15 * time.Minute, 12 * time.Hour} {
		b.Run("window="+w.String(), func(b *testing.B) {
			th := DefaultThresholds()
			th.Window = w
			b.ReportAllocs()
			var r Result
			for b.Loop() {
				if r, err = s.Gate(ctx, d.ID, th); err != nil {
					b.Fatal(err)
				}
			}
			if r.Verdict != Pass || r.Before.Requests == 0 {
				b.Fatalf("gate over identical traffic: %s (%d requests before)", r.Summary, r.Before.Requests)
			}
			b.ReportMetric(float64(r.Before.Requests+r.After.Requests), "requests/gate")
		})
	}
}
