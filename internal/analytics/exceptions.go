package analytics

import (
	"cmp"
	"slices"
	"strings"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// ExceptionPattern is one exception type and message template: how often it
// was raised, when, by which services, and the chains of callers it
// cascaded through.
type ExceptionPattern struct {
	Type     string `json:"type"`
	Template string `json:"template"`
	// Example is one message of the pattern as recorded.
	Example string `json:"example"`
	// Count counts occurrences (one per exception id per trace); Traces the
	// traces holding at least one.
	Count  int64   `json:"count"`
	Traces int64   `json:"traces"`
	First  float64 `json:"first"`
	Last   float64 `json:"last"`
	// Series counts occurrences per time bucket of Step seconds from the
	// result's Start.
	Series   []int64        `json:"series"`
	Services []ServiceCount `json:"services"`
	Cascades []CascadeCount `json:"cascades"`
}

// ServiceCount is a service and how many occurrences it raised.
type ServiceCount struct {
	Service Service `json:"service"`
	Count   int64   `json:"count"`
}

// CascadeCount is one chain of services an exception travelled through: the
// service that raised it, then each caller up the trace that failed too
// (fault or error), and how many occurrences followed that chain.
type CascadeCount struct {
	Path  []Service `json:"path"`
	Count int64     `json:"count"`
}

// ExceptionsResult is the answer of /api/analytics/exceptions.
type ExceptionsResult struct {
	Traces   Coverage           `json:"traces"`
	Start    float64            `json:"start"`
	Step     float64            `json:"step"`
	Patterns []ExceptionPattern `json:"patterns"`
}

type patKey struct{ typ, template string }

type pattern struct {
	example     string
	count, trcs int64
	first, last float64
	series      []int64
	services    map[model.ServiceID]int64
	cascades    map[string]*cascade
}

type cascade struct {
	path  []Service
	count int64
}

// Exceptions groups the exceptions of the analysed traces by type and
// message template.
type Exceptions struct {
	start, step float64
	cols        int
	pats        map[patKey]*pattern
}

// NewExceptions returns an accumulator whose series have buckets of step
// seconds over [start, end).
func NewExceptions(start, end, step float64) (*Exceptions, error) {
	h, err := NewHeatmap(start, end, step, "") // validates the same bounds
	if err != nil {
		return nil, err
	}
	return &Exceptions{start: start, step: step, cols: len(h.cols), pats: map[patKey]*pattern{}}, nil
}

// Add takes one trace; it needs the spans.
func (x *Exceptions) Add(t *Trace) {
	ix := newIndex(t.Spans)
	seenID := map[string]bool{}
	inTrace := map[patKey]bool{}
	ix.each(func(seg, e *model.Entity) {
		for _, ex := range e.Exceptions {
			if ex.ID != "" {
				if seenID[ex.ID] {
					continue
				}
				seenID[ex.ID] = true
			}
			k := patKey{typ: ex.Type, template: MessageTemplate(ex.Message)}
			p := x.pats[k]
			if p == nil {
				p = &pattern{example: ex.Message, first: e.Start, last: e.Start, series: make([]int64, x.cols),
					services: map[model.ServiceID]int64{}, cascades: map[string]*cascade{}}
				x.pats[k] = p
			}
			p.count++
			if !inTrace[k] {
				inTrace[k] = true
				p.trcs++
			}
			p.first, p.last = min(p.first, e.Start), max(p.last, e.Start)
			if i := int((e.Start - x.start) / x.step); e.Start >= x.start && i < x.cols {
				p.series[i]++
			}
			if seg == nil {
				continue
			}
			p.services[model.ServiceID{Name: seg.Name, Type: seg.Origin}]++
			var path []Service
			var key strings.Builder
			for s, hops := seg, 0; s != nil && hops < 64; s, hops = ix.caller(s), hops+1 {
				if hops > 0 && !s.Fault && !s.Error {
					break
				}
				path = append(path, segmentService(s))
				key.WriteString(s.Name + "\x00" + s.Origin + "\x00")
			}
			c := p.cascades[key.String()]
			if c == nil {
				c = &cascade{path: path}
				p.cascades[key.String()] = c
			}
			c.count++
		}
	})
}

// Result renders the patterns, most frequent first (the top ones when top > 0).
func (x *Exceptions) Result(top int) ExceptionsResult {
	r := ExceptionsResult{Start: x.start, Step: x.step, Patterns: []ExceptionPattern{}}
	for k, p := range x.pats {
		ep := ExceptionPattern{Type: k.typ, Template: k.template, Example: p.example, Count: p.count, Traces: p.trcs,
			First: p.first, Last: p.last, Series: p.series, Services: []ServiceCount{}, Cascades: []CascadeCount{}}
		for s, n := range p.services {
			ep.Services = append(ep.Services, ServiceCount{Service: serviceOf(s), Count: n})
		}
		slices.SortFunc(ep.Services, func(a, b ServiceCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Service.Name, b.Service.Name))
		})
		for _, c := range p.cascades {
			ep.Cascades = append(ep.Cascades, CascadeCount{Path: c.path, Count: c.count})
		}
		slices.SortFunc(ep.Cascades, func(a, b CascadeCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(len(b.Path), len(a.Path)), cmp.Compare(a.Path[0].Name, b.Path[0].Name))
		})
		r.Patterns = append(r.Patterns, ep)
	}
	slices.SortFunc(r.Patterns, func(a, b ExceptionPattern) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Template, b.Template))
	})
	r.Patterns = head(r.Patterns, top)
	return r
}

// MessageTemplate turns an exception message into its pattern: quoted
// strings become <str>, UUIDs <uuid>, hex numbers and long hex words <hex>,
// long mixed letter-and-digit tokens <id>, and remaining digit runs
// (decimals, IP addresses) <num>.
func MessageTemplate(msg string) string {
	var b strings.Builder
	b.Grow(len(msg))
	for i := 0; i < len(msg); {
		c := msg[i]
		if c == '"' || c == '\'' || c == '`' {
			if j := strings.IndexByte(msg[i+1:], c); j >= 0 {
				b.WriteString("<str>")
				i += j + 2
				continue
			}
		}
		if !isWordByte(c) {
			b.WriteByte(c)
			i++
			continue
		}
		j := i
		for j < len(msg) && isWordByte(msg[j]) {
			j++
		}
		b.WriteString(templateWord(msg[i:j]))
		i = j
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.'
}

// templateWord replaces one word of a message.
func templateWord(w string) string {
	trimmed := strings.TrimRight(w, ".-")
	tail := w[len(trimmed):]
	w = trimmed
	digits, hex, letters := 0, 0, 0
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			hex++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			hex++
			letters++
		case c >= 'g' && c <= 'z' || c >= 'G' && c <= 'Z':
			letters++
		}
	}
	switch {
	case digits == 0:
		return w + tail
	case len(w) == 36 && hex == 32 && strings.Count(w, "-") == 4:
		return "<uuid>" + tail
	case len(w) > 2 && (w[:2] == "0x" || w[:2] == "0X") && hex == len(w)-1:
		return "<hex>" + tail
	case hex == len(w) && len(w) >= 8 && letters > 0:
		return "<hex>" + tail
	case len(w) >= 16 && letters > 0:
		return "<id>" + tail
	}
	// Replace each run of digits (with the dots inside it) by <num>.
	var b strings.Builder
	for i := 0; i < len(w); {
		if w[i] >= '0' && w[i] <= '9' {
			j := i
			for j < len(w) && (w[j] >= '0' && w[j] <= '9' || w[j] == '.' && j+1 < len(w) && w[j+1] >= '0' && w[j+1] <= '9') {
				j++
			}
			b.WriteString("<num>")
			i = j
			continue
		}
		b.WriteByte(w[i])
		i++
	}
	return b.String() + tail
}
