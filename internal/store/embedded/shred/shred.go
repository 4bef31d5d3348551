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
}

// Writer accumulates the documents of one page.
type Writer struct {
	cols    []column
	shapes  map[string]int
	shapeLs [][]string // shape keys, by index
	styles  []byte
	raw     []byte // uvarint length + document, for styleRaw
	docs    int

	// encoding state
	ctx       Context
	frames    []frame
	lastStart int64 // start of the previous top-level span, in ns
	keys      [][]byte
	shapeBuf  []byte
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
	w.shapes = make(map[string]int)
	w.shapeLs = w.shapeLs[:0]
	w.styles = w.styles[:0]
	w.raw = w.raw[:0]
	w.docs = 0
	w.lastStart = 0
}

// Len reports the number of documents added.
func (w *Writer) Len() int { return w.docs }

// Add appends one document.
func (w *Writer) Add(ctx Context, doc []byte) {
	w.docs++
	style, ok := check(doc)
	if !ok {
		w.styles = append(w.styles, styleRaw)
		w.raw = binary.AppendUvarint(w.raw, uint64(len(doc)))
		w.raw = append(w.raw, doc...)
		return
	}
	w.styles = append(w.styles, style)
	w.ctx = ctx
	w.frames = w.frames[:0]
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
	if top && len(s) == 16 && isLowerHex(s) {
		switch {
		case string(key) == "id" && parseHex8(s) == w.ctx.ID:
			c.tags = append(c.tags, tSameID)
			return
		case string(key) == "parent_id" && parseHex8(s) == w.ctx.Parent:
			c.tags = append(c.tags, tSameParent)
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
	c.tags = append(c.tags, tString)
	c.vals = binary.AppendUvarint(c.vals, uint64(len(s)))
	c.vals = append(c.vals, s...)
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
	for _, c := range w.cols {
		dst = binary.AppendUvarint(dst, uint64(len(c.tags)))
		dst = binary.AppendUvarint(dst, uint64(len(c.vals)))
	}
	for _, c := range w.cols {
		dst = append(dst, c.tags...)
	}
	for _, c := range w.cols {
		dst = append(dst, c.vals...)
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

type rcolumn struct {
	tags, vals []byte
	children   map[string]int32
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
			k := d.bytes(int(d.uvarint()))
			sh.keys = append(sh.keys, string(k))
			sh.compact = append(sh.compact, append(append(append([]byte{'"'}, k...), '"'), ':'))
			sh.python = append(sh.python, append(append(append([]byte{'"'}, k...), '"'), ':', ' '))
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
	lens := make([][2]uint64, nc)
	for i := range lens {
		lens[i] = [2]uint64{d.uvarint(), d.uvarint()}
	}
	for i := range r.cols {
		r.cols[i].tags = d.bytes(int(min(lens[i][0], uint64(len(page)))))
	}
	for i := range r.cols {
		r.cols[i].vals = d.bytes(int(min(lens[i][1], uint64(len(page)))))
	}
	if d.err != nil {
		return nil, ErrCorrupt
	}
	return r, nil
}

// Len is the number of documents in the page.
func (r *Reader) Len() int { return len(r.styles) }

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
	if len(c.tags) == 0 || r.depth > maxDepth*2 {
		return dst, ErrCorrupt
	}
	tag := c.tags[0]
	c.tags = c.tags[1:]
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
		names := sh.compact
		if r.python {
			names = sh.python
		}
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
		if d.err != nil || n > 0 && (elem < 0 || n > uint64(len(r.cols[elem].tags))) {
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
	case tag == tHex8:
		dst = appendQuotedHex(dst, d.bytes(8), false)
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
	case tag == tSameParent:
		dst = appendQuotedHex(dst, binary.BigEndian.AppendUint64(make([]byte, 0, 8), r.ctx.Parent), false)
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
