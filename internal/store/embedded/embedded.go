// Package embedded is Fluoro's default storage engine: one directory on the
// local disk, held by a Pebble LSM tree. The key layout puts every span of a
// trace side by side and orders traces by the start second their X-Ray id
// carries, so a trace is one short prefix scan, summaries scan by time, and
// retention is a range deletion that drops whole files. See
// docs/storage-format.md.
package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	pblock "github.com/cockroachdb/pebble/v2/sstable/block"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// Key prefixes. Trace ids follow in binary (16 bytes), span ids after them (8).
const (
	prefixMeta    = 0x00
	prefixSpan    = 0x01
	prefixSummary = 0x02
	prefixPending = 0x03
	prefixPosting = 0x04
	prefixObject  = 0x05
	prefixGraph   = 0x06 // service-graph buckets (graph.go)
)

// postingBucket is the time span of one posting list, in seconds: postings
// are keyed by the 10-second bucket of the trace's start, so that new
// postings go to the end of the key space, as summaries do. (With hours, as
// in index format 1, every compaction rewrote the current hour's postings:
// 6.4 bytes written per byte stored in the index after 75 s of ingest, and
// growing through the hour.) Retention drops whole buckets with a range
// deletion.
const postingBucket = 10

// Magic and versions of the store's databases, written in each under the
// meta key "format". Index version 2 keys postings by 10-second bucket
// instead of by hour; Open migrates version 1.
const (
	formatMagic        = "FLUORO-EMBEDDED"
	spansFormatVersion = 1
	indexFormatVersion = 2
)

func formatVersion(kind string) uint32 {
	if kind == "index" {
		return indexFormatVersion
	}
	return spansFormatVersion
}

// Span value header: a flags byte, then the parent id (8 bytes, big endian),
// then the document.
const (
	flagInProgress  = 1 << 0
	flagIndependent = 1 << 1
	spanHeaderLen   = 9
)

// Options tune the engine. The zero value is usable.
type Options struct {
	// CacheBytes is the block cache size (default 128 MiB).
	CacheBytes int64
	// MemTableBytes is the size of one memtable of the spans database
	// (default 32 MiB); the index uses a quarter of it.
	MemTableBytes uint64
}

// Store is the embedded engine. It implements store.Store.
//
// It holds two Pebble databases in subdirectories of its directory: spans/
// with the documents, large and written in time order, and index/ with the
// summaries and pending marks, small and rewritten as traces complete.
// Keeping them apart keeps the spans' files free of the index's churn, so
// their compactions mostly move files instead of rewriting them.
type Store struct {
	spans *pebble.DB
	index *pebble.DB
	cache *pebble.Cache

	blockSet *blockSet // finished traces, in columnar files (blocks.go)

	mu     sync.RWMutex // guards closed against use after Close
	closed bool
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the store in dir.
func Open(dir string, opts Options) (_ *Store, err error) {
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = 128 << 20
	}
	if opts.MemTableBytes == 0 {
		opts.MemTableBytes = 32 << 20
	}
	s := &Store{cache: pebble.NewCache(opts.CacheBytes)}
	defer func() {
		if err != nil {
			s.closeDBs()
		}
	}()
	if s.spans, err = openDB(filepath.Join(dir, "spans"), s.cache, opts.MemTableBytes, "spans"); err != nil {
		return nil, err
	}
	if s.index, err = openDB(filepath.Join(dir, "index"), s.cache, opts.MemTableBytes/4, "index"); err != nil {
		return nil, err
	}
	if err := s.openBlocks(filepath.Join(dir, "blocks")); err != nil {
		return nil, err
	}
	return s, nil
}

// openDB opens one of the store's databases, tuned for what it holds, and
// checks its format record.
func openDB(dir string, cache *pebble.Cache, memtable uint64, kind string) (*pebble.DB, error) {
	// Tuned on Fluoro's workload in internal/store/enginecmp
	// (docs/engine-comparison.md).
	po := &pebble.Options{
		Cache:              cache,
		FormatMajorVersion: pebble.FormatNewest,
		MemTableSize:       memtable,
		// Up to four memtables queue before writes stall; a deeper L0 is
		// tolerated during bursts, but not without bound.
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		LBaseMaxBytes:               256 << 20,
		// Table sizes bound how finely retention drops whole tables.
		TargetFileSizes:            [7]int64{8 << 20, 8 << 20, 8 << 20, 8 << 20, 8 << 20, 8 << 20, 8 << 20},
		CompactionConcurrencyRange: func() (int, int) { return 1, 2 },
		Merger:                     spanMerger,
		Logger:                     quietLogger{},
	}
	switch kind {
	case "index":
		po.TargetFileSizes = [7]int64{1 << 20, 2 << 20, 4 << 20, 4 << 20, 4 << 20, 4 << 20, 4 << 20}
	case "spans":
		// Spans are written once and leave for block files after
		// --blocks-after (Store.MoveBlock excises them), so compacting
		// them is wasted work: it was a third of the server's CPU under
		// sustained ingest. Flushed tables stay in L0, where reads by
		// trace id still find them by their key bounds, until a deep L0
		// (blocks-after set long, or moving behind) compacts after all.
		// Late spans widen tables' bounds, so a lookup may visit every
		// sublevel: 126 of them measured p99 3.4 ms over HTTP, hence the
		// limit of 128.
		po.L0CompactionThreshold = 128
		po.L0CompactionFileThreshold = 4096
		po.L0StopWritesThreshold = 4096
	}
	for i := range po.Levels {
		l := &po.Levels[i]
		// Large blocks: the documents of neighbouring traces share most of
		// their text, and the codec finds it within a block.
		l.BlockSize = 256 << 10
		l.IndexBlockSize = 256 << 10
		// The fastest codec (MinLZ): finished traces leave for block files
		// after --blocks-after, so the live form is transient, and its
		// compactions are ingest's largest cost. zstd here measured 82
		// bytes per span against 98, but 10% fewer documents per second
		// (docs/benchmarks.md).
		l.Compression = func() *pblock.CompressionProfile { return pblock.FastestCompression }
		if kind == "index" {
			// Summaries are scanned in bulk by searches: the fastest codec
			// to decompress (MinLZ) costs some space on a small database.
			l.Compression = func() *pblock.CompressionProfile { return pblock.FastestCompression }
			// Summaries are looked up by trace id, mostly for traces that
			// have none yet: a bloom filter answers without reading a block.
			l.BlockSize = 16 << 10
			l.IndexBlockSize = 64 << 10
			l.FilterPolicy = bloom.FilterPolicy(10)
			l.FilterType = pebble.TableFilter
		}
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("open embedded store %s: %w", kind, err)
	}
	if err := checkFormat(db, kind); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func formatValue(kind string, version uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte(formatMagic+"-"+strings.ToUpper(kind)), version)
}

func checkFormat(db *pebble.DB, kind string) error {
	key := append([]byte{prefixMeta}, "format"...)
	want := formatValue(kind, formatVersion(kind))
	v, closer, err := db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return db.Set(key, want, pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("read store format: %w", err)
	}
	v = bytes.Clone(v)
	closer.Close()
	if kind == "index" && bytes.Equal(v, formatValue(kind, 1)) {
		if err := migratePostings(db); err != nil {
			return fmt.Errorf("migrate store format %q to version %d: %w", v, indexFormatVersion, err)
		}
		return db.Set(key, want, pebble.Sync)
	}
	if !bytes.Equal(v, want) {
		return fmt.Errorf("store format %q is not %s-%s version %d", v, formatMagic, strings.ToUpper(kind), formatVersion(kind))
	}
	return nil
}

// migratePostings re-keys index format 1's postings, bucketed by hour, by
// the 10-second bucket of their trace's start. It reads a snapshot, so the
// keys it writes are not visited again, and commits in batches; a crash
// part-way leaves both forms, and the next Open, still at version 1, redoes
// the rest (re-keying a version-2 key yields the same key).
func migratePostings(db *pebble.DB) error {
	snap := db.NewSnapshot()
	defer snap.Close()
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixPosting}, UpperBound: []byte{prefixPosting + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	b := db.NewBatch()
	defer func() { b.Close() }()
	var tid model.TraceID
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) < 1+4+16 {
			continue
		}
		copy(tid[:], k[len(k)-16:])
		nk := binary.BigEndian.AppendUint32([]byte{prefixPosting}, tid.Epoch()/postingBucket)
		nk = append(append(nk, k[5:len(k)-16]...), tid[:]...)
		if bytes.Equal(nk, k) {
			continue
		}
		if err := errors.Join(b.Delete(k, nil), b.Set(nk, nil, nil)); err != nil {
			return err
		}
		if b.Len() > 4<<20 {
			if err := b.Commit(pebble.Sync); err != nil {
				return err
			}
			b.Close()
			b = db.NewBatch()
		}
	}
	if err := it.Error(); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) closeDBs() error {
	var errs []error
	if s.blockSet != nil {
		s.blockSet.close()
	}
	for _, db := range []*pebble.DB{s.spans, s.index} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	s.cache.Unref()
	return errors.Join(errs...)
}

func (s *Store) use() (func(), error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, store.ErrClosed
	}
	return s.mu.RUnlock, nil
}

func spanKey(dst []byte, tid model.TraceID, sid model.SpanID) []byte {
	dst = append(dst, prefixSpan)
	dst = append(dst, tid[:]...)
	return binary.BigEndian.AppendUint64(dst, uint64(sid))
}

func traceKey(dst []byte, prefix byte, tid model.TraceID) []byte {
	dst = append(dst, prefix)
	return append(dst, tid[:]...)
}

// epochKey is the first key of prefix at or after start second epoch.
func epochKey(prefix byte, epoch uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefix}, epoch)
}

// Append implements store.Store. The pending marks are written to the index,
// and synced, before the spans go to their database: so every span that
// survives a crash, by a sync, a memtable flush or the kernel writing the log
// on its own, has its trace's pending mark too. That costs one fsync of a
// small log per call; concurrent calls share it.
func (s *Store) Append(_ context.Context, spans []model.Span) error {
	done, err := s.use()
	if err != nil {
		return err
	}
	defer done()
	marks := s.index.NewBatch()
	defer marks.Close()
	b := s.spans.NewBatch()
	defer b.Close()
	var key, val []byte
	var last model.TraceID
	for i := range spans {
		sp := &spans[i]
		if i == 0 || sp.TraceID != last {
			last = sp.TraceID
			if err := marks.Set(traceKey(key[:0], prefixPending, sp.TraceID), nil, nil); err != nil {
				return fmt.Errorf("append span: %w", err)
			}
		}
		key = spanKey(key[:0], sp.TraceID, sp.Root.ID)
		var flags byte
		if sp.Root.InProgress {
			flags |= flagInProgress
		}
		if sp.Independent {
			flags |= flagIndependent
		}
		val = append(val[:0], flags)
		val = binary.BigEndian.AppendUint64(val, uint64(sp.Root.ParentID))
		val = append(val, sp.Doc...)
		if err := b.Merge(key, val, nil); err != nil {
			return fmt.Errorf("append span: %w", err)
		}
	}
	if err := marks.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("append spans: %w", err)
	}
	s.blockSet.noteAppend(spans)
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("append spans: %w", err)
	}
	return nil
}

// Trace implements store.Store.
func (s *Store) Trace(_ context.Context, id model.TraceID) ([]store.Record, error) {
	done, err := s.use()
	if err != nil {
		return nil, err
	}
	defer done()
	lower := traceKey(nil, prefixSpan, id)
	upper := traceKey(nil, prefixSpan, id)
	upper = append(upper, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	it, err := s.spans.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("read trace: %w", err)
	}
	defer it.Close()
	var out []store.Record
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != 1+16+8 || len(v) < spanHeaderLen {
			return nil, fmt.Errorf("read trace %s: corrupt span entry", id)
		}
		out = append(out, store.Record{
			ID:          model.SpanID(binary.BigEndian.Uint64(k[17:])),
			ParentID:    model.SpanID(binary.BigEndian.Uint64(v[1:9])),
			InProgress:  v[0]&flagInProgress != 0,
			Independent: v[0]&flagIndependent != 0,
			Doc:         bytes.Clone(v[spanHeaderLen:]),
		})
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("read trace: %w", err)
	}
	if b := s.blockSet.holding(id); b != nil {
		recs, err := b.trace(id)
		b.release()
		if err != nil {
			return nil, fmt.Errorf("read trace: %w", err)
		}
		out = mergeRecords(recs, out)
	}
	return out, nil
}

// PutSummaries implements store.Store.
func (s *Store) PutSummaries(_ context.Context, sums []model.Summary) error {
	done, err := s.use()
	if err != nil {
		return err
	}
	defer done()
	b := s.index.NewBatch()
	defer b.Close()
	var key, val []byte
	for i := range sums {
		val = store.AppendSummary(val[:0], &sums[i])
		key = traceKey(key[:0], prefixSummary, sums[i].TraceID)
		if err := b.Set(key, val, nil); err != nil {
			return fmt.Errorf("put summary: %w", err)
		}
		key = traceKey(key[:0], prefixPending, sums[i].TraceID)
		if err := b.Delete(key, nil); err != nil {
			return fmt.Errorf("put summary: %w", err)
		}
		for _, h := range store.Terms(&sums[i]) {
			key = append(postingPrefix(key[:0], sums[i].TraceID.Epoch()/postingBucket, h), sums[i].TraceID[:]...)
			if err := b.Set(key, nil, nil); err != nil {
				return fmt.Errorf("put summary: %w", err)
			}
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("put summaries: %w", err)
	}
	return nil
}

// Summary implements store.Store.
func (s *Store) Summary(_ context.Context, id model.TraceID) (model.Summary, bool, error) {
	done, err := s.use()
	if err != nil {
		return model.Summary{}, false, err
	}
	defer done()
	v, closer, err := s.index.Get(traceKey(nil, prefixSummary, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return s.blockSummary(id)
	}
	if err != nil {
		return model.Summary{}, false, fmt.Errorf("read summary: %w", err)
	}
	defer closer.Close()
	var sum model.Summary
	if err := store.DecodeSummary(id, v, &sum); err != nil {
		return model.Summary{}, false, fmt.Errorf("read summary of %s: %w", id, err)
	}
	return sum, true, nil
}

// Summaries implements store.Store.
func (s *Store) Summaries(ctx context.Context, q store.SummaryQuery, fn func(*model.Summary) bool) error {
	done, err := s.use()
	if err != nil {
		return err
	}
	defer done()
	if q.To == 0 || q.From >= q.To {
		return nil
	}
	blocks, retained := s.blockSet.snapshot(q.From, q.To)
	defer releaseAll(blocks)
	var live source
	if q.Hint != nil {
		live = s.liveHinted(q)
	} else {
		live = s.liveScan(q)
	}
	var sum model.Summary
	var dec store.SummaryDecoder
	n := 0
	err = mergeSources(live, newBlockScan(blocks, retained, q), func(id model.TraceID, v []byte) (bool, error) {
		if n++; n%1024 == 0 && ctx.Err() != nil {
			return false, ctx.Err()
		}
		more, err := visit(q, &dec, id, v, &sum, fn)
		if err != nil {
			return false, fmt.Errorf("%s: %w", id, err)
		}
		return more, nil
	})
	if err != nil {
		return fmt.Errorf("scan summaries: %w", err)
	}
	return nil
}

// blockSummary returns a trace's summary from the block holding it.
func (s *Store) blockSummary(id model.TraceID) (model.Summary, bool, error) {
	b := s.blockSet.holding(id)
	if b == nil {
		return model.Summary{}, false, nil
	}
	defer b.release()
	pi := b.page(id)
	if pi < 0 {
		return model.Summary{}, false, nil
	}
	sp, err := b.summaries(pi)
	if err != nil {
		return model.Summary{}, false, fmt.Errorf("read summary: %w", err)
	}
	ti := sp.find(id)
	if ti < 0 || len(sp.summary(ti)) == 0 {
		return model.Summary{}, false, nil
	}
	var sum model.Summary
	if err := store.DecodeSummary(id, sp.summary(ti), &sum); err != nil {
		return model.Summary{}, false, fmt.Errorf("read summary of %s: %w", id, err)
	}
	return sum, true, nil
}

// visit hands one stored summary to a scan: to q's prefilter on its head
// first, when there is one, then whole to fn. more is fn's answer (true when
// the prefilter skipped it).
func visit(q store.SummaryQuery, dec *store.SummaryDecoder, id model.TraceID, v []byte, sum *model.Summary, fn func(*model.Summary) bool) (more bool, err error) {
	if q.Prefilter != nil {
		if err := store.DecodeSummaryHead(id, v, sum); err != nil {
			return false, err
		}
		if !q.Prefilter(sum) {
			return true, nil
		}
	}
	if err := dec.Decode(id, v, sum); err != nil {
		return false, err
	}
	return fn(sum), nil
}

// postingPrefix is the key prefix of one posting list: 0x04, the bucket, the
// hint. Trace ids follow, so a list scans in time order.
func postingPrefix(dst []byte, bucket uint32, h store.Hint) []byte {
	dst = append(dst, prefixPosting)
	dst = binary.BigEndian.AppendUint32(dst, bucket)
	return store.AppendHint(dst, h)
}

// Pending implements store.Store.
func (s *Store) Pending(_ context.Context, fn func(model.TraceID) bool) error {
	done, err := s.use()
	if err != nil {
		return err
	}
	defer done()
	it, err := s.index.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixPending}, UpperBound: []byte{prefixPending + 1}})
	if err != nil {
		return fmt.Errorf("scan pending: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		var id model.TraceID
		copy(id[:], it.Key()[1:])
		if !fn(id) {
			break
		}
	}
	return it.Error()
}

// DeleteBefore implements store.Store.
func (s *Store) DeleteBefore(ctx context.Context, epoch uint32) error {
	done, err := s.use()
	if err != nil {
		return err
	}
	defer done()
	// Spans: drop the files, narrow those across the edge, read nothing.
	if err := s.spans.Excise(ctx, pebble.KeyRange{Start: []byte{prefixSpan}, End: epochKey(prefixSpan, epoch)}); err != nil {
		return fmt.Errorf("delete expired: %w", err)
	}
	// The index: one range deletion per prefix, in one batch.
	prefixes := []byte{prefixSummary, prefixPending, prefixPosting, prefixGraph}
	ends := make([][]byte, len(prefixes))
	b := s.index.NewBatch()
	defer b.Close()
	for i, p := range prefixes {
		ends[i] = epochKey(p, epoch)
		if p == prefixPosting {
			ends[i] = epochKey(p, epoch/postingBucket) // whole buckets only
		}
		if err := b.DeleteRange([]byte{p}, ends[i], nil); err != nil {
			return fmt.Errorf("delete expired: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete expired: %w", err)
	}
	// Range deletions drop whole files in "delete-only" compactions; ask for
	// the space back now rather than at the next write-driven compaction.
	// Compact each deleted range alone, so live data is not rewritten with it.
	for i, p := range prefixes {
		if err := s.index.Compact(ctx, []byte{p}, ends[i], false); err != nil {
			return fmt.Errorf("compact expired: %w", err)
		}
	}
	return s.deleteBlocksBefore(epoch)
}

// Sync implements store.Store.
func (s *Store) Sync() error {
	done, err := s.use()
	if err != nil {
		return err
	}
	defer done()
	for _, db := range []*pebble.DB{s.spans, s.index} {
		if err := db.LogData(nil, pebble.Sync); err != nil {
			return fmt.Errorf("sync store: %w", err)
		}
	}
	return nil
}

// Stats implements store.Store.
func (s *Store) Stats() store.Stats {
	done, err := s.use()
	if err != nil {
		return store.Stats{}
	}
	defer done()
	var st store.Stats
	for _, db := range []*pebble.DB{s.spans, s.index} {
		m := db.Metrics()
		st.DiskBytes += int64(m.DiskSpaceUsage())
		st.TableBytes += int64(m.Total().TablesSize)
	}
	blocks := s.blockSet.bytes()
	st.DiskBytes += blocks
	st.TableBytes += blocks
	return st
}

// WriteAmp returns the write amplification of the spans and index
// databases since Open: bytes written to files (flushes and compactions)
// per byte written to their logs. Benchmarks report it.
func (s *Store) WriteAmp() (spans, index float64) {
	wamp := func(db *pebble.DB) float64 {
		m := db.Metrics()
		t := m.Total()
		return t.WriteAmp()
	}
	return wamp(s.spans), wamp(s.index)
}

// Flush writes memtables to files, so that size measurements see the
// compressed form. Benchmarks and tests use it.
func (s *Store) Flush() error {
	done, err := s.use()
	if err != nil {
		return err
	}
	defer done()
	return errors.Join(s.spans.Flush(), s.index.Flush())
}

// Compact compacts the whole key space. Benchmarks use it.
func (s *Store) Compact() error {
	done, err := s.use()
	if err != nil {
		return err
	}
	defer done()
	return errors.Join(
		s.spans.Compact(context.Background(), []byte{0}, []byte{0xff}, true),
		s.index.Compact(context.Background(), []byte{0}, []byte{0xff}, true))
}

// Close implements store.Store: spans first, then the index (see Append).
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	s.closed = true
	if err := s.closeDBs(); err != nil {
		return fmt.Errorf("close embedded store: %w", err)
	}
	return nil
}

// spanMerger resolves several writes of one span: a complete document wins
// over an in-progress one; otherwise the newer write wins. Its name is
// recorded in the store's options file and must never change.
var spanMerger = &pebble.Merger{
	Name: "fluoro.span.v1",
	Merge: func(_, value []byte) (pebble.ValueMerger, error) {
		return &spanMerge{val: bytes.Clone(value)}, nil
	},
}

type spanMerge struct{ val []byte }

func complete(v []byte) bool { return len(v) > 0 && v[0]&flagInProgress == 0 }

func (m *spanMerge) MergeNewer(v []byte) error {
	if complete(v) || !complete(m.val) {
		m.val = append(m.val[:0], v...)
	}
	return nil
}

func (m *spanMerge) MergeOlder(v []byte) error {
	if complete(v) && !complete(m.val) {
		m.val = append(m.val[:0], v...)
	}
	return nil
}

func (m *spanMerge) Finish(bool) ([]byte, io.Closer, error) { return m.val, nil, nil }

// quietLogger keeps Pebble's informational chatter out of Fluoro's log and
// passes errors through.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
