package otlp

import (
	"strconv"
	"strings"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// maxFrames bounds the stack frames kept per exception.
const maxFrames = 100

// parseStack turns one exception event into X-Ray exceptions: the first is
// the event's own type and message; the stack trace, for the languages the
// collector's exporter parses (Java and PHP, JavaScript, Python, Go), gives
// its frames and, for Java's "Caused by:" and Python's chained exceptions,
// further exceptions, each marked as caused by the next (cause "next" is
// resolved to an id by the caller). Unknown languages keep no frames.
func parseStack(typ, msg, stack, lang string) []exception {
	first := exception{Exception: model.Exception{Type: typ, Message: msg}}
	if stack == "" {
		return []exception{first}
	}
	lines := strings.Split(strings.ReplaceAll(stack, "\r\n", "\n"), "\n")
	switch lang {
	case "java", "php":
		return javaStack(first, lines)
	case "javascript", "nodejs", "webjs":
		first.stack = jsFrames(lines)
	case "python":
		return pythonStack(first, lines)
	case "go":
		first.stack = goFrames(lines)
	}
	return []exception{first}
}

// javaStack reads "\tat label(path:line)" frames and "Caused by: T: m"
// sections.
func javaStack(first exception, lines []string) []exception {
	out := []exception{first}
	cur := &out[0]
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "\tat ") || strings.HasPrefix(l, "    at "):
			l = strings.TrimPrefix(strings.TrimSpace(l), "at ")
			p := strings.IndexByte(l, '(')
			if p < 0 || !strings.HasSuffix(l, ")") || len(cur.stack) >= maxFrames {
				continue
			}
			label, loc := l[:p], l[p+1:len(l)-1]
			if i := strings.IndexByte(label, '/'); i >= 0 {
				label = label[i+1:]
			}
			f := frame{label: label, path: loc}
			if i := strings.LastIndexByte(loc, ':'); i >= 0 {
				f.path = loc[:i]
				f.line, _ = strconv.Atoi(loc[i+1:])
			}
			cur.stack = append(cur.stack, f)
		case strings.HasPrefix(l, "Caused by: "):
			t, m, _ := strings.Cut(l[len("Caused by: "):], ": ")
			cur.cause = "next"
			out = append(out, exception{Exception: model.Exception{Type: t, Message: m}})
			cur = &out[len(out)-1]
		}
	}
	return out
}

// jsFrames reads V8 frames: "    at label (path:line:col)" or "    at path:line:col".
func jsFrames(lines []string) []frame {
	var fs []frame
	for _, l := range lines[1:] {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "at ") || len(fs) >= maxFrames {
			continue
		}
		l = l[3:]
		var f frame
		loc := l
		if p := strings.IndexByte(l, '('); p >= 0 && strings.HasSuffix(l, ")") {
			f.label, loc = strings.TrimSpace(l[:p]), l[p+1:len(l)-1]
		}
		// path:line:column
		if i := strings.LastIndexByte(loc, ':'); i >= 0 {
			if j := strings.LastIndexByte(loc[:i], ':'); j >= 0 {
				f.line, _ = strconv.Atoi(loc[j+1 : i])
				loc = loc[:j]
			}
		}
		f.path = loc
		fs = append(fs, f)
	}
	return fs
}

// pythonStack reads a traceback, innermost frame last: `  File "p", line
// n, in label`, with "During handling of the above exception" separating
// chained exceptions (the last section is the event's own exception).
func pythonStack(first exception, lines []string) []exception {
	var sections [][]frame
	var cur []frame
	var headers []string // the "Type: message" line ending each earlier section
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "  File "):
			parts := strings.SplitN(l, ",", 3)
			if len(parts) < 2 {
				continue
			}
			f := frame{path: strings.Trim(strings.TrimPrefix(parts[0], "  File "), `"`)}
			f.line, _ = strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(parts[1]), "line "))
			if len(parts) == 3 {
				f.label = strings.TrimPrefix(strings.TrimSpace(parts[2]), "in ")
			}
			cur = append(cur, f)
		case strings.HasPrefix(l, "During handling of the above exception") ||
			strings.HasPrefix(l, "The above exception was the direct cause"):
			sections = append(sections, cur)
			cur = nil
			h := ""
			for k := i - 1; k >= 0; k-- {
				if s := strings.TrimSpace(lines[k]); s != "" {
					h = s
					break
				}
			}
			headers = append(headers, h)
		}
	}
	sections = append(sections, cur)
	reverse := func(fs []frame) []frame {
		out := make([]frame, 0, min(len(fs), maxFrames))
		for i := len(fs) - 1; i >= 0 && len(out) < maxFrames; i-- {
			out = append(out, fs[i])
		}
		return out
	}
	first.stack = reverse(sections[len(sections)-1])
	out := []exception{first}
	for i := len(sections) - 2; i >= 0; i-- {
		out[len(out)-1].cause = "next"
		t, m, _ := strings.Cut(headers[i], ": ")
		out = append(out, exception{Exception: model.Exception{Type: t, Message: m}, stack: reverse(sections[i])})
	}
	return out
}

// goFrames reads a Go stack: a function line followed by "\tpath:line +0x..".
func goFrames(lines []string) []frame {
	var fs []frame
	label := ""
	for _, l := range lines {
		if strings.HasPrefix(l, "goroutine ") {
			continue
		}
		if !strings.HasPrefix(l, "\t") {
			label = strings.TrimSpace(l)
			if p := strings.LastIndexByte(label, '('); p > 0 && strings.HasSuffix(label, ")") {
				label = label[:p]
			}
			continue
		}
		if len(fs) >= maxFrames {
			break
		}
		loc := strings.TrimSpace(l)
		if sp := strings.IndexByte(loc, ' '); sp >= 0 {
			loc = loc[:sp]
		}
		f := frame{label: label, path: loc}
		if i := strings.LastIndexByte(loc, ':'); i >= 0 {
			if n, err := strconv.Atoi(loc[i+1:]); err == nil {
				f.path, f.line = loc[:i], n
			}
		}
		fs = append(fs, f)
		label = ""
	}
	return fs
}
