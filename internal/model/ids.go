// Package model holds Fluoro's normalized view of tracing data: trace and span
// identifiers, the decoded span, and the trace summary. It knows nothing of
// wire formats, storage or networking; every other package builds on it.
package model

import (
	"encoding/hex"
	"errors"
	"time"
)

// TraceID is an X-Ray trace id in binary form: 4 bytes of big-endian epoch
// seconds (the trace's start) followed by 12 random bytes. Its String form is
// "1-<8 hex>-<24 hex>". Byte order sorts trace ids by start second.
type TraceID [16]byte

// SpanID is a 64-bit segment or subsegment id ("16 hex digits" on the wire).
type SpanID uint64

var errTraceID = errors.New("trace id must be 1-<8 hex digits>-<24 hex digits>")

// ParseTraceID parses the X-Ray text form. Hex digits may be of either case.
func ParseTraceID(s string) (TraceID, error) {
	var id TraceID
	if len(s) != 35 || s[0] != '1' || s[1] != '-' || s[10] != '-' {
		return id, errTraceID
	}
	if _, err := hex.Decode(id[:4], []byte(s[2:10])); err != nil {
		return id, errTraceID
	}
	if _, err := hex.Decode(id[4:], []byte(s[11:])); err != nil {
		return id, errTraceID
	}
	return id, nil
}

// String returns the X-Ray text form with lower-case hex.
func (id TraceID) String() string {
	var b [35]byte
	b[0], b[1] = '1', '-'
	hex.Encode(b[2:10], id[:4])
	b[10] = '-'
	hex.Encode(b[11:], id[4:])
	return string(b[:])
}

// Epoch returns the start second encoded in the id.
func (id TraceID) Epoch() uint32 {
	return uint32(id[0])<<24 | uint32(id[1])<<16 | uint32(id[2])<<8 | uint32(id[3])
}

// Time returns Epoch as a time.
func (id TraceID) Time() time.Time { return time.Unix(int64(id.Epoch()), 0) }

// IsZero reports whether id is the all-zero id disabled SDKs emit.
func (id TraceID) IsZero() bool { return id == TraceID{} }

var errSpanID = errors.New("id must be 16 hex digits")

// ParseSpanID parses 16 hex digits.
func ParseSpanID(s string) (SpanID, error) {
	if len(s) != 16 {
		return 0, errSpanID
	}
	var v uint64
	for i := 0; i < 16; i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, errSpanID
		}
		v = v<<4 | uint64(d)
	}
	return SpanID(v), nil
}

// String returns 16 lower-case hex digits.
func (id SpanID) String() string {
	const digits = "0123456789abcdef"
	var b [16]byte
	v := uint64(id)
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}
