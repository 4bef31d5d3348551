package filterexpr

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// Error is a syntax or type error in a filter expression.
type Error struct {
	Line, Col int      // 1-based; Col counts characters (runes), a tab is one
	Msg       string   // e.g. `expected a comparison operator after "http.status", found "fault"`
	Expected  []string // what would have been accepted at Line:Col, when the parser knows; else nil
}

// Error returns "line:col: msg".
func (e *Error) Error() string {
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg)
}

// errorAt returns an *Error at byte offset pos of src.
func errorAt(src string, pos int, expected []string, format string, args ...any) *Error {
	line, col := position(src, pos)
	return &Error{Line: line, Col: col, Msg: fmt.Sprintf(format, args...), Expected: slices.Clone(expected)}
}

// position converts a byte offset of src to a 1-based line and column.
func position(src string, pos int) (line, col int) {
	line, col = 1, 1
	for i := 0; i < pos && i < len(src); {
		if src[i] == '\n' {
			line, col = line+1, 1
			i++
			continue
		}
		_, n := utf8.DecodeRuneInString(src[i:])
		i += n
		col++
	}
	return line, col
}
