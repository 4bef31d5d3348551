package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/sampling"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
)

// BenchmarkSamplingTargets measures POST /SamplingTargets through the
// handler (JSON in and out, no network) for a client reporting all 25 rules
// of a full account while 1,000 clients report every rule, taking turns
// every 10 ms of a fake clock as SDKs polling every 10 s would. It reports
// the median and p99 latency of a call.
func BenchmarkSamplingTargets(b *testing.B) {
	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	now := time.Unix(1_750_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tick := func() { mu.Lock(); now = now.Add(10 * time.Millisecond); mu.Unlock() }
	svc, err := sampling.Open(context.Background(), sampling.Config{Objects: st.Objects(), Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	names := []string{sampling.DefaultRuleName}
	for i := range sampling.MaxRules - 1 {
		r := sampling.DefaultRule()
		r.RuleName, r.Priority, r.ReservoirSize = fmt.Sprintf("rule-%02d", i), 100+i, 10+7*i
		if _, err := svc.Create(context.Background(), r, "", nil); err != nil {
			b.Fatal(err)
		}
		names = append(names, r.RuleName)
	}
	h := New(Config{Store: st, Sampling: svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	const clients = 1000
	bodies := make([][]byte, clients)
	for c := range bodies {
		var docs []string
		for k, name := range names {
			docs = append(docs, fmt.Sprintf(`{"RuleName":%q,"ClientID":"%024x","RequestCount":%d,"SampledCount":3,"BorrowCount":0,"Timestamp":1750000000}`,
				name, c, 50+(c*31+k*17)%400))
		}
		bodies[c] = []byte(`{"SamplingStatisticsDocuments":[` + strings.Join(docs, ",") + `]}`)
	}
	call := func(c int) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/SamplingTargets", bytes.NewReader(bodies[c])))
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	for c := range clients {
		tick()
		call(c)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tick()
		start := time.Now()
		call(i % clients)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs/call")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs/call")
}
