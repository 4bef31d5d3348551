package otlp

import "testing"

// TestParseStack: each language's stack trace yields its frames and chained
// exceptions; truncated or odd lines are skipped, never a panic.
func TestParseStack(t *testing.T) {
	check := func(lang, stack string, wantExceptions int, wantFrames ...int) {
		t.Helper()
		xs := parseStack("T", "m", stack, lang)
		if len(xs) != wantExceptions {
			t.Fatalf("%s: %d exceptions, want %d: %+v", lang, len(xs), wantExceptions, xs)
		}
		for i, n := range wantFrames {
			if len(xs[i].stack) != n {
				t.Errorf("%s: exception %d has %d frames, want %d: %+v", lang, i, len(xs[i].stack), n, xs[i].stack)
			}
		}
	}
	check("java", "T: m\n\tat \n\tat a.B.c(B.java:3)\n\tat x\nCaused by: E\n\tat d.E.f(Unknown Source)", 2, 1, 1)
	check("nodejs", "Error: m\n    at f (/app/a.js:10:5)\n    at /app/b.js:3:1\n    at \n    at new Promise (<anonymous>)", 1, 3)
	check("python", "Traceback (most recent call last):\n  File \"/a.py\", line 3, in f\n    g()\nKeyError: 'k'\n\n"+
		"During handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n"+
		"  File \"/b.py\", line 9, in h\n    raise T\nT: m", 2, 1, 1)
	check("go", "goroutine 1 [running]:\nmain.f(0x1)\n\t/a.go:3 +0x1\n\t\nmain.main()\n\t/b.go:9", 1, 3)
	check("dotnet", "at X.Y() in /a.cs:line 3", 1, 0)
	check("java", "", 1, 0)
}
