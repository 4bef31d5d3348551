package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// A source yields stored summaries newest trace id first. The live
// databases and the blocks are each a source; reads merge them.
type source interface {
	// cur returns the current trace id and summary, ok false at the end.
	// The value is valid until next.
	cur() (tid model.TraceID, val []byte, ok bool)
	next()
	err() error
	close()
}

// mergeSources calls visit with the summaries of live and blocks, newest
// first; a trace in both (a late trace) is taken from live, whose summary
// is the newer.
func mergeSources(live, blocks source, visit func(model.TraceID, []byte) (bool, error)) error {
	defer live.close()
	defer blocks.close()
	for {
		lt, lv, lok := live.cur()
		bt, bv, bok := blocks.cur()
		if !lok && !bok {
			break
		}
		var more bool
		var err error
		switch c := cmpTID(lt, bt); {
		case lok && (!bok || c > 0):
			more, err = visit(lt, lv)
			live.next()
		case lok && c == 0:
			more, err = visit(lt, lv)
			live.next()
			blocks.next()
		default:
			more, err = visit(bt, bv)
			blocks.next()
		}
		if err != nil || !more {
			return err
		}
	}
	return errors.Join(live.err(), blocks.err())
}

// liveScan is the live summaries of a range, newest first.
type liveScan struct {
	it    *pebble.Iterator
	valid bool
	e     error
}

func (s *Store) liveScan(q store.SummaryQuery) *liveScan {
	upper := epochKey(prefixSummary, q.To)
	if q.After != nil {
		if a := traceKey(nil, prefixSummary, *q.After); bytes.Compare(a, upper) < 0 {
			upper = a
		}
	}
	it, err := s.index.NewIter(&pebble.IterOptions{LowerBound: epochKey(prefixSummary, q.From), UpperBound: upper})
	if err != nil {
		return &liveScan{e: err}
	}
	return &liveScan{it: it, valid: it.Last()}
}

func (l *liveScan) cur() (model.TraceID, []byte, bool) {
	var id model.TraceID
	if !l.valid {
		return id, nil, false
	}
	k := l.it.Key()
	if len(k) != 17 {
		l.valid, l.e = false, fmt.Errorf("corrupt summary key")
		return id, nil, false
	}
	copy(id[:], k[1:])
	return id, l.it.Value(), true
}

func (l *liveScan) next() { l.valid = l.it.Prev() }
func (l *liveScan) err() error {
	if l.e != nil {
		return l.e
	}
	if l.it != nil {
		return l.it.Error()
	}
	return nil
}
func (l *liveScan) close() {
	if l.it != nil {
		l.it.Close()
	}
}

// liveHinted is the live summaries listed in a hint's posting lists, hour
// by hour from the newest.
type liveHinted struct {
	s      *Store
	q      store.SummaryQuery
	bucket uint32
	first  uint32 // the oldest bucket holding postings
	it     *pebble.Iterator
	id     model.TraceID
	val    []byte
	closer io.Closer
	done   bool
	e      error
}

func (s *Store) liveHinted(q store.SummaryQuery) *liveHinted {
	h := &liveHinted{s: s, q: q, bucket: (q.To - 1) / postingBucket}
	// Visit only the buckets between the oldest and newest holding
	// postings: live data is mostly the last few minutes.
	first, last, ok, err := s.postingBuckets()
	switch {
	case err != nil:
		h.e, h.done = err, true
	case !ok || last*postingBucket+postingBucket <= q.From:
		h.done = true
	default:
		h.first, h.bucket = first, min(h.bucket, last)
		h.openBucket()
		h.advance()
	}
	return h
}

// postingBuckets returns the oldest and newest buckets holding postings.
func (s *Store) postingBuckets() (first, last uint32, ok bool, err error) {
	it, err := s.index.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixPosting}, UpperBound: []byte{prefixPosting + 1}})
	if err != nil {
		return 0, 0, false, err
	}
	if it.First() && len(it.Key()) >= 5 {
		first = binary.BigEndian.Uint32(it.Key()[1:])
		if it.Last() && len(it.Key()) >= 5 {
			last, ok = binary.BigEndian.Uint32(it.Key()[1:]), true
		}
	}
	return first, last, ok, errors.Join(it.Error(), it.Close())
}

func (h *liveHinted) openBucket() {
	prefix := postingPrefix(nil, h.bucket, *h.q.Hint)
	lower := binary.BigEndian.AppendUint32(bytes.Clone(prefix), max(h.q.From, h.bucket*postingBucket))
	upper := binary.BigEndian.AppendUint32(bytes.Clone(prefix), min(h.q.To, (h.bucket+1)*postingBucket))
	if h.q.After != nil {
		if a := append(bytes.Clone(prefix), h.q.After[:]...); bytes.Compare(a, upper) < 0 {
			upper = a
		}
	}
	it, err := h.s.index.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		h.e, h.done = err, true
		return
	}
	h.it = it
	it.Last()
}

// advance moves to the next listed trace that has a live summary.
func (h *liveHinted) advance() {
	if h.closer != nil {
		h.closer.Close()
		h.closer, h.val = nil, nil
	}
	for !h.done {
		if !h.it.Valid() {
			err := h.it.Error()
			h.it.Close()
			h.it = nil
			if err != nil {
				h.e, h.done = err, true
				return
			}
			if h.bucket <= h.first || h.bucket*postingBucket <= h.q.From {
				h.done = true
				return
			}
			h.bucket--
			h.openBucket()
			continue
		}
		k := h.it.Key()
		copy(h.id[:], k[len(k)-16:])
		h.it.Prev()
		v, closer, err := h.s.index.Get(traceKey(nil, prefixSummary, h.id))
		if errors.Is(err, pebble.ErrNotFound) {
			continue // expired or moved to a block, or not written
		}
		if err != nil {
			h.e, h.done = err, true
			return
		}
		h.val, h.closer = v, closer
		return
	}
}

func (h *liveHinted) cur() (model.TraceID, []byte, bool) {
	if h.val == nil {
		return h.id, nil, false
	}
	return h.id, h.val, true
}
func (h *liveHinted) next()      { h.advance() }
func (h *liveHinted) err() error { return h.e }
func (h *liveHinted) close() {
	if h.closer != nil {
		h.closer.Close()
	}
	if h.it != nil {
		h.it.Close()
	}
	h.done = true
}

// blockScan is the block summaries of a range, newest first: every trace,
// or with a term, the traces its postings list.
type blockScan struct {
	blocks   []*block
	q        store.SummaryQuery
	retained uint32
	term     []byte

	bi    int      // current block
	pi    int      // current page (whole scans)
	page  *sumPage // decoded current page
	pnum  int      // its index
	ti    int      // current trace index in page (whole scans)
	ords  []uint32 // remaining ordinals (hinted scans), newest first
	id    model.TraceID
	val   []byte
	valid bool
	e     error
}

func newBlockScan(blocks []*block, retained uint32, q store.SummaryQuery) *blockScan {
	b := &blockScan{blocks: blocks, q: q, retained: retained, bi: -1, pnum: -1}
	if q.Hint != nil {
		b.term = store.AppendHint(nil, *q.Hint)
	}
	b.nextBlock()
	b.advance()
	return b
}

func (b *blockScan) nextBlock() bool {
	b.bi++
	b.page, b.pnum = nil, -1
	if b.bi >= len(b.blocks) {
		return false
	}
	blk := b.blocks[b.bi]
	if b.term != nil {
		ords, err := blk.posting(b.term)
		if err != nil {
			b.e = err
			return false
		}
		b.ords = ords
		return true
	}
	b.pi, b.ti = len(blk.pages)-1, -1
	return true
}

// accept reports whether tid is within the query; stop when no older trace
// can be.
func (b *blockScan) accept(tid model.TraceID) (ok, stop bool) {
	e := tid.Epoch()
	if e < b.q.From || e < b.retained {
		return false, b.term == nil // hinted scans go on to other blocks
	}
	if e >= b.q.To || b.q.After != nil && cmpTID(tid, *b.q.After) >= 0 {
		return false, false
	}
	return true, false
}

func (b *blockScan) loadPage(pi int) bool {
	if b.pnum == pi {
		return true
	}
	sp, err := b.blocks[b.bi].summaries(pi)
	if err != nil {
		b.e = err
		return false
	}
	b.page, b.pnum = sp, pi
	return true
}

func (b *blockScan) advance() {
	b.valid = false
	for b.e == nil && b.bi < len(b.blocks) {
		blk := b.blocks[b.bi]
		if b.term != nil {
			if len(b.ords) == 0 {
				if !b.nextBlock() {
					return
				}
				continue
			}
			ord := b.ords[0]
			b.ords = b.ords[1:]
			pi := blk.pageOf(ord)
			if pi >= len(blk.pages) {
				b.e = fmt.Errorf("block %s: %w: posting", blk.path, errCorruptBlock)
				return
			}
			p := &blk.pages[pi]
			if p.first.Epoch() >= b.q.To || p.last.Epoch() < b.q.From {
				continue
			}
			if !b.loadPage(pi) {
				return
			}
			ti := int(ord - p.ord)
			tid := b.page.tids[ti]
			if ok, _ := b.accept(tid); ok && len(b.page.summary(ti)) > 0 {
				b.id, b.val, b.valid = tid, b.page.summary(ti), true
				return
			}
			continue
		}
		// Whole scan: pages newest first, traces newest first.
		if b.page == nil || b.ti < 0 {
			for b.pi >= 0 {
				p := &blk.pages[b.pi]
				if p.last.Epoch() < b.q.From || p.last.Epoch() < b.retained {
					b.pi = -1 // no older page can match
					break
				}
				if p.first.Epoch() >= b.q.To || b.q.After != nil && cmpTID(p.first, *b.q.After) >= 0 {
					b.pi--
					continue
				}
				break
			}
			if b.pi < 0 {
				if !b.nextBlock() {
					return
				}
				continue
			}
			if !b.loadPage(b.pi) {
				return
			}
			b.ti = len(b.page.tids) - 1
			b.pi--
		}
		for b.ti >= 0 {
			ti := b.ti
			b.ti--
			tid := b.page.tids[ti]
			ok, stop := b.accept(tid)
			if stop {
				b.ti, b.pi = -1, -1
				break
			}
			if ok && len(b.page.summary(ti)) > 0 {
				b.id, b.val, b.valid = tid, b.page.summary(ti), true
				return
			}
		}
		if b.ti < 0 {
			b.page = nil
		}
	}
}

func (b *blockScan) cur() (model.TraceID, []byte, bool) { return b.id, b.val, b.valid }
func (b *blockScan) next()                              { b.advance() }
func (b *blockScan) err() error                         { return b.e }
func (b *blockScan) close()                             {}

// mergeRecords merges a trace's live records into its block records: for a
// span in both, the live one wins unless it is in progress and the block's
// is complete (the rule of the span merger).
func mergeRecords(blockRecs, live []store.Record) []store.Record {
	if len(blockRecs) == 0 {
		return live
	}
	out := make([]store.Record, 0, len(blockRecs)+len(live))
	i, j := 0, 0
	for i < len(blockRecs) || j < len(live) {
		switch {
		case j == len(live) || i < len(blockRecs) && blockRecs[i].ID < live[j].ID:
			out = append(out, blockRecs[i])
			i++
		case i == len(blockRecs) || live[j].ID < blockRecs[i].ID:
			out = append(out, live[j])
			j++
		default:
			if live[j].InProgress && !blockRecs[i].InProgress {
				out = append(out, blockRecs[i])
			} else {
				out = append(out, live[j])
			}
			i++
			j++
		}
	}
	return out
}
