package otlp

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// jsonw appends JSON to a byte slice. It writes only what the segment
// documents need: objects with string keys, strings, numbers, booleans and
// OTLP attribute values. Commas are placed by the caller's use of key and
// elem, which track whether a separator is due.
type jsonw struct {
	b    []byte
	need bool // a value was written at this level: the next one needs a comma
}

func (w *jsonw) open() {
	w.sep()
	w.b = append(w.b, '{')
	w.need = false
}

func (w *jsonw) close() {
	w.b = append(w.b, '}')
	w.need = true
}

func (w *jsonw) openArray() {
	w.sep()
	w.b = append(w.b, '[')
	w.need = false
}

func (w *jsonw) closeArray() {
	w.b = append(w.b, ']')
	w.need = true
}

func (w *jsonw) sep() {
	if w.need {
		w.b = append(w.b, ',')
	}
}

// key writes a key and its colon; the value follows without a comma.
func (w *jsonw) key(k string) {
	w.sep()
	w.b = appendString(w.b, k)
	w.b = append(w.b, ':')
	w.need = false
}

func (w *jsonw) str(s string) {
	w.sep()
	w.b = appendString(w.b, s)
	w.need = true
}

func (w *jsonw) raw(s string) {
	w.sep()
	w.b = append(w.b, s...)
	w.need = true
}

func (w *jsonw) boolean(v bool) {
	if v {
		w.raw("true")
	} else {
		w.raw("false")
	}
}

func (w *jsonw) int(v int64) {
	w.sep()
	w.b = strconv.AppendInt(w.b, v, 10)
	w.need = true
}

// float writes v in the shortest form that parses back to v; NaN and the
// infinities, which JSON cannot hold, become null.
func (w *jsonw) float(v float64) {
	w.sep()
	if math.IsNaN(v) || math.IsInf(v, 0) {
		w.b = append(w.b, "null"...)
	} else {
		w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
	}
	w.need = true
}

func (w *jsonw) strField(k, v string) {
	if v != "" {
		w.key(k)
		w.str(v)
	}
}

// value writes an OTLP attribute value as plain JSON: bytes as base64,
// arrays and key-value lists as arrays and objects.
func (w *jsonw) value(v pcommon.Value, depth int) {
	if depth > 32 {
		w.raw("null")
		return
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		w.str(v.Str())
	case pcommon.ValueTypeInt:
		w.int(v.Int())
	case pcommon.ValueTypeDouble:
		w.float(v.Double())
	case pcommon.ValueTypeBool:
		w.boolean(v.Bool())
	case pcommon.ValueTypeBytes:
		w.str(base64.StdEncoding.EncodeToString(v.Bytes().AsRaw()))
	case pcommon.ValueTypeSlice:
		w.openArray()
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			w.value(s.At(i), depth+1)
		}
		w.closeArray()
	case pcommon.ValueTypeMap:
		w.open()
		for k, e := range v.Map().All() {
			w.key(k)
			w.value(e, depth+1)
		}
		w.close()
	default:
		w.raw("null")
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, so
// the document is always valid JSON.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// traceID writes an X-Ray trace id without allocating.
func (w *jsonw) traceID(id model.TraceID) {
	w.sep()
	w.b = append(w.b, '"', '1', '-')
	w.b = hex.AppendEncode(w.b, id[:4])
	w.b = append(w.b, '-')
	w.b = hex.AppendEncode(w.b, id[4:])
	w.b = append(w.b, '"')
	w.need = true
}

// spanID writes 16 hex digits without allocating.
func (w *jsonw) spanID(id model.SpanID) {
	w.sep()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	w.b = append(w.b, '"')
	w.b = hex.AppendEncode(w.b, b[:])
	w.b = append(w.b, '"')
	w.need = true
}
