// Package shred stores span documents in columns. A page of documents is
// split by JSON path: every path (for example subsegments[].http.response.status)
// gets its own stream of type tags and its own stream of values, and objects
// keep only the index of their key list. Values are stored in the form that
// costs least: span ids as 8 bytes, trace ids and UUIDs as 16, times as the
// difference from the enclosing span's start, and the trace id, span id and
// parent id of the document's header not at all. A compressor then finds
// each column's regularities, which interleaved JSON hides.
//
// The encoding is exact: a document decodes to the bytes it was added with.
// Documents that are not strict, compact JSON (or JSON in the ", " and ": "
// style of Python's json.dumps) are kept whole, as they came.
package shred

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Tags: the kind of one value. Every value has one, in its path's tag stream.
const (
	tObject     = iota + 1 // vals: uvarint shape
	tArray                 // vals: uvarint length
	tTrue                  //
	tFalse                 //
	tNull                  //
	tString                // vals: uvarint length, raw bytes (escapes kept)
	tHex8                  // vals: 8 bytes, 16 lowercase hex digits
	tHex16                 // vals: 16 bytes, 32 lowercase hex digits
	tUUID                  // vals: 16 bytes, 8-4-4-4-12 lowercase hex
	tUUIDUpper             // vals: 16 bytes, 8-4-4-4-12 uppercase hex
	tTraceID               // vals: 16 bytes, 1-8hex-24hex
	tSameTrace             // the document's trace id
	tSameID                // the document's own id
	tSameParent            // the document's parent id
	tInt                   // vals: zigzag varint, a canonical integer literal
	tNumber                // vals: uvarint length, the literal
	tHex8Upper             // vals: 8 bytes, 16 uppercase hex digits
	tStrRef                // vals: uvarint, the index of a string in the column's dictionary
	tIDRef                 // vals: uvarint, the index of an id seen before in the trace (StartTrace)
	tTime                  // tTime+d, d fraction digits (0..9): vals zigzag varint delta
	tTimeEnd    = tTime + 9
)

// Document styles, one byte per document.
const (
	styleCompact = iota
	stylePython  // ", " and ": " separators
	styleRaw     // kept whole
)

const (
	rootPath = 0
	elemKey  = "\x00[]" // the path component of array elements
	maxDepth = 64
)

// Context is what a document's header already holds: the block stores these
// beside the document, so the document does not repeat them.
type Context struct {
	Trace  [16]byte // binary trace id: epoch seconds, then 12 random bytes
	ID     uint64
	Parent uint64
}

// A column holds the values of one path. Values at one path never nest (a
// nested value has a longer path), so an object's shape and an array's
// length can be written when it closes and still be read, in the same
// order, when it opens.
type column struct {
	parent   int32
	key      string
	tags     []byte
	vals     []byte
	children map[string]int32
	// The column's distinct strings: values store an index, so a page
	// holds each repeated name, URL or query once, and decompresses to
	// little more than its indexes.
	dict  map[string]int
	dictN []string
}

// Writer accumulates the documents of one page.
type Writer struct {
	cols    []column
	shapes  map[string]int
	shapeLs [][]string // shape keys, by index
	styles  []byte
	raw     []byte // uvarint length + document, for styleRaw
	docs    int

	marks []wmark

	// The span ids seen in the current trace, by first position: a parent
	// id is nearly always one of them, and costs an index instead of 8
	// bytes.
	ids       map[uint64]int
	nids      int
	parent    uint64
	hasParent bool

	// encoding state
	ctx       Context
	frames    []frame
	lastStart int64 // start of the previous top-level span, in ns
	keys      [][]byte
	shapeBuf  []byte
}

// A mark is a place where a reader can start decoding: the documents
// before it need not be decoded.
type wmark struct {
	doc, raw  int
	lastStart int64
	pos       []int // tags and vals lengths of each column then
}

// Mark records a place before the next document where a reader can start
// (Reader.Seek), and returns its number. A mark costs a few bytes per path.
func (w *Writer) Mark() int {
	m := wmark{doc: w.docs, raw: len(w.raw), lastStart: w.lastStart, pos: make([]int, 0, 2*len(w.cols))}
	for _, c := range w.cols {
		m.pos = append(m.pos, len(c.tags), len(c.vals))
	}
	w.marks = append(w.marks, m)
	return len(w.marks) - 1
}

type frame struct {
	start    int64
	hasStart bool
	end      int64 // the span's end, once read
	hasEnd   bool
	// The end of the last child span closed so far: sequential calls start
	// right after it, so it predicts the next child's start best.
	childEnd    int64
	hasChildEnd bool
}

// NewWriter returns an empty page.
func NewWriter() *Writer {
	w := &Writer{}
	w.Reset()
	return w
}

// Reset empties the page for reuse.
func (w *Writer) Reset() {
	w.cols = append(w.cols[:0], column{parent: -1})
	clear(w.cols[:cap(w.cols)][1:]) // drop the old pages' dictionaries
	w.shapes = make(map[string]int)
	w.shapeLs = w.shapeLs[:0]
	w.styles = w.styles[:0]
	w.raw = w.raw[:0]
	w.docs = 0
	w.lastStart = 0
	w.marks = w.marks[:0]
	w.StartTrace()
}

// StartTrace starts a new trace: parent ids refer back only to ids of the
// same trace. Call it at the same documents when reading.
func (w *Writer) StartTrace() {
	if w.ids == nil || len(w.ids) > 0 {
		w.ids = make(map[uint64]int)
	}
	w.nids = 0
}

func (w *Writer) register(id uint64) {
	if _, ok := w.ids[id]; !ok {
		w.ids[id] = w.nids
	}
	w.nids++
}

// LastParent reports the parent id a reader finds in the last document
// added (Reader.Parent).
func (w *Writer) LastParent() (uint64, bool) { return w.parent, w.hasParent }

// Len reports the number of documents added.
func (w *Writer) Len() int { return w.docs }

// Add appends one document.
func (w *Writer) Add(ctx Context, doc []byte) {
	w.docs++
	style, ok := check(doc)
	if !ok {
		w.parent, w.hasParent = 0, false
		w.styles = append(w.styles, styleRaw)
		w.raw = binary.AppendUvarint(w.raw, uint64(len(doc)))
		w.raw = append(w.raw, doc...)
		return
	}
	w.styles = append(w.styles, style)
	w.ctx = ctx
	w.frames = w.frames[:0]
	w.parent, w.hasParent = 0, false
	w.register(ctx.ID)
	p := parser{b: doc}
	w.value(&p, rootPath, nil)
}

func (w *Writer) child(parent int32, key []byte) int32 {
	c := &w.cols[parent]
	if id, ok := c.children[string(key)]; ok {
		return id
	}
	if c.children == nil {
		c.children = make(map[string]int32)
	}
	id := int32(len(w.cols))
	c.children[string(key)] = id
	w.cols = append(w.cols, column{parent: parent, key: string(key)})
	return id
}

var elemKeyBytes = []byte(elemKey)

// value encodes the value at p (already checked to be valid) into path.
// key is the member name the value is under (nil for array elements and the
// root).
func (w *Writer) value(p *parser, path int32, key []byte) {
	p.skipSpace()
	switch p.b[p.i] {
	case '{':
		w.cols[path].tags = append(w.cols[path].tags, tObject)
		p.i++
		w.frames = append(w.frames, frame{})
		mark := len(w.keys)
		for {
			p.skipSpace()
			if p.b[p.i] == '}' {
				p.i++
				break
			}
			k := p.rawStr()
			w.keys = append(w.keys, k)
			p.skipSpace()
			p.i++ // ':'
			w.value(p, w.child(path, k), k)
			p.skipSpace()
			if p.b[p.i] == ',' {
				p.i++
			}
		}
		shape := w.shape(w.keys[mark:])
		w.keys = w.keys[:mark]
		closeFrame(&w.frames)
		c := &w.cols[path]
		c.vals = binary.AppendUvarint(c.vals, uint64(shape))
	case '[':
		w.cols[path].tags = append(w.cols[path].tags, tArray)
		p.i++
		elem := w.child(path, elemKeyBytes)
		n := 0
		for {
			p.skipSpace()
			if p.b[p.i] == ']' {
				p.i++
				break
			}
			n++
			w.value(p, elem, nil)
			p.skipSpace()
			if p.b[p.i] == ',' {
				p.i++
			}
		}
		c := &w.cols[path]
		c.vals = binary.AppendUvarint(c.vals, uint64(n))
	case '"':
		w.string(&w.cols[path], p.rawStr(), key, len(w.frames) == 1)
	case 't':
		p.i += 4
		w.cols[path].tags = append(w.cols[path].tags, tTrue)
	case 'f':
		p.i += 5
		w.cols[path].tags = append(w.cols[path].tags, tFalse)
	case 'n':
		p.i += 4
		w.cols[path].tags = append(w.cols[path].tags, tNull)
	default:
		w.number(&w.cols[path], p.number(), key)
	}
}

func (w *Writer) shape(keys [][]byte) int {
	w.shapeBuf = binary.AppendUvarint(w.shapeBuf[:0], uint64(len(keys)))
	for _, k := range keys {
		w.shapeBuf = append(w.shapeBuf, 0)
		w.shapeBuf = append(w.shapeBuf, k...)
	}
	if shape, ok := w.shapes[string(w.shapeBuf)]; ok {
		return shape
	}
	shape := len(w.shapeLs)
	w.shapes[string(w.shapeBuf)] = shape
	ks := make([]string, len(keys))
	for i, k := range keys {
		ks[i] = string(k)
	}
	w.shapeLs = append(w.shapeLs, ks)
	return shape
}

func (w *Writer) string(c *column, s, key []byte, top bool) {
	if len(s) == 16 && isLowerHex(s) {
		v := parseHex8(s)
		switch {
		case top && string(key) == "id" && v == w.ctx.ID:
			c.tags = append(c.tags, tSameID)
			w.register(v)
			return
		case top && string(key) == "parent_id" && v == w.ctx.Parent && v != 0:
			c.tags = append(c.tags, tSameParent)
			w.parent, w.hasParent = v, true
			return
		case top && string(key) == "parent_id":
			w.parent, w.hasParent = v, true
			if i, ok := w.ids[v]; ok {
				c.tags = append(c.tags, tIDRef)
				c.vals = binary.AppendUvarint(c.vals, uint64(i))
				return
			}
		case string(key) == "id":
			c.tags = append(c.tags, tHex8)
			c.vals = binary.BigEndian.AppendUint64(c.vals, v)
			w.register(v)
			return
		}
	}
	if t, ok := parseTraceID(s); ok {
		if t == w.ctx.Trace {
			c.tags = append(c.tags, tSameTrace)
		} else {
			c.tags = append(c.tags, tTraceID)
			c.vals = append(c.vals, t[:]...)
		}
		return
	}
	switch {
	case len(s) == 16 && isLowerHex(s):
		c.tags = append(c.tags, tHex8)
		c.vals = binary.BigEndian.AppendUint64(c.vals, parseHex8(s))
		return
	case len(s) == 16 && isUpperHex(s):
		c.tags = append(c.tags, tHex8Upper)
		c.vals = binary.BigEndian.AppendUint64(c.vals, parseHex8(s))
		return
	case len(s) == 32 && isLowerHex(s):
		c.tags = append(c.tags, tHex16)
		c.vals = binary.BigEndian.AppendUint64(c.vals, parseHex8(s[:16]))
		c.vals = binary.BigEndian.AppendUint64(c.vals, parseHex8(s[16:]))
		return
	}
	if u, upper, ok := parseUUID(s); ok {
		if upper {
			c.tags = append(c.tags, tUUIDUpper)
		} else {
			c.tags = append(c.tags, tUUID)
		}
		c.vals = append(c.vals, u[:]...)
		return
	}
	i, ok := c.dict[string(s)]
	if !ok {
		if c.dict == nil {
			c.dict = make(map[string]int)
		}
		i = len(c.dictN)
		c.dict[string(s)] = i
		c.dictN = append(c.dictN, string(s))
	}
	c.tags = append(c.tags, tStrRef)
	c.vals = binary.AppendUvarint(c.vals, uint64(i))
}

func (w *Writer) number(c *column, lit, key []byte) {
	if start, end := string(key) == "start_time", string(key) == "end_time"; start || end {
		if ns, digits, ok := parseTime(lit); ok {
			ref := timeRef(w.frames, end, w.lastStart)
			c.tags = append(c.tags, byte(tTime+digits))
			c.vals = binary.AppendVarint(c.vals, scaled(ns, digits)-scaled(ref, digits))
			if start {
				setStart(w.frames, &w.lastStart, ns)
			} else {
				setEnd(w.frames, ns)
			}
			return
		}
	}
	if v, ok := parseInt(lit); ok {
		c.tags = append(c.tags, tInt)
		c.vals = binary.AppendVarint(c.vals, v)
		return
	}
	c.tags = append(c.tags, tNumber)
	c.vals = binary.AppendUvarint(c.vals, uint64(len(lit)))
	c.vals = append(c.vals, lit...)
}

// timeRef is the time a start or end time is stored relative to: for an end
// time its own span's start, else the nearest enclosing span's start, else
// the previous document's start. Encoder and decoder walk documents in the
// same order, so both compute the same reference.
func timeRef(frames []frame, end bool, last int64) int64 {
	n := len(frames) - 1 // the frame holding the value
	if !end {
		n-- // a start time refers to the enclosing span
		if n >= 0 && frames[n].hasChildEnd {
			return frames[n].childEnd // or to the end of its previous child
		}
	}
	for i := n; i >= 0; i-- {
		if frames[i].hasStart {
			return frames[i].start
		}
	}
	return last
}

func setStart(frames []frame, last *int64, ns int64) {
	if len(frames) == 0 {
		return
	}
	f := &frames[len(frames)-1]
	f.start, f.hasStart = ns, true
	if len(frames) == 1 {
		*last = ns
	}
}

func setEnd(frames []frame, ns int64) {
	if len(frames) > 0 {
		f := &frames[len(frames)-1]
		f.end, f.hasEnd = ns, true
	}
}

// closeFrame pops the innermost frame; a span that had an end passes it to
// the span enclosing it.
func closeFrame(frames *[]frame) {
	fs := *frames
	f := fs[len(fs)-1]
	fs = fs[:len(fs)-1]
	if f.hasEnd && len(fs) > 0 {
		p := &fs[len(fs)-1]
		p.childEnd, p.hasChildEnd = f.end, true
	}
	*frames = fs
}

// scaled converts ns to units of 10^-digits seconds, truncating.
func scaled(ns int64, digits int) int64 { return ns / pow10[9-digits] }

func unscaled(v int64, digits int) int64 { return v * pow10[9-digits] }

var pow10 = [10]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// AppendTo appends the page's encoding.
func (w *Writer) AppendTo(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(w.docs))
	dst = append(dst, w.styles...)
	dst = binary.AppendUvarint(dst, uint64(len(w.raw)))
	dst = append(dst, w.raw...)
	dst = binary.AppendUvarint(dst, uint64(len(w.shapeLs)))
	for _, keys := range w.shapeLs {
		dst = binary.AppendUvarint(dst, uint64(len(keys)))
		for _, k := range keys {
			dst = binary.AppendUvarint(dst, uint64(len(k)))
			dst = append(dst, k...)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(w.cols)))
	for _, c := range w.cols[1:] {
		dst = binary.AppendUvarint(dst, uint64(c.parent))
		dst = binary.AppendUvarint(dst, uint64(len(c.key)))
		dst = append(dst, c.key...)
	}
	// Tags as runs where a path holds long runs of one kind, else as they
	// are: the tag count, then the stream's length times two, plus one for
	// runs.
	rles := make([][]byte, len(w.cols))
	for i, c := range w.cols {
		rles[i] = appendRuns(nil, c.tags)
		mode := 1
		if len(rles[i]) > len(c.tags)/4 {
			rles[i], mode = c.tags, 0
		}
		dst = binary.AppendUvarint(dst, uint64(len(c.tags)))
		dst = binary.AppendUvarint(dst, uint64(2*len(rles[i])+mode))
		dst = binary.AppendUvarint(dst, uint64(len(c.vals)))
	}
	var dict []byte
	for _, c := range w.cols {
		dict = dict[:0]
		for _, v := range c.dictN {
			dict = binary.AppendUvarint(dict, uint64(len(v)))
			dict = append(dict, v...)
		}
		dst = binary.AppendUvarint(dst, uint64(len(c.dictN)))
		dst = binary.AppendUvarint(dst, uint64(len(dict)))
		dst = append(dst, dict...)
	}
	for _, r := range rles {
		dst = append(dst, r...)
	}
	for _, c := range w.cols {
		dst = append(dst, c.vals...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(w.marks)))
	var prev []int
	for _, m := range w.marks {
		dst = binary.AppendUvarint(dst, uint64(m.doc))
		dst = binary.AppendUvarint(dst, uint64(m.raw))
		dst = binary.AppendVarint(dst, m.lastStart)
		dst = binary.AppendUvarint(dst, uint64(len(m.pos)/2))
		for i, p := range m.pos {
			if i < len(prev) {
				p -= prev[i]
			}
			dst = binary.AppendUvarint(dst, uint64(p))
		}
		prev = m.pos
	}
	return dst
}

// appendRuns writes tags as runs: the tag byte, then the run's length as a
// uvarint. Most paths hold one kind of value, so their tags are one run,
// and a page decompresses to its values, not to a byte per value.
func appendRuns(dst, tags []byte) []byte {
	for i := 0; i < len(tags); {
		j := i + 1
		for j < len(tags) && tags[j] == tags[i] {
			j++
		}
		dst = append(dst, tags[i])
		dst = binary.AppendUvarint(dst, uint64(j-i))
		i = j
	}
	return dst
}

// ErrCorrupt reports a page that does not decode.
var ErrCorrupt = errors.New("shred: corrupt page")

// Reader decodes a page's documents in the order they were added.
type Reader struct {
	styles []byte
	raw    []byte
	shapes []rshape
	cols   []rcolumn
	next   int
	kids   map[uint64][]int32 // path<<32 | shape → the members' paths
	raw0   []byte

	nmarks    int
	markBytes []byte
	markPos   []int

	idList    []uint64 // ids seen in the current trace (Writer.StartTrace)
	parent    uint64
	hasParent bool

	ctx       Context
	frames    []frame
	lastStart int64
	depth     int
	python    bool
}

type rshape struct {
	keys []string
	// The members' names as written: `"name":`, and `"name": ` in the Python
	// style.
	compact, python [][]byte
}

// entry returns dictionary entry i.
func (c *rcolumn) entry(i uint64) ([]byte, bool) {
	if c.dictOff == nil && c.dictN > 0 {
		if c.dictN > len(c.dictRaw) {
			return nil, false
		}
		c.dictOff = make([]uint32, 0, c.dictN)
		d := decoder{b: c.dictRaw}
		for range c.dictN {
			c.dictOff = append(c.dictOff, uint32(d.i))
			d.bytes(int(d.uvarint()))
		}
		if d.err != nil {
			c.dictN = 0
			return nil, false
		}
	}
	if i >= uint64(c.dictN) {
		return nil, false
	}
	d := decoder{b: c.dictRaw, i: int(c.dictOff[i])}
	b := d.bytes(int(d.uvarint()))
	return b, d.err == nil
}

// next returns the column's next tag, false at the end or on a corrupt run.
func (c *rcolumn) next() (byte, bool) {
	if c.left == 0 {
		return 0, false
	}
	if c.plain {
		if len(c.runs) == 0 {
			return 0, false
		}
		t := c.runs[0]
		c.runs = c.runs[1:]
		c.left--
		return t, true
	}
	if c.run == 0 {
		if len(c.runs) < 2 {
			return 0, false
		}
		n, k := binary.Uvarint(c.runs[1:])
		if k <= 0 || n == 0 || n > uint64(c.left) {
			return 0, false
		}
		c.tag, c.run = c.runs[0], int(n)
		c.runs = c.runs[1+k:]
	}
	c.run--
	c.left--
	return c.tag, true
}

// skip passes n tags.
func (c *rcolumn) skip(n int) bool {
	if c.plain {
		if n > len(c.runs) || n > c.left {
			return false
		}
		c.runs, c.left = c.runs[n:], c.left-n
		return true
	}
	for n > 0 {
		if c.run == 0 {
			if _, ok := c.next(); !ok {
				return false
			}
			n--
			continue
		}
		k := min(n, c.run)
		c.run -= k
		c.left -= k
		n -= k
	}
	return true
}

// names returns the members' names as written, made on first use.
func (sh *rshape) names(python bool) [][]byte {
	if python {
		if sh.python == nil {
			sh.python = make([][]byte, len(sh.keys))
			for i, k := range sh.keys {
				sh.python[i] = append(append(append([]byte{'"'}, k...), '"'), ':', ' ')
			}
		}
		return sh.python
	}
	if sh.compact == nil {
		sh.compact = make([][]byte, len(sh.keys))
		for i, k := range sh.keys {
			sh.compact[i] = append(append(append([]byte{'"'}, k...), '"'), ':')
		}
	}
	return sh.compact
}

type rcolumn struct {
	// The dictionary: dictN entries (uvarint length, bytes) in dictRaw;
	// dictOff, made on first use, holds where each starts.
	dictRaw []byte
	dictN   int
	dictOff []uint32
	vals    []byte
	// Tags, as runs (appendRuns): the runs not yet read, the tag and
	// length left of the current one, and the tags left in all.
	runs         []byte
	plain        bool // runs holds one tag per value
	tag          byte
	run, left    int
	runs0, vals0 []byte // the whole streams, for Seek
	ntags        int
	children     map[string]int32
}

type rmark struct {
	doc, raw  int
	lastStart int64
	pos       []int
}

// NewReader parses a page's header.
func NewReader(page []byte) (*Reader, error) {
	r := &Reader{kids: make(map[uint64][]int32)}
	d := decoder{b: page}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(page)) {
		return nil, ErrCorrupt
	}
	r.styles = d.bytes(int(n))
	r.raw = d.bytes(int(d.uvarint()))
	ns := d.uvarint()
	if ns > uint64(len(page)) {
		return nil, ErrCorrupt
	}
	r.shapes = make([]rshape, 0, ns)
	for range ns {
		nk := d.uvarint()
		if nk > uint64(len(page)) {
			return nil, ErrCorrupt
		}
		sh := rshape{keys: make([]string, 0, nk)}
		for range nk {
			sh.keys = append(sh.keys, string(d.bytes(int(d.uvarint()))))
		}
		r.shapes = append(r.shapes, sh)
	}
	nc := d.uvarint()
	if nc < 1 || nc > uint64(len(page)) || d.err != nil {
		return nil, ErrCorrupt
	}
	r.cols = make([]rcolumn, nc)
	for i := 1; i < int(nc); i++ {
		parent := d.uvarint()
		key := string(d.bytes(int(d.uvarint())))
		if parent >= uint64(i) {
			return nil, ErrCorrupt
		}
		p := &r.cols[parent]
		if p.children == nil {
			p.children = make(map[string]int32)
		}
		p.children[key] = int32(i)
	}
	lens := make([][3]uint64, nc)
	for i := range lens {
		lens[i] = [3]uint64{d.uvarint(), d.uvarint(), d.uvarint()}
	}
	for i := range r.cols {
		n := d.uvarint()
		if n > uint64(len(page)) {
			return nil, ErrCorrupt
		}
		r.cols[i].dictN = int(n)
		r.cols[i].dictRaw = d.bytes(int(min(d.uvarint(), uint64(len(page)))))
	}
	for i := range r.cols {
		c := &r.cols[i]
		c.plain = lens[i][1]&1 == 0
		c.runs = d.bytes(int(min(lens[i][1]/2, uint64(len(page)))))
		c.ntags = int(min(lens[i][0], uint64(len(page))))
		c.left = c.ntags
		c.runs0 = c.runs
	}
	for i := range r.cols {
		r.cols[i].vals = d.bytes(int(min(lens[i][2], uint64(len(page)))))
		r.cols[i].vals0 = r.cols[i].vals
	}
	r.raw0 = r.raw
	nm := d.uvarint()
	if nm > uint64(len(page)) || d.err != nil {
		return nil, ErrCorrupt
	}
	// Marks are decoded when Seek needs one: a page of 1,024 traces has 128
	// of a few hundred offsets each.
	r.nmarks, r.markBytes = int(nm), page[d.i:]
	return r, nil
}

// mark decodes mark m: marks are stored as differences from the previous
// one, so it reads every mark up to m.
func (r *Reader) mark(m int) (rmark, error) {
	d := decoder{b: r.markBytes}
	pos := r.markPos[:0]
	var mk rmark
	for k := 0; k <= m; k++ {
		mk = rmark{doc: int(d.uvarint()), raw: int(d.uvarint()), lastStart: d.varint()}
		nc := d.uvarint()
		if nc > uint64(len(r.cols)) || d.err != nil || mk.doc > len(r.styles) || mk.raw > len(r.raw0) {
			return mk, ErrCorrupt
		}
		for i := range 2 * int(nc) {
			p := d.uvarint()
			if i < len(pos) {
				p += uint64(pos[i])
				pos[i] = int(p)
			} else {
				pos = append(pos, int(p))
			}
			lim := r.cols[i/2].ntags
			if i%2 == 1 {
				lim = len(r.cols[i/2].vals0)
			}
			if p > uint64(lim) {
				return mk, ErrCorrupt
			}
		}
		pos = pos[:2*nc]
	}
	if d.err != nil {
		return mk, ErrCorrupt
	}
	r.markPos = pos
	mk.pos = pos
	return mk, nil
}

// Len is the number of documents in the page.
func (r *Reader) Len() int { return len(r.styles) }

// StartTrace starts a new trace, where the writer started one.
func (r *Reader) StartTrace() { r.idList = r.idList[:0] }

// Parent reports the top-level parent_id of the last document decoded, if
// it had one in the form of a span id.
func (r *Reader) Parent() (uint64, bool) { return r.parent, r.hasParent }

// Seek moves to mark m (Writer.Mark), whose document comes next, and
// returns that document's index.
func (r *Reader) Seek(m int) (int, error) {
	if m < 0 || m >= r.nmarks {
		return 0, fmt.Errorf("%w: no mark %d", ErrCorrupt, m)
	}
	mk, err := r.mark(m)
	if err != nil {
		return 0, err
	}
	for i := range r.cols {
		c := &r.cols[i]
		c.runs, c.run, c.left, c.vals = c.runs0, 0, c.ntags, c.vals0
		if 2*i < len(mk.pos) { // else made after the mark
			if !c.skip(mk.pos[2*i]) {
				return 0, ErrCorrupt
			}
			c.vals = c.vals0[mk.pos[2*i+1]:]
		}
	}
	r.raw = r.raw0[mk.raw:]
	r.next = mk.doc
	r.lastStart = mk.lastStart
	return mk.doc, nil
}

// Next appends the next document to dst. ctx must be the one it was added
// with.
func (r *Reader) Next(dst []byte, ctx Context) ([]byte, error) {
	if r.next >= len(r.styles) {
		return dst, fmt.Errorf("%w: past the last document", ErrCorrupt)
	}
	style := r.styles[r.next]
	r.next++
	switch style {
	case styleRaw:
		r.parent, r.hasParent = 0, false
		d := decoder{b: r.raw}
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.b)-d.i) {
			return dst, ErrCorrupt
		}
		dst = append(dst, d.b[d.i:d.i+int(n)]...)
		r.raw = d.b[d.i+int(n):]
		return dst, nil
	case styleCompact, stylePython:
	default:
		return dst, ErrCorrupt
	}
	r.python = style == stylePython
	r.ctx = ctx
	r.frames = r.frames[:0]
	r.depth = 0
	r.parent, r.hasParent = 0, false
	r.idList = append(r.idList, ctx.ID)
	return r.value(dst, rootPath, "")
}

// members returns the paths of a shape's members under path.
func (r *Reader) members(path int32, shape uint64) []int32 {
	k := uint64(path)<<32 | shape
	if m, ok := r.kids[k]; ok {
		return m
	}
	keys := r.shapes[shape].keys
	m := make([]int32, len(keys))
	for i, key := range keys {
		id, ok := r.cols[path].children[key]
		if !ok {
			id = -1
		}
		m[i] = id
	}
	r.kids[k] = m
	return m
}

func (r *Reader) value(dst []byte, path int32, key string) ([]byte, error) {
	if path < 0 {
		return dst, ErrCorrupt
	}
	c := &r.cols[path]
	if r.depth > maxDepth*2 {
		return dst, ErrCorrupt
	}
	tag, ok := c.next()
	if !ok {
		return dst, ErrCorrupt
	}
	d := decoder{b: c.vals}
	var err error
	switch {
	case tag == tObject:
		shape := d.uvarint()
		if d.err != nil || shape >= uint64(len(r.shapes)) {
			return dst, ErrCorrupt
		}
		c.vals = d.b[d.i:]
		sh := &r.shapes[shape]
		names := sh.names(r.python)
		paths := r.members(path, shape)
		r.frames = append(r.frames, frame{})
		r.depth++
		dst = append(dst, '{')
		for i, p := range paths {
			if i > 0 {
				dst = r.comma(dst)
			}
			dst = append(dst, names[i]...)
			if dst, err = r.value(dst, p, sh.keys[i]); err != nil {
				return dst, err
			}
		}
		r.depth--
		closeFrame(&r.frames)
		return append(dst, '}'), nil
	case tag == tArray:
		n := d.uvarint()
		elem := int32(-1)
		if id, ok := c.children[elemKey]; ok {
			elem = id
		}
		if d.err != nil || n > 0 && (elem < 0 || n > uint64(r.cols[elem].left)) {
			return dst, ErrCorrupt
		}
		c.vals = d.b[d.i:]
		r.depth++
		dst = append(dst, '[')
		for i := range n {
			if i > 0 {
				dst = r.comma(dst)
			}
			if dst, err = r.value(dst, elem, ""); err != nil {
				return dst, err
			}
		}
		r.depth--
		return append(dst, ']'), nil
	case tag == tTrue:
		return append(dst, "true"...), nil
	case tag == tFalse:
		return append(dst, "false"...), nil
	case tag == tNull:
		return append(dst, "null"...), nil
	case tag == tString:
		s := d.bytes(int(d.uvarint()))
		dst = append(dst, '"')
		dst = append(dst, s...)
		dst = append(dst, '"')
	case tag == tStrRef:
		i := d.uvarint()
		str, ok := c.entry(i)
		if d.err != nil || !ok {
			return dst, ErrCorrupt
		}
		dst = append(dst, '"')
		dst = append(dst, str...)
		dst = append(dst, '"')
	case tag == tHex8:
		b := d.bytes(8)
		dst = appendQuotedHex(dst, b, false)
		if d.err == nil {
			switch {
			case key == "id":
				r.idList = append(r.idList, binary.BigEndian.Uint64(b))
			case key == "parent_id" && len(r.frames) == 1:
				r.parent, r.hasParent = binary.BigEndian.Uint64(b), true
			}
		}
	case tag == tIDRef:
		i := d.uvarint()
		if d.err != nil || i >= uint64(len(r.idList)) {
			return dst, ErrCorrupt
		}
		v := r.idList[i]
		dst = appendQuotedHex(dst, binary.BigEndian.AppendUint64(make([]byte, 0, 8), v), false)
		if key == "parent_id" && len(r.frames) == 1 {
			r.parent, r.hasParent = v, true
		}
	case tag == tHex8Upper:
		dst = appendQuotedHex(dst, d.bytes(8), true)
	case tag == tHex16:
		dst = appendQuotedHex(dst, d.bytes(16), false)
	case tag == tUUID, tag == tUUIDUpper:
		if u := d.bytes(16); d.err == nil {
			dst = appendUUID(dst, u, tag == tUUIDUpper)
		}
	case tag == tTraceID:
		var t [16]byte
		copy(t[:], d.bytes(16))
		dst = appendTraceID(dst, t)
	case tag == tSameTrace:
		dst = appendTraceID(dst, r.ctx.Trace)
	case tag == tSameID:
		dst = appendQuotedHex(dst, binary.BigEndian.AppendUint64(make([]byte, 0, 8), r.ctx.ID), false)
		r.idList = append(r.idList, r.ctx.ID)
	case tag == tSameParent:
		dst = appendQuotedHex(dst, binary.BigEndian.AppendUint64(make([]byte, 0, 8), r.ctx.Parent), false)
		r.parent, r.hasParent = r.ctx.Parent, true
	case tag == tInt:
		dst = strconv.AppendInt(dst, d.varint(), 10)
	case tag == tNumber:
		dst = append(dst, d.bytes(int(d.uvarint()))...)
	case tag >= tTime && tag <= tTimeEnd:
		digits := int(tag - tTime)
		ref := timeRef(r.frames, key == "end_time", r.lastStart)
		v := d.varint() + scaled(ref, digits)
		if key == "start_time" {
			setStart(r.frames, &r.lastStart, unscaled(v, digits))
		} else {
			setEnd(r.frames, unscaled(v, digits))
		}
		dst = appendTime(dst, v, digits)
	default:
		return dst, ErrCorrupt
	}
	if d.err != nil {
		return dst, ErrCorrupt
	}
	c.vals = d.b[d.i:]
	return dst, nil
}

func (r *Reader) comma(dst []byte) []byte {
	if r.python {
		return append(dst, ", "...)
	}
	return append(dst, ',')
}

type decoder struct {
	b   []byte
	i   int
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.i += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.i:])
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.i += n
	return v
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.i {
		d.err = ErrCorrupt
		return nil
	}
	b := d.b[d.i : d.i+n : d.i+n]
	d.i += n
	return b
}
