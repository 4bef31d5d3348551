package filterexpr

import (
	"errors"
	"testing"
)

// FuzzParse: Parse never panics; it fails with an *Error whose position
// lies within the input, or returns a tree whose String parses back to an
// equal tree printing the same text. Seeds: every corpus line.
func FuzzParse(f *testing.F) {
	for _, c := range readCorpus(f) {
		f.Add(c.expr)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse(%q) error %T %v, want *Error", src, err, err)
			}
			if line, col := position(src, len(src)); perr.Line < 1 || perr.Col < 1 ||
				perr.Line > line || perr.Line == line && perr.Col > col {
				t.Fatalf("Parse(%q) error %v lies outside the input (which ends at %d:%d)", src, err, line, col)
			}
			if e != nil {
				t.Fatalf("Parse(%q) returned both %s and %v", src, e, err)
			}
			return
		}
		if err := checkRoundTrip(e); err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
	})
}
