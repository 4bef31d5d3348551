package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// Meta keys of the index database that describe the blocks.
var (
	// metaWatermark: every trace with a smaller id was moved to blocks,
	// except traces that received spans after their move ("late" traces,
	// which stay live). 16 bytes.
	metaWatermark = []byte("\x00blocks-watermark")
	// metaRetained: block traces that started before this epoch second are
	// expired even while their block, which holds newer traces too, is
	// kept. 4 bytes.
	metaRetained = []byte("\x00blocks-retained")
	// metaCleanup: a span range deletion still to do after a move, in case
	// the process stopped between the index's commit and the spans': from
	// and to (16 bytes each), then the late trace ids to leave alone.
	metaCleanup = []byte("\x00blocks-cleanup")
)

// blockSet is the store's blocks, ordered by trace id, and the state that
// ties them to the live databases.
type blockSet struct {
	dir string

	mu        sync.RWMutex
	blocks    []*block // sorted, non-overlapping
	watermark model.TraceID
	retained  uint32

	// While a move runs, Append records the traces in [moveFrom, moveTo)
	// it writes to: their live data must survive the move's deletions.
	lateMu   sync.Mutex
	moving   bool
	moveFrom model.TraceID
	moveTo   model.TraceID
	late     map[model.TraceID]struct{}

	moveMu sync.Mutex // one move at a time
}

func cmpTID(a, b model.TraceID) int { return bytes.Compare(a[:], b[:]) }

// openBlocks opens the blocks directory, finishing or undoing a move that
// a crash interrupted.
func (s *Store) openBlocks(dir string) error {
	bs := &blockSet{dir: dir}
	s.blockSet = bs
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("open blocks: %w", err)
	}
	if v, closer, err := s.index.Get(metaWatermark); err == nil {
		copy(bs.watermark[:], v)
		closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("open blocks: %w", err)
	}
	if v, closer, err := s.index.Get(metaRetained); err == nil {
		if len(v) == 4 {
			bs.retained = binary.BigEndian.Uint32(v)
		}
		closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("open blocks: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("open blocks: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(path) // a move that did not finish writing
			continue
		}
		if !strings.HasSuffix(name, blockFileSuffix) {
			continue
		}
		b, err := openBlock(path)
		if err != nil {
			return err
		}
		if cmpTID(b.first, bs.watermark) >= 0 || b.last.Epoch() < bs.retained {
			// Written, but the move was not committed (its traces are still
			// live), or expired before a crash let retention remove it.
			b.release()
			os.Remove(path)
			continue
		}
		bs.blocks = append(bs.blocks, b)
	}
	slices.SortFunc(bs.blocks, func(a, b *block) int { return cmpTID(a.first, b.first) })
	if v, closer, err := s.index.Get(metaCleanup); err == nil {
		rec := bytes.Clone(v)
		closer.Close()
		if err := s.cleanupSpans(rec); err != nil {
			return err
		}
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("open blocks: %w", err)
	}
	return nil
}

func (bs *blockSet) close() {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	for _, b := range bs.blocks {
		b.release()
	}
	bs.blocks = nil
}

// snapshot returns the blocks overlapping [from, to) (epoch seconds),
// newest first, each acquired: release them with releaseAll.
func (bs *blockSet) snapshot(from, to uint32) ([]*block, uint32) {
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	var out []*block
	for i := len(bs.blocks) - 1; i >= 0; i-- {
		b := bs.blocks[i]
		if b.first.Epoch() < to && b.last.Epoch() >= from {
			b.acquire()
			out = append(out, b)
		}
	}
	return out, bs.retained
}

// holding returns the block that may hold tid, acquired, or nil.
func (bs *blockSet) holding(tid model.TraceID) *block {
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	if tid.Epoch() < bs.retained {
		return nil
	}
	i, _ := slices.BinarySearchFunc(bs.blocks, tid, func(b *block, t model.TraceID) int { return cmpTID(b.last, t) })
	if i == len(bs.blocks) || cmpTID(bs.blocks[i].first, tid) > 0 {
		return nil
	}
	bs.blocks[i].acquire()
	return bs.blocks[i]
}

func releaseAll(bl []*block) {
	for _, b := range bl {
		b.release()
	}
}

func (bs *blockSet) mark() model.TraceID {
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	return bs.watermark
}

// OldestUnmoved returns the start second of the oldest trace that a move
// would take next (the first live summary at or after the watermark), and
// false when there is none.
func (s *Store) OldestUnmoved() (uint32, bool) {
	done, err := s.use()
	if err != nil {
		return 0, false
	}
	defer done()
	it, err := s.index.NewIter(&pebble.IterOptions{LowerBound: traceKey(nil, prefixSummary, s.blockSet.mark()), UpperBound: []byte{prefixSummary + 1}})
	if err != nil {
		return 0, false
	}
	defer it.Close()
	if !it.First() || len(it.Key()) < 1+16 {
		return 0, false
	}
	var id model.TraceID
	copy(id[:], it.Key()[1:])
	return id.Epoch(), true
}

// noteAppend records, during a move, the traces an Append writes to inside
// the range being moved. It is called before the Append's spans commit.
func (bs *blockSet) noteAppend(spans []model.Span) {
	bs.lateMu.Lock()
	defer bs.lateMu.Unlock()
	if !bs.moving {
		return
	}
	for i := range spans {
		t := spans[i].TraceID
		if cmpTID(t, bs.moveFrom) >= 0 && cmpTID(t, bs.moveTo) < 0 {
			bs.late[t] = struct{}{}
		}
	}
}

// MoveStats reports what one MoveToBlocks did.
type MoveStats struct {
	Blocks, Traces, Documents int
	Bytes                     int64 // block file bytes written
	// Of which: span documents, summaries and postings.
	SpanBytes, SummaryBytes, PostingBytes int64
}

func (m *MoveStats) add(o MoveStats) {
	m.Blocks += o.Blocks
	m.Traces += o.Traces
	m.Documents += o.Documents
	m.Bytes += o.Bytes
	m.SpanBytes += o.SpanBytes
	m.SummaryBytes += o.SummaryBytes
	m.PostingBytes += o.PostingBytes
}

// MoveToBlocks moves every finished trace that started before epoch
// second before, and after the last trace of the previous move, out of the
// live databases
// into block files: the compact, columnar form finished traces keep until
// retention removes them. A trace is finished when it has a summary and no
// pending mark; the move stops before the oldest unfinished trace. Spans
// that arrive later for a moved trace are kept live and merged with the
// block's on every read.
func (s *Store) MoveToBlocks(ctx context.Context, before uint32) (MoveStats, error) {
	var total MoveStats
	for {
		st, more, err := s.MoveBlock(ctx, before)
		total.add(st)
		if err != nil || !more {
			return total, err
		}
	}
}

// MoveBlock is MoveToBlocks that stops after one block (blockMaxTraces
// traces): more reports whether traces were left to move. A caller that
// paces itself between calls keeps moving from taking the CPU ingest needs,
// and each call's iterators and memory short-lived.
func (s *Store) MoveBlock(ctx context.Context, before uint32) (st MoveStats, more bool, err error) {
	st, err = s.moveBlock(ctx, before)
	return st, err == nil && st.Traces >= blockMaxTraces, err
}

func (s *Store) moveBlock(ctx context.Context, before uint32) (MoveStats, error) {
	var st MoveStats
	done, err := s.use()
	if err != nil {
		return st, err
	}
	defer done()
	bs := s.blockSet
	bs.moveMu.Lock()
	defer bs.moveMu.Unlock()

	from := bs.mark()
	var to model.TraceID
	binary.BigEndian.PutUint32(to[:], before)
	// Stop at the oldest pending trace.
	it, err := s.index.NewIter(&pebble.IterOptions{LowerBound: traceKey(nil, prefixPending, from), UpperBound: traceKey(nil, prefixPending, to)})
	if err != nil {
		return st, fmt.Errorf("move to blocks: %w", err)
	}
	if it.First() {
		copy(to[:], it.Key()[1:])
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return st, fmt.Errorf("move to blocks: %w", err)
	}
	if cmpTID(from, to) >= 0 {
		return st, nil
	}

	bs.lateMu.Lock()
	bs.moving, bs.moveFrom, bs.moveTo, bs.late = true, from, to, make(map[model.TraceID]struct{})
	bs.lateMu.Unlock()
	defer func() {
		bs.lateMu.Lock()
		bs.moving, bs.late = false, nil
		bs.lateMu.Unlock()
	}()

	spans, err := s.spans.NewIter(&pebble.IterOptions{LowerBound: traceKey(nil, prefixSpan, from), UpperBound: traceKey(nil, prefixSpan, to)})
	if err != nil {
		return st, fmt.Errorf("move to blocks: %w", err)
	}
	defer spans.Close()
	sums, err := s.index.NewIter(&pebble.IterOptions{LowerBound: traceKey(nil, prefixSummary, from), UpperBound: traceKey(nil, prefixSummary, to)})
	if err != nil {
		return st, fmt.Errorf("move to blocks: %w", err)
	}
	defer sums.Close()
	spans.First()
	sums.First()

	var w *blockWriter
	defer func() {
		if w != nil {
			w.abort()
		}
	}()
	var recs []store.Record
	var sum model.Summary
	var dec store.SummaryDecoder
	var terms [][]byte // hint encodings of the block's postings, for the deletes
	n := 0
	for {
		if n++; n%1024 == 0 && ctx.Err() != nil {
			return st, ctx.Err()
		}
		// The next trace: the smaller id of the two iterators.
		var tid model.TraceID
		haveSpan, haveSum := spans.Valid(), sums.Valid()
		switch {
		case haveSpan && haveSum:
			a, b := spans.Key()[1:17], sums.Key()[1:17]
			if bytes.Compare(a, b) <= 0 {
				copy(tid[:], a)
			} else {
				copy(tid[:], b)
			}
		case haveSpan:
			copy(tid[:], spans.Key()[1:17])
		case haveSum:
			copy(tid[:], sums.Key()[1:17])
		}
		if !haveSpan && !haveSum {
			break
		}
		recs = recs[:0]
		for spans.Valid() && bytes.Equal(spans.Key()[1:17], tid[:]) {
			k, v := spans.Key(), spans.Value()
			if len(k) != 1+16+8 || len(v) < spanHeaderLen {
				return st, fmt.Errorf("move to blocks: trace %s: corrupt span entry", tid)
			}
			recs = append(recs, store.Record{
				ID:          model.SpanID(binary.BigEndian.Uint64(k[17:])),
				ParentID:    model.SpanID(binary.BigEndian.Uint64(v[1:9])),
				InProgress:  v[0]&flagInProgress != 0,
				Independent: v[0]&flagIndependent != 0,
				Doc:         bytes.Clone(v[spanHeaderLen:]),
			})
			spans.Next()
		}
		var sumVal []byte
		var hints []store.Hint
		if sums.Valid() && bytes.Equal(sums.Key()[1:17], tid[:]) {
			sumVal = bytes.Clone(sums.Value())
			if err := dec.Decode(tid, sumVal, &sum); err != nil {
				return st, fmt.Errorf("move to blocks: summary of %s: %w", tid, err)
			}
			hints = store.Terms(&sum)
			for _, h := range hints {
				terms = append(terms, postingKey(tid, h))
			}
			sums.Next()
		}
		if w == nil {
			if w, err = newBlockWriter(bs.dir); err != nil {
				return st, err
			}
		}
		if err := w.add(tid, sumVal, hints, recs); err != nil {
			return st, err
		}
		st.Traces++
		st.Documents += len(recs)
		if w.size() >= blockMaxTraces {
			break
		}
	}
	if err := errors.Join(spans.Error(), sums.Error()); err != nil {
		return st, fmt.Errorf("move to blocks: %w", err)
	}
	if w != nil {
		// The watermark ends after the last trace moved, not at to: traces
		// that arrive later with older ids than to, but newer than every
		// moved one, are moved by the next call.
		err := s.commitBlock(w, from, nextTID(w.last), terms, &st)
		w = nil
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// nextTID is the smallest trace id after t.
func nextTID(t model.TraceID) model.TraceID {
	for i := len(t) - 1; i >= 0; i-- {
		t[i]++
		if t[i] != 0 {
			break
		}
	}
	return t
}

func postingKey(tid model.TraceID, h store.Hint) []byte {
	return append(postingPrefix(nil, tid.Epoch()/postingBucket, h), tid[:]...)
}

// commitBlock finishes a block holding the traces in [from, to), publishes
// it, and deletes its traces from the live databases, except the late ones.
func (s *Store) commitBlock(w *blockWriter, from, to model.TraceID, postings [][]byte, st *MoveStats) error {
	b, err := w.finish()
	if err != nil {
		return err
	}
	st.SpanBytes += w.spanBytes
	st.SummaryBytes += w.sumBytes
	st.PostingBytes += w.postBytes
	bs := s.blockSet
	st.Blocks++
	st.Bytes += b.size

	// Readers see the block before its traces leave the live databases:
	// every read merges both, so a trace is never missing, only briefly
	// found twice and merged.
	bs.mu.Lock()
	i, _ := slices.BinarySearchFunc(bs.blocks, b.first, func(x *block, t model.TraceID) int { return cmpTID(x.first, t) })
	bs.blocks = slices.Insert(bs.blocks, i, b)
	bs.mu.Unlock()

	// Appends to late traces wait from here until both deletions are
	// committed, so none commits between them unrecorded.
	bs.lateMu.Lock()
	defer bs.lateMu.Unlock()
	late := make([]model.TraceID, 0, len(bs.late))
	for t := range bs.late {
		if cmpTID(t, from) >= 0 && cmpTID(t, to) < 0 {
			late = append(late, t)
		}
	}
	slices.SortFunc(late, cmpTID)
	isLate := func(t []byte) bool {
		var id model.TraceID
		copy(id[:], t)
		_, ok := slices.BinarySearchFunc(late, id, cmpTID)
		return ok
	}

	cleanup := append(append([]byte(nil), from[:]...), to[:]...)
	for _, t := range late {
		cleanup = append(cleanup, t[:]...)
	}
	ib := s.index.NewBatch()
	defer ib.Close()
	for _, r := range liveRanges(from, to, late) {
		if err := ib.DeleteRange(traceKey(nil, prefixSummary, r[0]), traceKey(nil, prefixSummary, r[1]), nil); err != nil {
			return fmt.Errorf("move to blocks: %w", err)
		}
	}
	for _, k := range postings {
		if !isLate(k[len(k)-16:]) {
			if err := ib.Delete(k, nil); err != nil {
				return fmt.Errorf("move to blocks: %w", err)
			}
		}
	}
	if err := errors.Join(ib.Set(metaWatermark, to[:], nil), ib.Set(metaCleanup, cleanup, nil)); err != nil {
		return fmt.Errorf("move to blocks: %w", err)
	}
	if err := ib.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("move to blocks: %w", err)
	}
	bs.mu.Lock()
	bs.watermark = to
	bs.mu.Unlock()
	return s.cleanupSpans(cleanup)
}

// liveRanges splits [from, to) around the late trace ids (sorted): the
// ranges whose live data a move deletes.
func liveRanges(from, to model.TraceID, late []model.TraceID) [][2]model.TraceID {
	var out [][2]model.TraceID
	lo := from
	for _, t := range late {
		if cmpTID(lo, t) < 0 {
			out = append(out, [2]model.TraceID{lo, t})
		}
		lo = nextTID(t)
	}
	if cmpTID(lo, to) < 0 {
		out = append(out, [2]model.TraceID{lo, to})
	}
	return out
}

// cleanupSpans deletes the moved spans a cleanup record names, then the
// record.
func (s *Store) cleanupSpans(rec []byte) error {
	if len(rec) < 32 || len(rec)%16 != 0 {
		return fmt.Errorf("blocks cleanup record: %w", errCorruptBlock)
	}
	var from, to model.TraceID
	copy(from[:], rec[:16])
	copy(to[:], rec[16:32])
	var late []model.TraceID
	for r := rec[32:]; len(r) > 0; r = r[16:] {
		var t model.TraceID
		copy(t[:], r[:16])
		late = append(late, t)
	}
	// Excise drops the files inside a range and narrows those across its
	// edges, without reading or rewriting them: the spans database is
	// rarely compacted (see openDB), and the moved spans leave it here.
	// Excising again after a crash is harmless.
	for _, r := range liveRanges(from, to, late) {
		if err := s.spans.Excise(context.Background(), pebble.KeyRange{Start: traceKey(nil, prefixSpan, r[0]), End: traceKey(nil, prefixSpan, r[1])}); err != nil {
			return fmt.Errorf("move to blocks: %w", err)
		}
	}
	if err := s.index.Delete(metaCleanup, pebble.NoSync); err != nil {
		return fmt.Errorf("move to blocks: %w", err)
	}
	return nil
}

// deleteBlocksBefore removes the blocks whose traces all started before
// epoch, and hides the older traces of the others.
func (s *Store) deleteBlocksBefore(epoch uint32) error {
	bs := s.blockSet
	bs.mu.Lock()
	if epoch <= bs.retained {
		bs.mu.Unlock()
		return nil
	}
	if err := s.index.Set(metaRetained, binary.BigEndian.AppendUint32(nil, epoch), pebble.Sync); err != nil {
		bs.mu.Unlock()
		return fmt.Errorf("delete expired blocks: %w", err)
	}
	bs.retained = epoch
	var gone []*block
	keep := bs.blocks[:0]
	for _, b := range bs.blocks {
		if b.last.Epoch() < epoch {
			gone = append(gone, b)
		} else {
			keep = append(keep, b)
		}
	}
	bs.blocks = keep
	bs.mu.Unlock()
	for _, b := range gone {
		if err := os.Remove(b.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("delete expired block: %w", err)
		}
		b.release()
	}
	return nil
}

// blockStats adds up the blocks' sizes.
func (bs *blockSet) bytes() int64 {
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	var n int64
	for _, b := range bs.blocks {
		n += b.size
	}
	return n
}
