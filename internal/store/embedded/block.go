package embedded

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/store/embedded/shred"
)

// A block is an immutable file holding the spans, summaries and search
// postings of a run of consecutive traces that have finished: the columnar,
// compacted form of what the Pebble databases hold while traces are live
// (docs/storage-format.md, "Blocks").
//
//	magic "FLUOBLK1"
//	pages     each: spans frame | trace-id frame | summaries frame (zstd)
//	postings  frame                                      (zstd)
//	footer    see appendFooter
//	uint32 footer length | uint32 CRC-32C of the footer | magic "FLUOBLK1"
//
// A trace-id frame: the page's n trace ids, 16 bytes each, ascending. For
// summaries frames see appendSummaryFrame. A spans frame:
// n × uvarint document count, then per document a flags byte, then per
// document its id (8 bytes), then the parent ids of the documents that have
// one (8 bytes each), then the documents as a shred page.
const blockMagic = "FLUOBLK1"

// Block shape: traces per page (the unit a trace lookup decompresses) and
// per block.
const (
	pageTraces      = 1024
	blockMaxTraces  = 16 * pageTraces
	blockFileSuffix = ".blk"
)

// Document flags in a spans frame.
const (
	docInProgress  = 1 << 0
	docIndependent = 1 << 1
	docHasParent   = 1 << 2 // its parent id follows the ids
	docParentInDoc = 1 << 3 // its parent id is the document's parent_id
)

// markTraces is how often a page marks a place to start decoding: a trace
// lookup decodes at most this many traces' documents.
const markTraces = 8

var (
	zstdEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderConcurrency(1))
	zstdDec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
	crcTable   = crc32.MakeTable(crc32.Castagnoli)
)

type pageMeta struct {
	first, last      model.TraceID
	ord, traces      uint32 // first trace's ordinal in the block, trace count
	spanOff, spanLen int64
	tidOff, tidLen   int64
	sumOff, sumLen   int64
}

type block struct {
	path        string
	f           *os.File
	size        int64
	first, last model.TraceID
	pages       []pageMeta
	postOff     int64
	postLen     int64

	refs     atomic.Int32 // the set's reference, plus one per reader
	postOnce sync.Once
	postings map[string][]byte // term → uvarint deltas of ordinals
	postErr  error
}

func (b *block) acquire() { b.refs.Add(1) }

// release drops a reference; the last one closes the file.
func (b *block) release() {
	if b.refs.Add(-1) == 0 {
		b.f.Close()
	}
}

func blockName(first, last model.TraceID) string {
	return fmt.Sprintf("%x-%x%s", first[:], last[:], blockFileSuffix)
}

// blockWriter writes one block file, page by page.
type blockWriter struct {
	dir, tmp string
	f        *os.File
	off      int64
	pages    []pageMeta
	traces   uint32
	first    model.TraceID
	last     model.TraceID
	postings map[string][]uint32
	termBuf  []byte

	spanBytes, sumBytes, postBytes int64 // compressed frame sizes

	// the page being filled
	tids    []model.TraceID
	sumLens []int
	sums    []byte
	counts  []int
	flags   []byte
	ids     []byte
	parents []byte
	docs    *shred.Writer
	frame   []byte
}

func newBlockWriter(dir string) (*blockWriter, error) {
	f, err := os.CreateTemp(dir, "block-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create block: %w", err)
	}
	w := &blockWriter{dir: dir, tmp: f.Name(), f: f, postings: make(map[string][]uint32), docs: shred.NewWriter()}
	if err := w.write([]byte(blockMagic)); err != nil {
		w.abort()
		return nil, err
	}
	return w, nil
}

func (w *blockWriter) write(b []byte) error {
	n, err := w.f.Write(b)
	w.off += int64(n)
	if err != nil {
		return fmt.Errorf("write block: %w", err)
	}
	return nil
}

func (w *blockWriter) abort() {
	w.f.Close()
	os.Remove(w.tmp)
}

// add appends one trace, in increasing trace id order: its encoded summary
// (may be empty) and its span records.
func (w *blockWriter) add(tid model.TraceID, sum []byte, terms []store.Hint, recs []store.Record) error {
	if w.traces == 0 && len(w.tids) == 0 {
		w.first = tid
	}
	w.last = tid
	ord := w.traces + uint32(len(w.tids))
	for _, h := range terms {
		w.termBuf = store.AppendHint(w.termBuf[:0], h)
		l := w.postings[string(w.termBuf)]
		if n := len(l); n == 0 || l[n-1] != ord { // a summary may repeat a term
			w.postings[string(w.termBuf)] = append(l, ord)
		}
	}
	w.tids = append(w.tids, tid)
	w.sumLens = append(w.sumLens, len(sum))
	w.sums = append(w.sums, sum...)
	w.counts = append(w.counts, len(recs))
	if (len(w.tids)-1)%markTraces == 0 {
		w.docs.Mark()
	}
	w.docs.StartTrace()
	// Parents first, so that a parent id refers back to an id already
	// stored: order by start time (readers sort by id again).
	if len(recs) > 1 {
		type keyed struct {
			start int64
			rec   store.Record
		}
		ks := make([]keyed, len(recs))
		for i, r := range recs {
			st, _ := shred.StartTime(r.Doc)
			ks[i] = keyed{st, r}
		}
		slices.SortStableFunc(ks, func(a, b keyed) int { return cmp.Compare(a.start, b.start) })
		recs = make([]store.Record, len(ks))
		for i := range ks {
			recs[i] = ks[i].rec
		}
	}
	ctx := shred.Context{Trace: tid}
	for i := range recs {
		r := &recs[i]
		var fl byte
		if r.InProgress {
			fl |= docInProgress
		}
		if r.Independent {
			fl |= docIndependent
		}
		ctx.ID = uint64(r.ID)
		w.docs.Add(ctx, r.Doc)
		if p, ok := w.docs.LastParent(); ok && p == uint64(r.ParentID) {
			fl |= docParentInDoc
		} else if r.ParentID != 0 {
			fl |= docHasParent
			w.parents = binary.BigEndian.AppendUint64(w.parents, uint64(r.ParentID))
		}
		w.flags = append(w.flags, fl)
		w.ids = binary.BigEndian.AppendUint64(w.ids, uint64(r.ID))
	}
	if len(w.tids) == pageTraces {
		return w.flushPage()
	}
	return nil
}

func (w *blockWriter) flushPage() error {
	if len(w.tids) == 0 {
		return nil
	}
	pm := pageMeta{first: w.tids[0], last: w.tids[len(w.tids)-1], ord: w.traces, traces: uint32(len(w.tids))}

	raw := w.frame[:0]
	for _, c := range w.counts {
		raw = binary.AppendUvarint(raw, uint64(c))
	}
	raw = append(raw, w.flags...)
	raw = append(raw, w.ids...)
	raw = append(raw, w.parents...)
	raw = w.docs.AppendTo(raw)
	enc := zstdEnc.EncodeAll(raw, nil)
	pm.spanOff, pm.spanLen = w.off, int64(len(enc))
	w.spanBytes += pm.spanLen
	if err := w.write(enc); err != nil {
		return err
	}

	raw = raw[:0]
	for _, t := range w.tids {
		raw = append(raw, t[:]...)
	}
	enc = zstdEnc.EncodeAll(raw, enc[:0])
	pm.tidOff, pm.tidLen = w.off, int64(len(enc))
	w.sumBytes += pm.tidLen
	if err := w.write(enc); err != nil {
		return err
	}

	raw = appendSummaryFrame(raw[:0], w.sumLens, w.sums)
	enc = zstdEnc.EncodeAll(raw, enc[:0])
	pm.sumOff, pm.sumLen = w.off, int64(len(enc))
	w.sumBytes += pm.sumLen
	if err := w.write(enc); err != nil {
		return err
	}
	w.frame = raw

	w.pages = append(w.pages, pm)
	w.traces += uint32(len(w.tids))
	w.tids, w.sumLens, w.sums, w.counts = w.tids[:0], w.sumLens[:0], w.sums[:0], w.counts[:0]
	w.flags, w.ids, w.parents = w.flags[:0], w.ids[:0], w.parents[:0]
	w.docs.Reset()
	return nil
}

// size is the number of traces added so far.
func (w *blockWriter) size() int { return int(w.traces) + len(w.tids) }

// finish writes the postings and the footer, syncs the file and gives it
// its final name, and returns the block opened for reading.
func (w *blockWriter) finish() (*block, error) {
	if err := w.flushPage(); err != nil {
		w.abort()
		return nil, err
	}
	terms := make([]string, 0, len(w.postings))
	for t := range w.postings {
		terms = append(terms, t)
	}
	sort.Strings(terms)
	var raw []byte
	raw = binary.AppendUvarint(raw, uint64(len(terms)))
	for _, t := range terms {
		raw = binary.AppendUvarint(raw, uint64(len(t)))
		raw = append(raw, t...)
		l := w.postings[t]
		raw = binary.AppendUvarint(raw, uint64(len(l)))
		prev := uint32(0)
		for _, o := range l {
			raw = binary.AppendUvarint(raw, uint64(o-prev))
			prev = o
		}
	}
	enc := zstdEnc.EncodeAll(raw, nil)
	postOff, postLen := w.off, int64(len(enc))
	w.postBytes = postLen
	if err := w.write(enc); err != nil {
		w.abort()
		return nil, err
	}
	footer := appendFooter(nil, w.pages, postOff, postLen)
	footer = binary.BigEndian.AppendUint32(footer, uint32(len(footer)))
	footer = binary.BigEndian.AppendUint32(footer, crc32.Checksum(footer, crcTable))
	footer = append(footer, blockMagic...)
	if err := w.write(footer); err != nil {
		w.abort()
		return nil, err
	}
	if err := w.f.Sync(); err != nil {
		w.abort()
		return nil, fmt.Errorf("sync block: %w", err)
	}
	w.f.Close()
	final := filepath.Join(w.dir, blockName(w.first, w.last))
	if err := os.Rename(w.tmp, final); err != nil {
		os.Remove(w.tmp)
		return nil, fmt.Errorf("name block: %w", err)
	}
	if err := syncDir(w.dir); err != nil {
		return nil, err
	}
	return openBlock(final)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// appendFooter encodes the page index: uvarint pages, per page first and
// last trace id, uvarint traces, uvarint span frame offset and length,
// uvarint summary frame length (it follows the span frame); then uvarint
// postings offset and length.
func appendFooter(dst []byte, pages []pageMeta, postOff, postLen int64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(pages)))
	for _, p := range pages {
		dst = append(dst, p.first[:]...)
		dst = append(dst, p.last[:]...)
		dst = binary.AppendUvarint(dst, uint64(p.traces))
		dst = binary.AppendUvarint(dst, uint64(p.spanOff))
		dst = binary.AppendUvarint(dst, uint64(p.spanLen))
		dst = binary.AppendUvarint(dst, uint64(p.tidLen))
		dst = binary.AppendUvarint(dst, uint64(p.sumLen))
	}
	dst = binary.AppendUvarint(dst, uint64(postOff))
	return binary.AppendUvarint(dst, uint64(postLen))
}

var errCorruptBlock = errors.New("corrupt block")

// openBlock opens a block file and reads its page index.
func openBlock(path string) (*block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open block: %w", err)
	}
	b, err := readFooter(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	b.refs.Store(1)
	return b, nil
}

func readFooter(f *os.File, path string) (*block, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open block: %w", err)
	}
	size := st.Size()
	bad := func(why string) error {
		return fmt.Errorf("block %s: %w: %s", filepath.Base(path), errCorruptBlock, why)
	}
	if size < int64(len(blockMagic))*2+8 {
		return nil, bad("too short")
	}
	tail := make([]byte, 16)
	if _, err := f.ReadAt(tail, size-16); err != nil {
		return nil, fmt.Errorf("read block: %w", err)
	}
	if string(tail[8:]) != blockMagic {
		return nil, bad("no magic")
	}
	flen := int64(binary.BigEndian.Uint32(tail[:4]))
	if flen > size-24 {
		return nil, bad("footer length")
	}
	footer := make([]byte, flen+4)
	if _, err := f.ReadAt(footer, size-16-flen); err != nil {
		return nil, fmt.Errorf("read block: %w", err)
	}
	if crc32.Checksum(footer, crcTable) != binary.BigEndian.Uint32(tail[4:8]) {
		return nil, bad("footer checksum")
	}
	b := &block{path: path, f: f, size: size}
	d := byteReader{b: footer[:flen]}
	n := d.uvarint()
	if n > uint64(flen) {
		return nil, bad("page count")
	}
	var ord uint32
	for range n {
		var p pageMeta
		copy(p.first[:], d.bytes(16))
		copy(p.last[:], d.bytes(16))
		p.ord = ord
		p.traces = uint32(d.uvarint())
		p.spanOff, p.spanLen = int64(d.uvarint()), int64(d.uvarint())
		p.tidOff, p.tidLen = p.spanOff+p.spanLen, int64(d.uvarint())
		p.sumOff, p.sumLen = p.tidOff+p.tidLen, int64(d.uvarint())
		if p.sumOff+p.sumLen > size || p.spanOff < 0 {
			return nil, bad("page offsets")
		}
		ord += p.traces
		b.pages = append(b.pages, p)
	}
	b.postOff, b.postLen = int64(d.uvarint()), int64(d.uvarint())
	if d.err != nil || len(b.pages) == 0 || b.postOff+b.postLen > size {
		return nil, bad("footer")
	}
	b.first, b.last = b.pages[0].first, b.pages[len(b.pages)-1].last
	return b, nil
}

// frame reads and decompresses a frame into a buffer from framePool: give
// it back with putFrame once nothing points into it.
func (b *block) frame(off, n int64) ([]byte, error) {
	in := getFrame(int(n))
	defer putFrame(in)
	in = in[:n]
	if _, err := b.f.ReadAt(in, off); err != nil {
		return nil, fmt.Errorf("read block %s: %w", filepath.Base(b.path), err)
	}
	out, err := zstdDec.DecodeAll(in, getFrame(0))
	if err != nil {
		return nil, fmt.Errorf("block %s: %w: %v", filepath.Base(b.path), errCorruptBlock, err)
	}
	return out, nil
}

// framePool recycles frame buffers: a trace lookup decompresses a page of
// several hundred kilobytes, which would otherwise be garbage at once.
var framePool sync.Pool

func getFrame(n int) []byte {
	if p, ok := framePool.Get().(*[]byte); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]byte, 0, max(n, 64<<10))
}

func putFrame(b []byte) {
	if cap(b) <= 4<<20 {
		framePool.Put(&b)
	}
}

// page returns the index of the page that would hold tid, or -1.
func (b *block) page(tid model.TraceID) int {
	i := sort.Search(len(b.pages), func(i int) bool { return bytes.Compare(b.pages[i].last[:], tid[:]) >= 0 })
	if i == len(b.pages) || bytes.Compare(b.pages[i].first[:], tid[:]) > 0 {
		return -1
	}
	return i
}

// sumPage is a decoded summaries frame.
type sumPage struct {
	tids []model.TraceID
	offs []int // n+1 offsets into data
	data []byte
}

func (sp *sumPage) summary(i int) []byte { return sp.data[sp.offs[i]:sp.offs[i+1]] }

func (sp *sumPage) find(tid model.TraceID) int {
	i, ok := slices.BinarySearchFunc(sp.tids, tid, cmpTID)
	if !ok {
		return -1
	}
	return i
}

// tids returns the trace ids of page pi.
func (b *block) tids(pi int) ([]model.TraceID, error) {
	p := &b.pages[pi]
	raw, err := b.frame(p.tidOff, p.tidLen)
	if err != nil {
		return nil, err
	}
	defer putFrame(raw)
	if len(raw) != 16*int(p.traces) {
		return nil, fmt.Errorf("block %s: %w: trace ids", filepath.Base(b.path), errCorruptBlock)
	}
	tids := make([]model.TraceID, p.traces)
	for i := range tids {
		copy(tids[i][:], raw[16*i:])
	}
	return tids, nil
}

func (b *block) summaries(pi int) (*sumPage, error) {
	tids, err := b.tids(pi)
	if err != nil {
		return nil, err
	}
	p := &b.pages[pi]
	raw, err := b.frame(p.sumOff, p.sumLen)
	if err != nil {
		return nil, err
	}
	sp, err := decodeSummaryFrame(raw, tids)
	putFrame(raw)
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", filepath.Base(b.path), err)
	}
	return sp, nil
}

// A summaries frame stores the page's summaries by column (their trace ids
// are in the page's trace-id frame): the lengths of the n summaries (0: the
// trace has none); the version bytes of the m present; the lengths and
// bytes of their heads after the version (flags, times, counts, HTTP:
// store.SummaryHeadLen); their bodies (services onwards). Heads and bodies
// of neighbouring traces compress better side by side.
//
//	uvarint n | n × uvarint length | m × version | m × uvarint head length
//	| heads | bodies
func appendSummaryFrame(dst []byte, lens []int, sums []byte) []byte {
	type parts struct {
		row  []byte
		head int // end of the head in row
	}
	var rows []parts
	off := 0
	dst = binary.AppendUvarint(dst, uint64(len(lens)))
	for _, l := range lens {
		dst = binary.AppendUvarint(dst, uint64(l))
		row := sums[off : off+l]
		off += l
		if l == 0 {
			continue
		}
		h, err := store.SummaryHeadLen(row)
		if err != nil || h < 1 || h > l {
			h = 1 // not a summary this version splits: the body takes it
		}
		rows = append(rows, parts{row, h})
	}
	for _, r := range rows {
		dst = append(dst, r.row[0])
	}
	for _, r := range rows {
		dst = binary.AppendUvarint(dst, uint64(r.head-1))
	}
	for _, r := range rows {
		dst = append(dst, r.row[1:r.head]...)
	}
	for _, r := range rows {
		dst = append(dst, r.row[r.head:]...)
	}
	return dst
}

func decodeSummaryFrame(raw []byte, tids []model.TraceID) (*sumPage, error) {
	bad := fmt.Errorf("%w: summaries", errCorruptBlock)
	d := byteReader{b: raw}
	n := uint64(len(tids))
	sp := &sumPage{tids: tids, offs: make([]int, n+1)}
	if d.uvarint() != n {
		return nil, bad
	}
	lens := make([]int, n)
	total, m := 0, 0
	for i := range lens {
		l := d.uvarint()
		if d.err != nil || l > uint64(len(raw)) {
			return nil, bad
		}
		lens[i] = int(l)
		total += int(l)
		sp.offs[i+1] = total
		if l > 0 {
			m++
		}
	}
	versions := d.bytes(m)
	heads := make([]int, m)
	headTotal := 0
	for i := range heads {
		heads[i] = int(d.uvarint())
		headTotal += heads[i]
		if d.err != nil || headTotal > len(raw) {
			return nil, bad
		}
	}
	headBytes := d.bytes(headTotal)
	if d.err != nil {
		return nil, bad
	}
	bodies := raw[d.i:]
	sp.data = make([]byte, 0, total)
	j := 0
	for _, l := range lens {
		if l == 0 {
			continue
		}
		body := l - 1 - heads[j]
		if body < 0 || body > len(bodies) {
			return nil, bad
		}
		sp.data = append(sp.data, versions[j])
		sp.data = append(sp.data, headBytes[:heads[j]]...)
		sp.data = append(sp.data, bodies[:body]...)
		headBytes, bodies = headBytes[heads[j]:], bodies[body:]
		j++
	}
	return sp, nil
}

// trace returns the records of tid, nil if the block does not hold it.
func (b *block) trace(tid model.TraceID) ([]store.Record, error) {
	pi := b.page(tid)
	if pi < 0 {
		return nil, nil
	}
	tids, err := b.tids(pi)
	if err != nil {
		return nil, err
	}
	ti, found := slices.BinarySearchFunc(tids, tid, cmpTID)
	if !found {
		return nil, nil
	}
	p := &b.pages[pi]
	raw, err := b.frame(p.spanOff, p.spanLen)
	if err != nil {
		return nil, err
	}
	defer putFrame(raw) // the records' documents are copies
	bad := fmt.Errorf("block %s: %w: spans", filepath.Base(b.path), errCorruptBlock)
	d := byteReader{b: raw}
	counts := make([]int, p.traces)
	docs := 0
	for i := range counts {
		counts[i] = int(d.uvarint())
		docs += counts[i]
		if d.err != nil || docs > len(raw) {
			return nil, bad
		}
	}
	flags := d.bytes(docs)
	ids := d.bytes(8 * docs)
	parents := 0
	for _, f := range flags {
		if f&docHasParent != 0 {
			parents++
		}
	}
	pids := d.bytes(8 * parents)
	if d.err != nil {
		return nil, bad
	}
	r, err := shred.NewReader(raw[d.i:])
	if err != nil || r.Len() != docs {
		return nil, bad
	}
	first, err := r.Seek(ti / markTraces)
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", filepath.Base(b.path), err)
	}
	doc, pidx := 0, 0
	t := 0
	for ; t < ti/markTraces*markTraces; t++ {
		doc += counts[t]
	}
	if doc != first {
		return nil, bad
	}
	for _, f := range flags[:doc] {
		if f&docHasParent != 0 {
			pidx++
		}
	}
	var out []store.Record
	var scratch []byte
	for ; t <= ti; t++ {
		r.StartTrace()
		for range counts[t] {
			rec := store.Record{
				ID:          model.SpanID(binary.BigEndian.Uint64(ids[8*doc:])),
				InProgress:  flags[doc]&docInProgress != 0,
				Independent: flags[doc]&docIndependent != 0,
			}
			ctx := shred.Context{Trace: tids[t], ID: uint64(rec.ID)}
			if t < ti {
				scratch, err = r.Next(scratch[:0], ctx)
			} else {
				rec.Doc, err = r.Next(nil, ctx)
			}
			if err != nil {
				return nil, fmt.Errorf("block %s: %w", filepath.Base(b.path), err)
			}
			switch {
			case flags[doc]&docParentInDoc != 0:
				p, ok := r.Parent()
				if !ok {
					return nil, bad
				}
				rec.ParentID = model.SpanID(p)
			case flags[doc]&docHasParent != 0:
				if 8*pidx+8 > len(pids) {
					return nil, bad
				}
				rec.ParentID = model.SpanID(binary.BigEndian.Uint64(pids[8*pidx:]))
				pidx++
			}
			if t == ti {
				out = append(out, rec)
			}
			doc++
		}
	}
	slices.SortFunc(out, func(a, b store.Record) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// posting returns the ordinals of the block's traces holding term, newest
// (largest) first.
func (b *block) posting(term []byte) ([]uint32, error) {
	b.postOnce.Do(func() {
		raw, err := b.frame(b.postOff, b.postLen)
		if err != nil {
			b.postErr = err
			return
		}
		d := byteReader{b: raw}
		n := d.uvarint()
		if n > uint64(len(raw)) {
			b.postErr = errCorruptBlock
			return
		}
		m := make(map[string][]byte, n)
		for range n {
			t := d.bytes(int(d.uvarint()))
			c := d.uvarint()
			start := d.i
			for range c {
				d.uvarint()
			}
			if d.err != nil {
				break
			}
			m[string(t)] = raw[start:d.i:d.i]
		}
		if d.err != nil {
			b.postErr = fmt.Errorf("block %s: %w: postings", filepath.Base(b.path), errCorruptBlock)
			return
		}
		b.postings = m
	})
	if b.postErr != nil {
		return nil, b.postErr
	}
	l, ok := b.postings[string(term)]
	if !ok {
		return nil, nil
	}
	d := byteReader{b: l}
	var out []uint32
	var ord uint32
	for d.i < len(l) && d.err == nil {
		ord += uint32(d.uvarint())
		out = append(out, ord)
	}
	slices.Reverse(out)
	return out, nil
}

// pageOf returns the page holding ordinal ord.
func (b *block) pageOf(ord uint32) int {
	return sort.Search(len(b.pages), func(i int) bool { return b.pages[i].ord+b.pages[i].traces > ord })
}

type byteReader struct {
	b   []byte
	i   int
	err error
}

func (d *byteReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		d.err = errCorruptBlock
		return 0
	}
	d.i += n
	return v
}

func (d *byteReader) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.i {
		d.err = errCorruptBlock
		return nil
	}
	b := d.b[d.i : d.i+n : d.i+n]
	d.i += n
	return b
}
