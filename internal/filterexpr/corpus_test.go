package filterexpr

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// corpusCase is one line of testdata/corpus.txt.
type corpusCase struct {
	line            int    // in corpus.txt
	expr            string // with ⏎ turned into a newline
	valid           bool
	errLine, errCol int // the error position of an invalid expression
}

var invalidLine = regexp.MustCompile(`^invalid (\d+):(\d+):(?: (.*))?$`)

// readCorpus reads testdata/corpus.txt. Its lines are
//
//	valid: EXPR
//	invalid LINE:COL: EXPR
//
// where ⏎ in EXPR stands for a newline. Blank lines and lines starting
// with # are comments.
func readCorpus(tb testing.TB) []corpusCase {
	tb.Helper()
	f, err := os.Open("testdata/corpus.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var cases []corpusCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		c := corpusCase{line: n}
		var rest string
		switch {
		case strings.HasPrefix(text, "valid: "):
			c.valid, rest = true, strings.TrimPrefix(text, "valid: ")
		case strings.HasPrefix(text, "invalid "):
			m := invalidLine.FindStringSubmatch(text)
			if m == nil {
				tb.Fatalf("corpus.txt:%d: want \"invalid LINE:COL: EXPR\", got %q", n, text)
			}
			c.errLine, _ = strconv.Atoi(m[1])
			c.errCol, _ = strconv.Atoi(m[2])
			rest = m[3]
		default:
			tb.Fatalf("corpus.txt:%d: want \"valid: \" or \"invalid LINE:COL: \", got %q", n, text)
		}
		c.expr = strings.ReplaceAll(rest, "⏎", "\n")
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return cases
}

// TestCorpus parses every corpus line: a valid expression must print back
// to text that parses to an equal tree and prints the same again; an
// invalid one must fail with an *Error at the stated position.
func TestCorpus(t *testing.T) {
	cases := readCorpus(t)
	if len(cases) < 150 {
		t.Errorf("corpus has %d cases, want at least 150", len(cases))
	}
	check := func(c corpusCase) {
		t.Helper()
		e, err := Parse(c.expr)
		if !c.valid {
			var perr *Error
			switch {
			case err == nil:
				t.Errorf("corpus.txt:%d: Parse(%q) = %s, want an error at %d:%d", c.line, c.expr, e, c.errLine, c.errCol)
			case !errors.As(err, &perr):
				t.Errorf("corpus.txt:%d: Parse(%q) error %T %v, want *Error", c.line, c.expr, err, err)
			case perr.Line != c.errLine || perr.Col != c.errCol:
				t.Errorf("corpus.txt:%d: Parse(%q) error %v, want it at %d:%d", c.line, c.expr, err, c.errLine, c.errCol)
			}
			return
		}
		if err != nil {
			t.Errorf("corpus.txt:%d: Parse(%q): %v", c.line, c.expr, err)
			return
		}
		if err := checkRoundTrip(e); err != nil {
			t.Errorf("corpus.txt:%d: %q: %v", c.line, c.expr, err)
		}
	}
	for _, c := range cases {
		check(c)
	}
}

// checkRoundTrip checks that e's String parses to a tree equal to e and
// prints the same text again.
func checkRoundTrip(e Expr) error {
	s := e.String()
	e2, err := Parse(s)
	if err != nil {
		return fmt.Errorf("Parse(String() = %q): %v", s, err)
	}
	if !reflect.DeepEqual(e, e2) {
		return fmt.Errorf("Parse(String() = %q) = %#v, want %#v", s, e2, e)
	}
	if s2 := e2.String(); s2 != s {
		return fmt.Errorf("String() = %q, then %q after a round trip", s, s2)
	}
	return nil
}
