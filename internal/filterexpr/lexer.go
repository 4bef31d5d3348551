package filterexpr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

type tokKind uint8

const (
	tokEOF        tokKind = iota
	tokError              // msg holds the message, pos where it is
	tokIdent              // keyword, logical word, operator word or bare value; may contain '.'
	tokString             // val holds the decoded text
	tokNumber             // num holds the value
	tokAnnotation         // annotation.KEY or annotation[KEY]; val holds KEY
	tokJSON               // #[…]; val holds the compacted JSON array
	tokLParen
	tokRParen
	tokLBrace
	tokRBrace
	tokComma
	tokColon
	tokBang // !
	tokEq   // =
	tokNe   // !=
	tokLt   // <
	tokLe   // <=
	tokGt   // >
	tokGe   // >=
	tokAnd  // &&
	tokOr   // ||
)

type token struct {
	kind tokKind
	pos  int    // byte offset of the token (of the error, for tokError)
	text string // the source text
	val  string // tokIdent: text in lower case; tokString: the decoded text; tokAnnotation: the key; tokJSON: compacted
	num  float64
	msg  string // tokError
}

// lexer splits a filter expression into tokens, one at a time. The input
// is valid UTF-8 (Parse checks it first).
type lexer struct {
	src string
	pos int
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '.'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// next returns the next token. After a tokError or tokEOF the parser stops.
func (l *lexer) next() token {
	src := l.src
	for l.pos < len(src) {
		c := src[l.pos]
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			break
		}
		l.pos++
	}
	start := l.pos
	if start == len(src) {
		return token{kind: tokEOF, pos: start}
	}
	c := src[start]
	switch {
	case isIdentStart(c):
		return l.ident()
	case isDigit(c) || c == '-' && start+1 < len(src) && isDigit(src[start+1]):
		return l.number()
	case c == '"':
		return l.string()
	case c == '#':
		return l.json()
	}
	two := ""
	if start+1 < len(src) {
		two = src[start : start+2]
	}
	kind := tokEOF
	n := 1
	switch c {
	case '(':
		kind = tokLParen
	case ')':
		kind = tokRParen
	case '{':
		kind = tokLBrace
	case '}':
		kind = tokRBrace
	case ',':
		kind = tokComma
	case ':':
		kind = tokColon
	case '=':
		if two == "==" {
			return l.errorf(start, `"==" is not an operator; use "=" to compare`)
		}
		kind = tokEq
	case '!':
		kind = tokBang
		if two == "!=" {
			kind, n = tokNe, 2
		}
	case '<':
		kind = tokLt
		if two == "<=" {
			kind, n = tokLe, 2
		}
	case '>':
		kind = tokGt
		if two == ">=" {
			kind, n = tokGe, 2
		}
	case '&':
		if two != "&&" {
			return l.errorf(start, `unexpected character "&"; did you mean "&&" (AND)?`)
		}
		kind, n = tokAnd, 2
	case '|':
		if two != "||" {
			return l.errorf(start, `unexpected character "|"; did you mean "||" (OR)?`)
		}
		kind, n = tokOr, 2
	case '\'':
		return l.errorf(start, `unexpected character "'"; strings are written in double quotes`)
	default:
		r, _ := utf8.DecodeRuneInString(src[start:])
		return l.errorf(start, "unexpected character %s", quoteText(string(r)))
	}
	l.pos += n
	return token{kind: kind, pos: start, text: src[start:l.pos]}
}

func (l *lexer) errorf(pos int, format string, args ...any) token {
	l.pos = len(l.src)
	return token{kind: tokError, pos: pos, msg: fmt.Sprintf(format, args...)}
}

const annotationPrefix = "annotation."

// ident scans a word: [A-Za-z_][A-Za-z0-9_.]*. annotation.KEY and
// annotation[KEY] (no space before "[") become one tokAnnotation.
func (l *lexer) ident() token {
	start := l.pos
	for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
		l.pos++
	}
	text := l.src[start:l.pos]
	if len(text) >= len(annotationPrefix) && strings.EqualFold(text[:len(annotationPrefix)], annotationPrefix) {
		if len(text) == len(annotationPrefix) {
			return l.errorf(l.pos, `expected an annotation key after "annotation."`)
		}
		return token{kind: tokAnnotation, pos: start, text: text, val: text[len(annotationPrefix):]}
	}
	if strings.EqualFold(text, "annotation") && l.pos < len(l.src) && l.src[l.pos] == '[' {
		return l.bracketKey(start)
	}
	return token{kind: tokIdent, pos: start, text: text, val: strings.ToLower(text)}
}

// bracketKey scans the [KEY] of annotation[KEY]: a double-quoted string, or
// the raw text up to "]" with surrounding blanks trimmed.
func (l *lexer) bracketKey(start int) token {
	open := l.pos
	l.pos++ // [
	l.skipBlanks()
	var key string
	if l.pos < len(l.src) && l.src[l.pos] == '"' {
		s := l.string()
		if s.kind == tokError {
			return s
		}
		key = s.val
		l.skipBlanks()
		if l.pos >= len(l.src) || l.src[l.pos] != ']' {
			return l.errorf(l.pos, `expected "]" after the annotation key`)
		}
	} else {
		end := strings.IndexAny(l.src[l.pos:], "]\n")
		if end < 0 || l.src[l.pos+end] != ']' {
			return l.errorf(open, `missing "]" after "annotation["`)
		}
		key = strings.TrimRight(l.src[l.pos:l.pos+end], " \t\r")
		if i := strings.IndexAny(key, `"[`); i >= 0 {
			return l.errorf(l.pos+i, "unexpected character %q in annotation key; quote the key", key[i])
		}
		l.pos += end
	}
	if key == "" {
		return l.errorf(open, "empty annotation key")
	}
	l.pos++ // ]
	return token{kind: tokAnnotation, pos: start, text: l.src[start:l.pos], val: key}
}

func (l *lexer) skipBlanks() {
	for l.pos < len(l.src) && (l.src[l.pos] == ' ' || l.src[l.pos] == '\t') {
		l.pos++
	}
}

// number scans -?[0-9]+(\.[0-9]+)?. A letter, digit or dot right after it
// makes the whole word an invalid number ("3s", "1.2.3").
func (l *lexer) number() token {
	start := l.pos
	if l.src[l.pos] == '-' {
		l.pos++
	}
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
	}
	if l.pos+1 < len(l.src) && l.src[l.pos] == '.' && isDigit(l.src[l.pos+1]) {
		l.pos++
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
	}
	if l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
		end := l.pos
		for end < len(l.src) && isIdentChar(l.src[end]) {
			end++
		}
		return l.errorf(start, "invalid number %s (numbers are like 5, -2 or 0.25; times are in seconds)", quoteText(abbreviate(l.src[start:end])))
	}
	text := l.src[start:l.pos]
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return l.errorf(start, "number %s is out of range", abbreviate(text))
	}
	return token{kind: tokNumber, pos: start, text: text, num: v}
}

// string scans a double-quoted string with JSON's escapes: \" \\ \/ \b \f
// \n \r \t \uXXXX (a surrogate pair for characters beyond U+FFFF). It may
// not span lines nor hold other control characters than tab.
func (l *lexer) string() token {
	start := l.pos
	l.pos++ // "
	var b strings.Builder
	plain := l.pos // start of the run not yet copied to b
	for {
		if l.pos >= len(l.src) || l.src[l.pos] == '\n' {
			return l.errorf(start, "unterminated string")
		}
		c := l.src[l.pos]
		switch {
		case c == '"':
			var val string
			if b.Len() == 0 && plain == start+1 {
				val = l.src[plain:l.pos]
			} else {
				b.WriteString(l.src[plain:l.pos])
				val = b.String()
			}
			l.pos++
			return token{kind: tokString, pos: start, text: l.src[start:l.pos], val: val}
		case c == '\\':
			if l.pos+1 >= len(l.src) {
				return l.errorf(start, "unterminated string")
			}
			b.WriteString(l.src[plain:l.pos])
			r, n, ok := unescape(l.src[l.pos:])
			if !ok {
				return l.errorf(l.pos, `invalid escape sequence %s in string (valid: \" \\ \/ \b \f \n \r \t \uXXXX)`, quoteText(l.src[l.pos:l.pos+n]))
			}
			b.WriteRune(r)
			l.pos += n
			plain = l.pos
		case c < 0x20 && c != '\t' || c == 0x7f:
			return l.errorf(l.pos, "control character %U in string; write it as an escape (\\u%04X)", rune(c), c)
		default:
			l.pos++
		}
	}
}

// unescape decodes the escape sequence at the start of s (s[0] == '\\').
// It returns the rune, the sequence's length in bytes and whether it is
// valid; when invalid, n covers the offending characters.
func unescape(s string) (r rune, n int, ok bool) {
	if len(s) < 2 {
		return 0, len(s), false
	}
	switch s[1] {
	case '"':
		return '"', 2, true
	case '\\':
		return '\\', 2, true
	case '/':
		return '/', 2, true
	case 'b':
		return '\b', 2, true
	case 'f':
		return '\f', 2, true
	case 'n':
		return '\n', 2, true
	case 'r':
		return '\r', 2, true
	case 't':
		return '\t', 2, true
	case 'u':
		r, ok := hex4(s[2:])
		if !ok {
			n := 2
			for n < len(s) && n < 6 && strings.IndexByte("0123456789abcdefABCDEF", s[n]) >= 0 {
				n++
			}
			return 0, n, false
		}
		if !utf16.IsSurrogate(r) {
			return r, 6, true
		}
		if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if lo, ok := hex4(s[8:]); ok {
				if dec := utf16.DecodeRune(r, lo); dec != utf8.RuneError {
					return dec, 12, true
				}
			}
		}
		return 0, 6, false
	}
	_, size := utf8.DecodeRuneInString(s[1:])
	return 0, 1 + size, false
}

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// json scans #[…], a JSON array of objects, up to its matching "]".
func (l *lexer) json() token {
	start := l.pos
	if start+1 >= len(l.src) || l.src[start+1] != '[' {
		return l.errorf(start, `expected "[" after "#" (a JSON literal is written #[{…}])`)
	}
	// Find the "]" closing the array, skipping strings. At a closer that
	// does not match its opener, stop: the JSON decoder reports it.
	var open []byte
	i := start + 1
scan:
	for ; i < len(l.src); i++ {
		switch c := l.src[i]; c {
		case '[', '{':
			open = append(open, c)
		case ']', '}':
			if want := open[len(open)-1] + 2; c != want { // '['+2 == ']', '{'+2 == '}'
				break scan
			}
			if open = open[:len(open)-1]; len(open) == 0 {
				break scan
			}
		case '"':
			for i++; i < len(l.src) && l.src[i] != '"'; i++ {
				if l.src[i] == '\\' {
					i++
				}
			}
		}
	}
	if i >= len(l.src) {
		return l.errorf(start, "unterminated JSON literal")
	}
	raw := l.src[start+1 : i+1]
	var elems []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &elems); err != nil {
		pos := start
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset > 0 {
			pos = start + int(se.Offset) // offset counts bytes read, the bad one included
		}
		return l.errorf(pos, "invalid JSON literal: %v", err)
	}
	if len(elems) == 0 {
		return l.errorf(start, "empty JSON literal; expected root cause objects #[{…}]")
	}
	for _, e := range elems {
		if e[0] != '{' {
			return l.errorf(start, "expected a JSON array of objects in #[…]")
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return l.errorf(start, "invalid JSON literal: %v", err)
	}
	l.pos = i + 1
	return token{kind: tokJSON, pos: start, text: l.src[start:l.pos], val: buf.String()}
}

// abbreviate shortens long token text for messages.
func abbreviate(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}

// quoteText puts s in double quotes for a message, escaping it only when it
// holds double quotes or control characters.
func quoteText(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '"' {
			return strconv.Quote(s)
		}
	}
	return `"` + s + `"`
}
