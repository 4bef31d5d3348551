// Package timeline draws the timeline of one trace for a terminal: each
// segment and subsegment as an indented row with a horizontal bar placed in
// proportion to the trace's duration. It renders the documents BatchGetTraces
// returns and does no networking.
package timeline

import (
	"fmt"
	"io"
	"math"
	"strings"
	"unicode"
)

// Options controls Render. The zero value draws 100 columns without colour.
type Options struct {
	// Width is the total line width in terminal cells; 0 means 100. Widths
	// below minWidth are raised to it. The header line may be longer.
	Width int
	// Color adds ANSI colours by status.
	Color bool
}

const (
	defaultWidth = 100
	minWidth     = 40
	durWidth     = 7  // "999.9ms", "59.99s"
	statusWidth  = 14 // "! 500 inferred"
)

// Render writes the timeline of one trace to w. docs are the
// Segment.Document strings of a BatchGetTraces Trace: one JSON segment
// document each, subsegments nested in "subsegments", inferred segments
// marked "inferred": true; independent subsegment documents (and arrays of
// them) are accepted too. A document that cannot be decoded becomes an error
// row; Render fails only when w does.
//
// Segment names and other document text are printed with control characters
// replaced. Widths are counted in runes, so East Asian wide characters in
// names shift the bars of their row.
func Render(w io.Writer, traceID string, docs []string, opts Options) error {
	if opts.Width <= 0 {
		opts.Width = defaultWidth
	}
	opts.Width = max(opts.Width, minWidth)
	f := build(docs)
	r := newRenderer(f, opts)
	r.header(sanitize(traceID))
	if len(f.roots) == 0 && len(f.bad) == 0 {
		r.line("no segments")
	}
	if len(f.roots) > 0 {
		r.axis()
		for _, n := range f.roots {
			r.tree(n, 0)
		}
	}
	for _, b := range f.bad {
		r.badRow(b)
	}
	if _, err := io.WriteString(w, r.b.String()); err != nil {
		return fmt.Errorf("write timeline: %w", err)
	}
	return nil
}

// renderer lays out rows: name column, bar, duration, status.
type renderer struct {
	opts       Options
	f          forest
	b          strings.Builder
	nameW      int
	barW       int
	t0, t1     float64 // trace start and end, epoch seconds
	hasTimes   bool
	faults     int
	errors     int
	throttles  int
	inProgress int
}

func newRenderer(f forest, opts Options) *renderer {
	r := &renderer{opts: opts, f: f}
	r.nameW = min(max(opts.Width*3/10, 12), 40)
	r.barW = opts.Width - r.nameW - 1 - 1 - durWidth - 1 - statusWidth
	r.t0, r.t1 = math.Inf(1), math.Inf(-1)
	var walk func(n *node)
	walk = func(n *node) {
		if n.hasStart {
			r.t0 = min(r.t0, n.start)
			r.t1 = max(r.t1, n.start)
		}
		if n.hasEnd {
			r.t1 = max(r.t1, n.end)
		}
		switch {
		case n.fault:
			r.faults++
		case n.throttle:
			r.throttles++
		case n.error:
			r.errors++
		}
		if n.inProgress {
			r.inProgress++
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	for _, n := range f.roots {
		walk(n)
	}
	r.hasTimes = r.t0 <= r.t1
	return r
}

// total is the trace duration in seconds.
func (r *renderer) total() float64 {
	if !r.hasTimes {
		return 0
	}
	return r.t1 - r.t0
}

func (r *renderer) line(s string) {
	r.b.WriteString(strings.TrimRight(s, " "))
	r.b.WriteByte('\n')
}

// header writes the trace id, its duration, the counts of segments and
// subsegments, and how many rows carry each status marker (a row counts under
// its most severe one; in progress is counted apart).
func (r *renderer) header(traceID string) {
	if traceID == "" {
		traceID = "(no trace id)"
	}
	parts := []string{"trace " + traceID}
	if r.hasTimes {
		parts = append(parts, formatDuration(r.total()))
	}
	seg := plural(r.f.segments, "segment", "segments")
	if r.f.inferred > 0 {
		seg += fmt.Sprintf(" (%d inferred)", r.f.inferred)
	}
	parts = append(parts, seg, plural(r.f.subsegments, "subsegment", "subsegments"))
	if len(r.f.bad) > 0 {
		parts = append(parts, plural(len(r.f.bad), "invalid document", "invalid documents"))
	}
	for _, m := range []struct {
		n          int
		st         status
		one, other string
	}{
		{r.faults, statusFault, "fault", "faults"},
		{r.throttles, statusThrottle, "throttle", "throttles"},
		{r.errors, statusError, "error", "errors"},
		{r.inProgress, statusInProgress, "in progress", "in progress"},
	} {
		if m.n > 0 {
			parts = append(parts, r.paint(m.st, m.st.mark()+" "+plural(m.n, m.one, m.other)))
		}
	}
	r.line(strings.Join(parts, "  "))
}

// axis writes the time scale above the bars: 0, the midpoint and the end.
func (r *renderer) axis() {
	if !r.hasTimes {
		return
	}
	ax := []rune(strings.Repeat(" ", r.barW))
	place := func(label string, at int) {
		l := []rune(label)
		if len(l) > len(ax) {
			return
		}
		at = min(max(at, 0), len(ax)-len(l))
		copy(ax[at:], l)
	}
	total := r.total()
	end := formatDuration(total)
	place("0", 0)
	if mid := formatDuration(total / 2); total > 0 && r.barW >= 4*len(end) {
		place(mid, r.barW/2-len(mid)/2)
	}
	if total > 0 && r.barW >= len(end)+2 {
		place(end, r.barW)
	}
	r.line(strings.Repeat(" ", r.nameW+1) + r.paint(statusNone, string(ax)))
}

// tree writes n's row, its cause, then its children.
func (r *renderer) tree(n *node, depth int) {
	r.row(n, depth)
	if n.cause != "" {
		r.line(truncate(strings.Repeat(" ", r.indent(depth+1))+"↳ "+sanitize(n.cause), r.opts.Width))
	}
	for _, c := range n.children {
		r.tree(c, depth+1)
	}
}

// indent is the indentation of a row at depth, capped at half the name
// column so that deep trees keep their names readable.
func (r *renderer) indent(depth int) int {
	return min(2*depth, r.nameW/2&^1)
}

func (r *renderer) row(n *node, depth int) {
	name := sanitize(n.name)
	if name == "" {
		name = "(unnamed)"
	}
	name = pad(truncate(strings.Repeat(" ", r.indent(depth))+name, r.nameW), r.nameW)

	st := n.status()
	var bar, dur string
	if n.hasStart && r.hasTimes {
		end := n.end
		if n.inProgress {
			end = r.t1
		}
		a, b := cells(n.start-r.t0, end-r.t0, r.total(), r.barW)
		fill := "█"
		if n.inProgress {
			fill = "▒"
		}
		bar = strings.Repeat(" ", a) + r.paint(st, strings.Repeat(fill, b-a)) + strings.Repeat(" ", r.barW-b)
		dur = formatDuration(end - n.start)
	} else {
		bar = strings.Repeat(" ", r.barW)
		dur = "?"
	}

	var tags []string
	mark := st.mark()
	if mark != "" {
		tags = append(tags, mark)
	}
	if n.httpStatus != 0 {
		tags = append(tags, fmt.Sprint(n.httpStatus))
	}
	if t := n.tag(); t != "" {
		tags = append(tags, t)
	}
	tail := truncate(strings.Join(tags, " "), statusWidth)
	if mark != "" {
		tail = r.paint(st, mark) + strings.TrimPrefix(tail, mark)
	}
	r.line(name + " " + bar + " " + fmt.Sprintf("%*s", durWidth, dur) + " " + tail)
}

func (r *renderer) badRow(b badDoc) {
	s := fmt.Sprintf("%s document %d: %s", statusFault.mark(), b.index, sanitize(b.err.Error()))
	r.line(r.paint(statusFault, truncate(s, r.opts.Width)))
}

// cells maps the span [from, to] seconds after the trace start onto a bar of
// width cells of a trace lasting total seconds: the bar covers cells [a, b),
// at least one.
func cells(from, to, total float64, width int) (a, b int) {
	if !(total > 0) || math.IsInf(total, 0) {
		return 0, 1
	}
	const eps = 1e-9 // absorb rounding so that exact boundaries stay exact
	fa := math.Floor(from/total*float64(width) + eps)
	fb := math.Ceil(to/total*float64(width) - eps)
	if math.IsNaN(fa) || math.IsNaN(fb) {
		return 0, 1
	}
	a = int(min(max(fa, 0), float64(width-1)))
	b = int(min(max(fb, 0), float64(width)))
	b = max(b, a+1)
	return a, b
}

// status is what a row's marker and colour show, most severe first.
type status uint8

const (
	statusNone status = iota
	statusFault
	statusThrottle
	statusError
	statusInProgress
)

func (n *node) status() status {
	switch {
	case n.fault:
		return statusFault
	case n.throttle:
		return statusThrottle
	case n.error:
		return statusError
	case n.inProgress:
		return statusInProgress
	}
	return statusNone
}

func (s status) mark() string {
	return [...]string{"", "!", "T", "E", "…"}[s]
}

// tag is the short kind of a row: inferred, orphan, sql, aws or remote.
func (n *node) tag() string {
	switch {
	case n.inferred:
		return "inferred"
	case n.orphan:
		return "orphan"
	case n.sql:
		return "sql"
	case n.namespace == "aws", n.namespace == "remote":
		return n.namespace
	}
	return ""
}

// paint wraps s in the ANSI colour of st when colours are on.
func (r *renderer) paint(st status, s string) string {
	if !r.opts.Color || s == "" {
		return s
	}
	code := [...]string{"2", "31", "35", "33", "36"}[st] // dim, red, magenta, yellow, cyan
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// formatDuration prints seconds as 850µs, 12.3ms, 1.20s, 2.5m or 1.5h.
func formatDuration(sec float64) string {
	switch {
	case math.IsNaN(sec) || sec < 0:
		return "?"
	case sec < 0.0009995:
		return fmt.Sprintf("%.0fµs", sec*1e6)
	case sec < 0.99995:
		return fmt.Sprintf("%.1fms", sec*1e3)
	case sec < 59.995:
		return fmt.Sprintf("%.2fs", sec)
	case sec < 3600:
		return fmt.Sprintf("%.1fm", sec/60)
	case sec < 999*3600:
		return fmt.Sprintf("%.1fh", sec/3600)
	}
	return ">999h"
}

func plural(n int, one, other string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, other)
}

// sanitize replaces characters that would move the cursor or reorder text in
// a terminal: controls (including ESC) and bidirectional overrides.
func sanitize(s string) string {
	return strings.Map(func(c rune) rune {
		if unicode.IsControl(c) || unicode.Is(unicode.Bidi_Control, c) || c == '\u2028' || c == '\u2029' {
			return '\uFFFD'
		}
		return c
	}, s)
}

// truncate cuts s to at most n runes, ending in … when cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	return string(r[:n-1]) + "…"
}

// pad right-pads s with spaces to n runes.
func pad(s string, n int) string {
	if k := n - len([]rune(s)); k > 0 {
		return s + strings.Repeat(" ", k)
	}
	return s
}
