package enginecmp

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// engine is what the harness asks of a candidate: the operations of the
// trace workload, over the key layout described in the package comment.
type engine interface {
	// apply writes the records as one batch, without waiting for fsync.
	apply(batch []record) error
	// flush moves everything written into table files.
	flush() error
	// compact runs a full manual compaction.
	compact() error
	// fetch calls fn with the value of every span of trace id, in key order.
	fetch(id model.TraceID, fn func(val []byte)) error
	// scanSummaries reads the summaries of traces started in [from, to),
	// newest first, and returns how many it read.
	scanSummaries(from, to uint32) (int, error)
	close() error
}

// dropMethod removes the spans and summaries of traces started in
// [from, to).
type dropMethod struct {
	name string
	// drop returns the time until the space was released.
	drop func(e engine, from, to uint32) (time.Duration, error)
}

// variant is one engine with one set of options.
type variant struct {
	name string
	open func(dir string, cacheBytes int64) (engine, error)
	// drops are tried in turn on consecutive tenths of the data, oldest
	// first.
	drops []dropMethod
}

const (
	warmCache      = 256 << 20
	realisticCache = 64 << 20
	warmSet        = 2000
	scanWindow     = 3600 // seconds of trace start times per summary scan
	scanWindows    = 20
)

func variants() []variant {
	return append(pebbleVariants(), badgerVariants()...)
}

// BenchmarkEngine runs the whole workload once per iteration for each
// variant; run it with -benchtime 1x. For peak RSS, run each variant in its
// own process (see docs/engine-comparison.md): memory a previous variant
// allocated in C or retained in Go counts in the next one's RSS.
func BenchmarkEngine(b *testing.B) {
	for _, v := range variants() {
		b.Run(v.name, func(b *testing.B) {
			ds := getDataset(b, *flagSpans)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				runWorkload(b, v, ds)
			}
		})
	}
}

func runWorkload(b *testing.B, v variant, ds *dataset) {
	dir := filepath.Join(workDir(b), "db")
	defer os.RemoveAll(dir)
	runtime.GC()
	debug.FreeOSMemory()

	// Ingest.
	e, err := v.open(dir, realisticCache)
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	mem := startMemSampler()
	t0 := time.Now()
	err = ds.replay(e.apply)
	ingest := time.Since(t0)
	peakRSS, peakHeap := mem.stop()
	if err != nil {
		b.Fatalf("ingest: %v", err)
	}
	t0 = time.Now()
	if err := e.flush(); err != nil {
		b.Fatalf("flush: %v", err)
	}
	flushDur := time.Since(t0)
	// Sizes are taken after Close, when files made obsolete by compactions
	// are gone.
	if err := e.close(); err != nil {
		b.Fatalf("close: %v", err)
	}
	flushed := tableBytes(b, dir)
	if e, err = v.open(dir, realisticCache); err != nil {
		b.Fatalf("reopen: %v", err)
	}
	t0 = time.Now()
	if err := e.compact(); err != nil {
		b.Fatalf("compact: %v", err)
	}
	compactDur := time.Since(t0)
	if err := e.close(); err != nil {
		b.Fatalf("close: %v", err)
	}
	compacted := tableBytes(b, dir)
	b.Logf("%s after compaction, bytes by file type: %v", v.name, dirUsage(b, dir))
	spans := float64(ds.spans)
	b.ReportMetric(spans/ingest.Seconds(), "spans/s")
	b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(flushDur.Seconds(), "flush-s")
	b.ReportMetric(float64(flushed)/spans, "B/span-flushed")
	b.ReportMetric(compactDur.Seconds(), "compact-s")
	b.ReportMetric(float64(compacted)/spans, "B/span-compacted")

	r := rand.New(rand.NewPCG(uint64(*flagSeed), 7))

	// Fetch with a warm cache: a hot set that fits in it.
	e, err = v.open(dir, warmCache)
	if err != nil {
		b.Fatalf("reopen: %v", err)
	}
	hot := make([]traceInfo, warmSet)
	for i := range hot {
		hot[i] = ds.traces[r.IntN(len(ds.traces))]
	}
	if _, err := timeFetches(e, hot, len(hot), r); err != nil {
		b.Fatal(err)
	}
	lat, err := timeFetches(e, hot, *flagFetches, r)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(percentile(lat, 0.50), "warm-p50-us")
	b.ReportMetric(percentile(lat, 0.99), "warm-p99-us")
	if err := e.close(); err != nil {
		b.Fatal(err)
	}

	// Fetch uniformly random traces through a 64 MiB cache.
	e, err = v.open(dir, realisticCache)
	if err != nil {
		b.Fatalf("reopen: %v", err)
	}
	// Warm up: open tables and load their index blocks.
	if _, err := timeFetches(e, ds.traces, warmSet, r); err != nil {
		b.Fatal(err)
	}
	lat, err = timeFetches(e, ds.traces, *flagFetches, r)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(percentile(lat, 0.50), "rand-p50-us")
	b.ReportMetric(percentile(lat, 0.99), "rand-p99-us")

	// Scan summaries by time range, newest first.
	first, last := ds.traces[0].id.Epoch(), ds.traces[len(ds.traces)-1].id.Epoch()
	var scanned int
	t0 = time.Now()
	for range scanWindows {
		from := first + uint32(r.Int64N(int64(last-first-scanWindow)))
		n, err := e.scanSummaries(from, from+scanWindow)
		if err != nil {
			b.Fatal(err)
		}
		scanned += n
	}
	b.ReportMetric(float64(scanned)/time.Since(t0).Seconds(), "summaries/s")

	// Drop consecutive tenths of the data, oldest first.
	for i, d := range v.drops {
		from, to := ds.epochAt(float64(i)/10), ds.epochAt(float64(i+1)/10)
		before := tableBytes(b, dir)
		took, err := d.drop(e, from, to)
		if err != nil {
			b.Fatalf("drop with %s: %v", d.name, err)
		}
		after := settledTableBytes(b, dir)
		b.Logf("%s: drop with %s: table bytes %d → %d in %v", v.name, d.name, before, after, took)
		b.ReportMetric(took.Seconds(), "drop-"+d.name+"-s")
		b.ReportMetric(100*float64(before-after)/float64(compacted), "drop-"+d.name+"-%freed")
		// The dropped traces must be gone and the next ones still there.
		next := int(float64(i+1) / 10 * float64(len(ds.traces))) // first trace kept
		probe := ds.traces[next-1]
		for j := next - 1; probe.id.Epoch() >= to; j-- {
			probe = ds.traces[j]
		}
		if n := countSpans(b, e, probe.id); n != 0 {
			b.Fatalf("drop with %s: trace %v still has %d spans", d.name, probe.id, n)
		}
		probe = ds.traces[next]
		if n := countSpans(b, e, probe.id); n != probe.keys {
			b.Fatalf("drop with %s: trace %v has %d documents, want %d", d.name, probe.id, n, probe.keys)
		}
	}
	if err := e.close(); err != nil {
		b.Fatal(err)
	}
}

func countSpans(b *testing.B, e engine, id model.TraceID) int {
	var n int
	if err := e.fetch(id, func([]byte) { n++ }); err != nil {
		b.Fatal(err)
	}
	return n
}

// timeFetches fetches n traces picked at random from set and returns each
// fetch's latency in microseconds. It checks every fetch returns all spans.
func timeFetches(e engine, set []traceInfo, n int, r *rand.Rand) ([]float64, error) {
	lat := make([]float64, 0, n)
	var got int
	var bytes int
	fn := func(v []byte) { got++; bytes += len(v) }
	for range n {
		t := set[r.IntN(len(set))]
		got = 0
		t0 := time.Now()
		if err := e.fetch(t.id, fn); err != nil {
			return nil, fmt.Errorf("fetch %v: %w", t.id, err)
		}
		lat = append(lat, float64(time.Since(t0).Nanoseconds())/1e3)
		if got != t.keys {
			return nil, fmt.Errorf("fetch %v: got %d documents, want %d", t.id, got, t.keys)
		}
	}
	return lat, nil
}

func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// tableBytes is the disk space (allocated blocks, so preallocated or sparse
// files count for what they use) of the table and value-log files under
// dir: what grows with the data, unlike write-ahead logs and manifests.
func tableBytes(tb testing.TB, dir string) int64 {
	u := dirUsage(tb, dir)
	return u[".sst"] + u[".vlog"] + u[".blob"]
}

// settledTableBytes waits until tableBytes stops changing (files deleted
// after a compaction go asynchronously) and returns it.
func settledTableBytes(tb testing.TB, dir string) int64 {
	n, since := tableBytes(tb, dir), time.Now()
	for deadline := time.Now().Add(10 * time.Second); time.Since(since) < 500*time.Millisecond && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if m := tableBytes(tb, dir); m != n {
			n, since = m, time.Now()
		}
	}
	return n
}

// dirUsage is the disk space the files under dir occupy by file name
// extension.
func dirUsage(tb testing.TB, dir string) map[string]int64 {
	n := map[string]int64{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if os.IsNotExist(err) {
				return nil // deleted by a compaction meanwhile
			}
			return err
		}
		ext := filepath.Ext(path)
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			n[ext] += st.Blocks * 512
		} else {
			n[ext] += info.Size()
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("measure %s: %v", dir, err)
	}
	return n
}

// memSampler records the peak RSS and Go heap while it runs.
type memSampler struct {
	done     chan struct{}
	wg       sync.WaitGroup
	rss      int64
	heap     uint64
	pageSize int64
}

func startMemSampler() *memSampler {
	m := &memSampler{done: make(chan struct{}), pageSize: int64(os.Getpagesize())}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	sample := func() {
		if rss := m.readRSS(); rss > m.rss {
			m.rss = rss
		}
		metrics.Read(samples)
		if h := samples[0].Value.Uint64(); h > m.heap {
			m.heap = h
		}
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			sample()
			select {
			case <-m.done:
				sample()
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func (m *memSampler) stop() (rss int64, heap uint64) {
	close(m.done)
	m.wg.Wait()
	return m.rss, m.heap
}

func (m *memSampler) readRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * m.pageSize
}
