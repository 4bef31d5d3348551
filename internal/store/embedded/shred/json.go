package shred

import (
	"encoding/binary"
	"strconv"
)

// check reports whether doc is strict JSON in one of the styles the page
// rebuilds exactly, and which.
func check(doc []byte) (style byte, ok bool) {
	c := checker{b: doc, style: 0xff}
	if !c.value(0) || c.i != len(doc) {
		return 0, false
	}
	if c.style == 0xff {
		c.style = styleCompact
	}
	return c.style, true
}

type checker struct {
	b     []byte
	i     int
	style byte // 0xff until the first separator shows it
}

// sep checks what follows a ',' or ':' at c.i-1.
func (c *checker) sep() bool {
	space := c.i < len(c.b) && c.b[c.i] == ' '
	switch c.style {
	case 0xff:
		if space {
			c.style = stylePython
		} else {
			c.style = styleCompact
		}
	case stylePython:
		if !space {
			return false
		}
	default:
		if space {
			return false
		}
	}
	if space {
		c.i++
	}
	return true
}

func (c *checker) value(depth int) bool {
	if c.i >= len(c.b) || depth > maxDepth {
		return false
	}
	switch c.b[c.i] {
	case '{':
		c.i++
		if c.i < len(c.b) && c.b[c.i] == '}' {
			c.i++
			return true
		}
		for {
			if c.i >= len(c.b) || c.b[c.i] != '"' || !c.str() {
				return false
			}
			if c.i >= len(c.b) || c.b[c.i] != ':' {
				return false
			}
			c.i++
			if !c.sep() || !c.value(depth+1) || c.i >= len(c.b) {
				return false
			}
			if c.b[c.i] == '}' {
				c.i++
				return true
			}
			if c.b[c.i] != ',' {
				return false
			}
			c.i++
			if !c.sep() {
				return false
			}
		}
	case '[':
		c.i++
		if c.i < len(c.b) && c.b[c.i] == ']' {
			c.i++
			return true
		}
		for {
			if !c.value(depth+1) || c.i >= len(c.b) {
				return false
			}
			if c.b[c.i] == ']' {
				c.i++
				return true
			}
			if c.b[c.i] != ',' {
				return false
			}
			c.i++
			if !c.sep() {
				return false
			}
		}
	case '"':
		return c.str()
	case 't':
		return c.lit("true")
	case 'f':
		return c.lit("false")
	case 'n':
		return c.lit("null")
	default:
		n := numberLen(c.b[c.i:])
		c.i += n
		return n > 0
	}
}

func (c *checker) lit(s string) bool {
	if len(c.b)-c.i < len(s) || string(c.b[c.i:c.i+len(s)]) != s {
		return false
	}
	c.i += len(s)
	return true
}

// str checks a string token starting at the quote.
func (c *checker) str() bool {
	c.i++
	for c.i < len(c.b) {
		ch := c.b[c.i]
		switch {
		case ch == '"':
			c.i++
			return true
		case ch < 0x20:
			return false
		case ch == '\\':
			if c.i+1 >= len(c.b) {
				return false
			}
			switch c.b[c.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				c.i += 2
			case 'u':
				if c.i+6 > len(c.b) {
					return false
				}
				for _, h := range c.b[c.i+2 : c.i+6] {
					if hexVal(h) < 0 {
						return false
					}
				}
				c.i += 6
			default:
				return false
			}
		default:
			c.i++
		}
	}
	return false
}

// numberLen is the length of the JSON number at the start of b, 0 if none.
func numberLen(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return 0
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return 0
		}
	}
	return i
}

// parser walks a document check has accepted.
type parser struct {
	b []byte
	i int
}

func (p *parser) skipSpace() {
	for p.i < len(p.b) && p.b[p.i] == ' ' {
		p.i++
	}
}

// rawStr returns a string token's raw content (escapes kept) and moves past
// it.
func (p *parser) rawStr() []byte {
	start := p.i + 1
	i := start
	for p.b[i] != '"' {
		if p.b[i] == '\\' {
			i++
		}
		i++
	}
	p.i = i + 1
	return p.b[start:i]
}

func (p *parser) number() []byte {
	n := numberLen(p.b[p.i:])
	s := p.b[p.i : p.i+n]
	p.i += n
	return s
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isLowerHex(s []byte) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func isUpperHex(s []byte) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// parseHex8 parses up to 16 hex digits (callers check the form).
func parseHex8(s []byte) uint64 {
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v<<4 | uint64(hexVal(s[i])&0xf)
	}
	return v
}

// parseTraceID parses an X-Ray trace id, 1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy,
// lowercase, into its binary form.
func parseTraceID(s []byte) (t [16]byte, ok bool) {
	if len(s) != 35 || s[0] != '1' || s[1] != '-' || s[10] != '-' || !isLowerHex(s[2:10]) || !isLowerHex(s[11:]) {
		return t, false
	}
	binary.BigEndian.PutUint32(t[0:], uint32(parseHex8(s[2:10])))
	binary.BigEndian.PutUint32(t[4:], uint32(parseHex8(s[11:19])))
	binary.BigEndian.PutUint64(t[8:], parseHex8(s[19:]))
	return t, true
}

func parseUUID(s []byte) (u [16]byte, upper, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false, false
	}
	var buf [32]byte
	hex := append(append(append(append(append(buf[:0], s[0:8]...), s[9:13]...), s[14:18]...), s[19:23]...), s[24:]...)
	switch {
	case isLowerHex(hex):
	case isUpperHex(hex):
		upper = true
	default:
		return u, false, false
	}
	// A UUID of digits only is both; it decodes as lowercase, which is the
	// same text.
	if isLowerHex(hex) {
		upper = false
	}
	binary.BigEndian.PutUint64(u[0:], parseHex8(hex[:16]))
	binary.BigEndian.PutUint64(u[8:], parseHex8(hex[16:]))
	return u, upper, true
}

const hexLower, hexUpper = "0123456789abcdef", "0123456789ABCDEF"

func appendHex(dst, b []byte, upper bool) []byte {
	digits := hexLower
	if upper {
		digits = hexUpper
	}
	for _, c := range b {
		dst = append(dst, digits[c>>4], digits[c&0xf])
	}
	return dst
}

func appendQuotedHex(dst, b []byte, upper bool) []byte {
	dst = append(dst, '"')
	dst = appendHex(dst, b, upper)
	return append(dst, '"')
}

func appendUUID(dst, u []byte, upper bool) []byte {
	dst = append(dst, '"')
	dst = appendHex(dst, u[0:4], upper)
	dst = append(dst, '-')
	dst = appendHex(dst, u[4:6], upper)
	dst = append(dst, '-')
	dst = appendHex(dst, u[6:8], upper)
	dst = append(dst, '-')
	dst = appendHex(dst, u[8:10], upper)
	dst = append(dst, '-')
	dst = appendHex(dst, u[10:16], upper)
	return append(dst, '"')
}

func appendTraceID(dst []byte, t [16]byte) []byte {
	dst = append(dst, '"', '1', '-')
	dst = appendHex(dst, t[0:4], false)
	dst = append(dst, '-')
	dst = appendHex(dst, t[4:16], false)
	return append(dst, '"')
}

// parseTime parses a start or end time literal of the form seconds[.fraction]
// with at most 9 fraction digits and no exponent, into nanoseconds and the
// number of fraction digits. Such literals are rebuilt exactly from the two.
func parseTime(s []byte) (ns int64, digits int, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 10 || (i > 1 && s[0] == '0') {
		return 0, 0, false
	}
	var sec int64
	for _, c := range s[:i] {
		sec = sec*10 + int64(c-'0')
	}
	if sec > 9_000_000_000 {
		return 0, 0, false
	}
	ns = sec * 1e9
	if i == len(s) {
		return ns, 0, true
	}
	if s[i] != '.' {
		return 0, 0, false
	}
	frac := s[i+1:]
	if len(frac) == 0 || len(frac) > 9 {
		return 0, 0, false
	}
	var f int64
	for j := 0; j < len(frac); j++ {
		c := frac[j]
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		f = f*10 + int64(c-'0')
	}
	return ns + unscaled(f, len(frac)), len(frac), true
}

// appendTime writes v, in units of 10^-digits seconds, with exactly digits
// fraction digits.
func appendTime(dst []byte, v int64, digits int) []byte {
	if v < 0 { // only from a corrupt page; keep it well-formed
		dst = append(dst, '-')
		v = -v
	}
	p := int64(1)
	for range digits {
		p *= 10
	}
	dst = strconv.AppendInt(dst, v/p, 10)
	if digits == 0 {
		return dst
	}
	dst = append(dst, '.')
	f := v % p
	var buf [9]byte
	for i := digits - 1; i >= 0; i-- {
		buf[i] = byte('0' + f%10)
		f /= 10
	}
	return append(dst, buf[:digits]...)
}

// parseInt parses a canonical integer literal (what strconv.FormatInt writes).
func parseInt(s []byte) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	digits := s
	if neg {
		digits = s[1:]
	}
	if len(digits) == 0 || len(digits) > 18 || digits[0] == '0' && (len(digits) > 1 || neg) {
		return 0, false
	}
	var v int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}
