package enginecmp

import (
	"bytes"
	"encoding/binary"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/fluoro-dev/fluoro/internal/model"
)

func badgerVariants() []variant {
	drops := []dropMethod{
		{"dropprefix-cover", func(e engine, from, to uint32) (time.Duration, error) {
			return e.(*badgerEngine).dropPrefixes(prefixCover(from, to))
		}},
		{"dropprefix-seconds", func(e engine, from, to uint32) (time.Duration, error) {
			return e.(*badgerEngine).dropPrefixes(secondPrefixes(from, to))
		}},
	}
	return []variant{
		{
			name: "badger-lsm",
			open: func(dir string, cache int64) (engine, error) {
				return openBadger(dir, cache, badgerOptions(1<<20))
			},
			drops: drops,
		},
		{
			name: "badger-vlog",
			open: func(dir string, cache int64) (engine, error) {
				return openBadger(dir, cache, badgerOptions(64))
			},
			drops: drops,
		},
	}
}

// badgerOptions returns the tuned options with values of valueThreshold
// bytes or more kept in the value log instead of the LSM tree.
func badgerOptions(valueThreshold int64) func(badger.Options) badger.Options {
	return func(o badger.Options) badger.Options {
		return o.
			WithLogger(nil).
			WithSyncWrites(false).
			WithDetectConflicts(false).
			WithNumVersionsToKeep(1).
			WithCompression(options.ZSTD).
			WithZSTDCompressionLevel(3).
			WithBlockSize(64 << 10).
			WithMemTableSize(32 << 20).
			WithNumMemtables(3).
			WithBaseTableSize(8 << 20).
			WithNumCompactors(2).
			WithValueThreshold(valueThreshold)
	}
}

type badgerEngine struct {
	db    *badger.DB
	dir   string
	cache int64
	tune  func(badger.Options) badger.Options
}

func openBadger(dir string, cacheBytes int64, tune func(badger.Options) badger.Options) (*badgerEngine, error) {
	e := &badgerEngine{dir: dir, cache: cacheBytes, tune: tune}
	return e, e.open()
}

func (e *badgerEngine) open() error {
	db, err := badger.Open(e.tune(badger.DefaultOptions(e.dir)).WithBlockCacheSize(e.cache))
	e.db = db
	return err
}

func (e *badgerEngine) apply(batch []record) error {
	txn := e.db.NewTransaction(true)
	defer txn.Discard()
	for _, r := range batch {
		if err := txn.Set(r.key, r.val); err != nil {
			return err
		}
	}
	return txn.Commit()
}

// flush closes and reopens the DB: badger writes its memtables to L0
// tables only on Close (or when they fill).
func (e *badgerEngine) flush() error {
	if err := e.db.Close(); err != nil {
		return err
	}
	return e.open()
}

func (e *badgerEngine) compact() error { return e.db.Flatten(2) }

func (e *badgerEngine) fetch(id model.TraceID, fn func([]byte)) error {
	p := spanPrefixOf(id)
	txn := e.db.NewTransaction(false)
	defer txn.Discard()
	opts := badger.DefaultIteratorOptions
	opts.Prefix = p[:]
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(p[:]); it.ValidForPrefix(p[:]); it.Next() {
		if err := it.Item().Value(func(v []byte) error { fn(v); return nil }); err != nil {
			return err
		}
	}
	return nil
}

func (e *badgerEngine) scanSummaries(from, to uint32) (int, error) {
	txn := e.db.NewTransaction(false)
	defer txn.Discard()
	opts := badger.DefaultIteratorOptions
	opts.Reverse = true
	opts.PrefetchValues = false
	opts.Prefix = []byte{summaryPrefix}
	it := txn.NewIterator(opts)
	defer it.Close()
	lo := timeKey(summaryPrefix, from)
	var n, sink int
	// In reverse, Seek lands on the largest key at or before its argument.
	for it.Seek(timeKey(summaryPrefix, to)); it.Valid(); it.Next() {
		item := it.Item()
		if bytes.Compare(item.Key(), lo) < 0 {
			break
		}
		if err := item.Value(func(v []byte) error { sink += len(v); return nil }); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (e *badgerEngine) close() error { return e.db.Close() }

// dropPrefixes drops both key spaces under each time prefix. DropPrefix
// blocks writes, flushes the memtables, drops the tables wholly under a
// prefix and rewrites the tables that straddle one.
func (e *badgerEngine) dropPrefixes(timePrefixes [][]byte) (time.Duration, error) {
	t0 := time.Now()
	ps := make([][]byte, 0, 2*len(timePrefixes))
	for _, kind := range []byte{spanPrefix, summaryPrefix} {
		for _, tp := range timePrefixes {
			ps = append(ps, append([]byte{kind}, tp...))
		}
	}
	err := e.db.DropPrefix(ps...)
	return time.Since(t0), err
}

// secondPrefixes returns one 4-byte prefix per second in [from, to).
func secondPrefixes(from, to uint32) [][]byte {
	var ps [][]byte
	for s := from; s < to; s++ {
		ps = append(ps, binary.BigEndian.AppendUint32(nil, s))
	}
	return ps
}

// prefixCover returns the fewest byte-aligned prefixes of the 4-byte
// big-endian epoch that together cover exactly [from, to): whole 2^24,
// 2^16 and 2^8 second blocks where aligned, single seconds elsewhere.
func prefixCover(from, to uint32) [][]byte {
	var ps [][]byte
	for s := uint64(from); s < uint64(to); {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(s))
		n := 4
		for n > 0 {
			step := uint64(1) << (8 * (4 - (n - 1)))
			if s%step != 0 || s+step > uint64(to) {
				break
			}
			n--
		}
		ps = append(ps, append([]byte(nil), b[:n]...))
		s += uint64(1) << (8 * (4 - n))
	}
	return ps
}
