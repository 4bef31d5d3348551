package enginecmp

import (
	"context"
	"log"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"

	"github.com/fluoro-dev/fluoro/internal/model"
)

func pebbleVariants() []variant {
	return []variant{
		{
			name: "pebble-default",
			open: func(dir string, cache int64) (engine, error) {
				return openPebble(dir, cache, func(o *pebble.Options) {})
			},
			// The default format major version predates virtual sstables,
			// so Excise is not available.
			drops: []dropMethod{
				{"deleterange", pebbleDeleteRange},
				{"deleterange+compact", pebbleDeleteRangeCompact},
			},
		},
		{
			name: "pebble-tuned",
			open: func(dir string, cache int64) (engine, error) {
				return openPebble(dir, cache, tunePebble)
			},
			drops: []dropMethod{
				{"deleterange", pebbleDeleteRange},
				{"excise", pebbleExcise},
				{"deleterange+compact", pebbleDeleteRangeCompact},
			},
		},
		{
			// As tuned, with 256 KiB data blocks: denser, slower fetches.
			name: "pebble-tuned-256k",
			open: func(dir string, cache int64) (engine, error) {
				return openPebble(dir, cache, func(o *pebble.Options) {
					tunePebble(o)
					for i := range o.Levels {
						o.Levels[i].BlockSize = 256 << 10
						o.Levels[i].IndexBlockSize = 256 << 10
					}
				})
			},
			drops: []dropMethod{
				{"deleterange", pebbleDeleteRange},
			},
		},
	}
}

// tunePebble sets the options the comparison recommends; each is explained
// in docs/engine-comparison.md.
func tunePebble(o *pebble.Options) {
	// Columnar blocks, MinLZ, virtual sstables (Excise) and the newest
	// table format.
	o.FormatMajorVersion = pebble.FormatNewest
	// Fewer, larger flushes: 32 MiB memtables (default 4 MiB), up to four
	// queued before writes stall.
	o.MemTableSize = 32 << 20
	o.MemTableStopWritesThreshold = 4
	// Tolerate a deeper L0 before stalling writes during ingest bursts.
	o.L0CompactionThreshold = 4
	o.L0StopWritesThreshold = 24
	o.LBaseMaxBytes = 256 << 20
	// Table sizes bound how finely retention can drop whole tables: 8 MiB
	// in L0 and L1, growing to 64 MiB from L4 on (the default doubles from
	// 2 MiB up to 128 MiB in L6).
	o.TargetFileSizes = [7]int64{8 << 20, 8 << 20, 16 << 20, 32 << 20, 64 << 20, 64 << 20, 64 << 20}
	// Let a second compaction run when L0 or compaction debt builds up.
	o.CompactionConcurrencyRange = func() (int, int) { return 1, 2 }
	for i := range o.Levels {
		// Larger blocks give zstd more context: ~55 documents (200 spans)
		// a block instead of ~3.
		o.Levels[i].BlockSize = 64 << 10
		o.Levels[i].IndexBlockSize = 256 << 10
	}
	o.ApplyCompressionSettings(func() pebble.DBCompressionSettings {
		return pebble.UniformDBCompressionSettings(sstable.ZstdCompression)
	})
}

type pebbleEngine struct {
	db *pebble.DB
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)                   {}
func (quietLogger) Errorf(f string, args ...any)           { log.Printf(f, args...) }
func (quietLogger) Fatalf(f string, args ...any)           { log.Fatalf(f, args...) }
func (quietLogger) Eventf(context.Context, string, ...any) {}
func (quietLogger) IsTracingEnabled(context.Context) bool  { return false }

func openPebble(dir string, cacheBytes int64, tune func(*pebble.Options)) (*pebbleEngine, error) {
	cache := pebble.NewCache(cacheBytes)
	defer cache.Unref() // the DB holds its own reference
	o := &pebble.Options{Cache: cache, Logger: quietLogger{}}
	tune(o)
	db, err := pebble.Open(dir, o)
	if err != nil {
		return nil, err
	}
	return &pebbleEngine{db: db}, nil
}

func (e *pebbleEngine) apply(batch []record) error {
	b := e.db.NewBatch()
	for _, r := range batch {
		if err := b.Set(r.key, r.val, nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.NoSync)
}

func (e *pebbleEngine) flush() error { return e.db.Flush() }

func (e *pebbleEngine) compact() error {
	return e.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true)
}

func (e *pebbleEngine) fetch(id model.TraceID, fn func([]byte)) error {
	p := spanPrefixOf(id)
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: p[:], UpperBound: prefixEnd(p[:])})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		fn(v)
	}
	return it.Close()
}

func (e *pebbleEngine) scanSummaries(from, to uint32) (int, error) {
	it, err := e.db.NewIter(&pebble.IterOptions{
		LowerBound: timeKey(summaryPrefix, from),
		UpperBound: timeKey(summaryPrefix, to),
	})
	if err != nil {
		return 0, err
	}
	var n, sink int
	for ok := it.Last(); ok; ok = it.Prev() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return n, err
		}
		sink += len(v)
		n++
	}
	return n, it.Close()
}

func (e *pebbleEngine) close() error { return e.db.Close() }

// pebbleRanges are the key ranges holding traces started in [from, to).
func pebbleRanges(from, to uint32) []pebble.KeyRange {
	return []pebble.KeyRange{
		{Start: timeKey(spanPrefix, from), End: timeKey(spanPrefix, to)},
		{Start: timeKey(summaryPrefix, from), End: timeKey(summaryPrefix, to)},
	}
}

// pebbleDeleteRange writes range tombstones and waits until pebble's
// delete-only compactions have released the tables under them: what the
// store would do on a retention tick, without forcing any compaction.
func pebbleDeleteRange(en engine, from, to uint32) (time.Duration, error) {
	e := en.(*pebbleEngine)
	t0 := time.Now()
	rs := pebbleRanges(from, to)
	before, err := e.usage(rs)
	if err != nil {
		return 0, err
	}
	for _, r := range rs {
		if err := e.db.DeleteRange(r.Start, r.End, pebble.NoSync); err != nil {
			return 0, err
		}
	}
	// Tombstones in the memtable release nothing until flushed.
	if err := e.db.Flush(); err != nil {
		return 0, err
	}
	return e.waitReclaimed(t0, rs, before)
}

// pebbleDeleteRangeCompact writes range tombstones and compacts the range
// at once.
func pebbleDeleteRangeCompact(en engine, from, to uint32) (time.Duration, error) {
	e := en.(*pebbleEngine)
	t0 := time.Now()
	for _, r := range pebbleRanges(from, to) {
		if err := e.db.DeleteRange(r.Start, r.End, pebble.NoSync); err != nil {
			return 0, err
		}
		if err := e.db.Compact(context.Background(), r.Start, r.End, true); err != nil {
			return 0, err
		}
	}
	return time.Since(t0), nil
}

// pebbleExcise removes the ranges from the LSM at once: tables inside them
// are dropped, tables straddling a bound become virtual tables.
func pebbleExcise(en engine, from, to uint32) (time.Duration, error) {
	e := en.(*pebbleEngine)
	t0 := time.Now()
	rs := pebbleRanges(from, to)
	before, err := e.usage(rs)
	if err != nil {
		return 0, err
	}
	for _, r := range rs {
		if err := e.db.Excise(context.Background(), r); err != nil {
			return 0, err
		}
	}
	return e.waitReclaimed(t0, rs, before)
}

func (e *pebbleEngine) usage(rs []pebble.KeyRange) (uint64, error) {
	var n uint64
	for _, r := range rs {
		u, err := e.db.EstimateDiskUsage(r.Start, r.End)
		if err != nil {
			return 0, err
		}
		n += u
	}
	return n, nil
}

// waitReclaimed polls the estimated disk usage of rs until it falls under a
// tenth of before, or stops falling for settle; it returns the time from t0
// to the last fall.
func (e *pebbleEngine) waitReclaimed(t0 time.Time, rs []pebble.KeyRange, before uint64) (time.Duration, error) {
	const settle = 3 * time.Second
	last, lastAt := before, time.Now()
	for {
		now, err := e.usage(rs)
		if err != nil {
			return 0, err
		}
		if now < last {
			last, lastAt = now, time.Now()
		}
		if now < before/10 {
			return time.Since(t0), nil
		}
		if time.Since(lastAt) > settle {
			return lastAt.Sub(t0), nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// prefixEnd returns the smallest key greater than every key starting with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
