package timeline

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the .golden files under testdata from the current output")

// goldenCase is a testdata/<name>.json input. A string in documents is a
// document verbatim (so it may be broken JSON); any other value is the
// document itself, compacted.
type goldenCase struct {
	Comment   string            `json:"comment"`
	TraceID   string            `json:"trace_id"`
	Width     int               `json:"width"`
	Documents []json.RawMessage `json:"documents"`
}

func loadCase(t testing.TB, path string) (goldenCase, []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c goldenCase
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	docs := make([]string, len(c.Documents))
	for i, raw := range c.Documents {
		if len(raw) > 0 && raw[0] == '"' {
			if err := json.Unmarshal(raw, &docs[i]); err != nil {
				t.Fatalf("decode %s document %d: %v", path, i, err)
			}
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			t.Fatalf("compact %s document %d: %v", path, i, err)
		}
		docs[i] = buf.String()
	}
	return c, docs
}

func goldenInputs(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no testdata/*.json inputs")
	}
	return paths
}

func TestRenderGolden(t *testing.T) {
	for _, path := range goldenInputs(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			c, docs := loadCase(t, path)
			var out bytes.Buffer
			if err := Render(&out, c.TraceID, docs, Options{Width: c.Width}); err != nil {
				t.Fatalf("Render: %v", err)
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("Render output differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
			checkWidths(t, out.String(), c.Width)
		})
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// checkWidths asserts that every line but the header fits the width.
func checkWidths(t testing.TB, out string, width int) {
	t.Helper()
	if width <= 0 {
		width = defaultWidth
	}
	width = max(width, minWidth)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, l := range lines[1:] {
		if n := utf8.RuneCountInString(ansi.ReplaceAllString(l, "")); n > width {
			t.Errorf("line %d is %d runes wide, want at most %d: %q", i+2, n, width, l)
		}
	}
}

func TestRender(t *testing.T) {
	const id = "1-5f84c7a1-a006649127e371903a2de979"
	seg := `{"id":"a000000000000001","name":"svc","start_time":10,"end_time":10.25,"http":{"response":{"status":%d}}}`
	test := func(name, id string, docs []string, opts Options, wantLines ...string) {
		t.Helper()
		var out bytes.Buffer
		if err := Render(&out, id, docs, opts); err != nil {
			t.Errorf("%s: Render: %v", name, err)
			return
		}
		got := out.String()
		for _, want := range wantLines {
			if !strings.Contains(got, want) {
				t.Errorf("%s: got\n%s\nwant a line containing %q", name, got, want)
			}
		}
		checkWidths(t, got, opts.Width)
	}
	test("no documents", id, nil, Options{},
		"trace "+id+"  0 segments  0 subsegments\nno segments\n")
	test("only broken documents", id, []string{"{", "null"}, Options{},
		"2 invalid documents", "! document 0: invalid JSON", "! document 1: not a segment document")
	test("fault from status", id, []string{strings.Replace(seg, "%d", "502", 1)}, Options{},
		"! 1 fault", "svc", "250.0ms ! 502")
	test("throttle from status", id, []string{strings.Replace(seg, "%d", "429", 1)}, Options{},
		"T 1 throttle", "250.0ms T 429")
	test("error from status", id, []string{strings.Replace(seg, "%d", "404", 1)}, Options{},
		"E 1 error", "250.0ms E 404")
	test("full-width bar", id, []string{strings.Replace(seg, "%d", "200", 1)}, Options{Width: 60},
		"svc                "+strings.Repeat("█", 60-18-1-1-durWidth-1-statusWidth)+" 250.0ms 200\n")
	test("narrow width is raised", id, []string{strings.Replace(seg, "%d", "200", 1)}, Options{Width: 5},
		"svc          "+strings.Repeat("█", minWidth-12-1-1-durWidth-1-statusWidth)+" 250.0ms 200\n")
	test("colour", id, []string{strings.Replace(seg, "%d", "500", 1)}, Options{Color: true},
		"\x1b[31m!\x1b[0m 500", "\x1b[31m██")
	test("colour keeps the status column whole", id, []string{
		`{"id":"a000000000000001","name":"DynamoDB","inferred":true,"start_time":10,"end_time":10.25,"http":{"response":{"status":503}}}`,
	}, Options{Color: true}, "\x1b[31m!\x1b[0m 503 inferred\n")
	test("control characters in the trace id", "1-\x1b[2J", nil, Options{},
		"trace 1-\uFFFD[2J  ")
	test("no trace id", "", nil, Options{},
		"trace (no trace id)  ")
}

func TestRenderIsPlainWithoutColor(t *testing.T) {
	for _, path := range goldenInputs(t) {
		c, docs := loadCase(t, path)
		var out bytes.Buffer
		if err := Render(&out, c.TraceID, docs, Options{Width: c.Width}); err != nil {
			t.Fatalf("%s: Render: %v", path, err)
		}
		if bytes.ContainsRune(out.Bytes(), '\x1b') {
			t.Errorf("%s: got an escape character in plain output:\n%s", path, out.String())
		}
	}
}

func TestCells(t *testing.T) {
	test := func(from, to, total float64, width, wantA, wantB int) {
		t.Helper()
		a, b := cells(from, to, total, width)
		if a != wantA || b != wantB {
			t.Errorf("cells(%v, %v, %v, %d) = [%d, %d), want [%d, %d)", from, to, total, width, a, b, wantA, wantB)
		}
	}
	test(0, 1, 1, 10, 0, 10)
	test(0.5, 1, 1, 10, 5, 10)
	test(0.3, 0.3, 1, 10, 3, 4)       // zero-length: one cell
	test(0.999, 1, 1, 10, 9, 10)      // very short at the end: still one cell
	test(1, 1, 1, 10, 9, 10)          // starts at the trace end: last cell
	test(0.1, 0.7, 0.7, 7, 1, 7)      // 0.1/0.7*7 is not exactly 1 in floats
	test(0, 0, 0, 10, 0, 1)           // zero-length trace
	test(-5, 20, 1, 10, 0, 10)        // outside the trace: clamped
	test(0, 1, math.Inf(1), 10, 0, 1) // infinite total
}

func TestFormatDuration(t *testing.T) {
	test := func(sec float64, want string) {
		t.Helper()
		if got := formatDuration(sec); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", sec, got, want)
		}
	}
	test(0, "0µs")
	test(0.000042, "42µs")
	test(0.0123, "12.3ms")
	test(0.99994, "999.9ms")
	test(0.99996, "1.00s")
	test(1.2, "1.20s")
	test(59.99, "59.99s")
	test(150, "2.5m")
	test(5400, "1.5h")
	test(1e12, ">999h")
	test(-1, "?")
}

func TestTruncate(t *testing.T) {
	test := func(s string, n int, want string) {
		t.Helper()
		if got := truncate(s, n); got != want {
			t.Errorf("truncate(%q, %d) = %q, want %q", s, n, got, want)
		}
	}
	test("frontend", 8, "frontend")
	test("frontend", 5, "fron…")
	test("größenwahn", 4, "grö…")
	test("x", 0, "")
}

// FuzzRender checks that no document makes Render panic or fail, and that
// rows keep to the width. Seeds are the golden inputs: a fuzz input holds one
// document per line.
func FuzzRender(f *testing.F) {
	for _, path := range goldenInputs(f) {
		c, docs := loadCase(f, path)
		f.Add(strings.Join(docs, "\n"), c.Width)
	}
	f.Fuzz(func(t *testing.T, input string, width int) {
		width = min(max(width, -1), 400)
		var out bytes.Buffer
		if err := Render(&out, "1-5f84c7a1-a006649127e371903a2de979", strings.Split(input, "\n"), Options{Width: width}); err != nil {
			t.Fatalf("Render: %v", err)
		}
		if strings.ContainsRune(out.String(), '\x1b') {
			t.Errorf("escape character in plain output:\n%s", out.String())
		}
		checkWidths(t, out.String(), width)
	})
}
