package analytics

import (
	"cmp"
	"slices"
	"strings"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/trace"
)

// DefaultTop is how many rows a ranked list returns when the request does
// not say.
const DefaultTop = 50

// Stats is the response-time distribution of a node, edge or URL, with how
// many of its requests faulted (5xx), erred (4xx) or were throttled (429).
type Stats struct {
	Percentiles
	Faults    int64 `json:"faults"`
	Errors    int64 `json:"errors"`
	Throttles int64 `json:"throttles"`
}

type stat struct {
	d                         *dist
	faults, errors, throttles int64
}

func newStat() *stat { return &stat{d: newDist()} }

func (s *stat) add(e *model.Entity) {
	d := duration(e)
	if d < 0 {
		return
	}
	s.d.add(d)
	if e.Fault {
		s.faults++
	}
	if e.Error {
		s.errors++
	}
	if e.Throttle {
		s.throttles++
	}
}

func (s *stat) merge(o *stat) {
	s.d.merge(o.d)
	s.faults += o.faults
	s.errors += o.errors
	s.throttles += o.throttles
}

func (s *stat) stats() Stats {
	return Stats{Percentiles: s.d.percentiles(), Faults: s.faults, Errors: s.errors, Throttles: s.throttles}
}

// NodeLatency is one service-graph node: the durations of its segments, or
// for an inferred node (a downstream that sent no segment) of the calls to it.
type NodeLatency struct {
	Service  Service `json:"service"`
	Inferred bool    `json:"inferred,omitempty"`
	Stats
}

// EdgeLatency is one edge: the durations of the calls from one node to another,
// as the caller measured them.
type EdgeLatency struct {
	From Service `json:"from"`
	To   Service `json:"to"`
	Stats
}

// URLLatency is one URL served by a service: the durations of the segments
// that served it. URL is a template: the query is dropped and path segments
// that look like ids (numbers, UUIDs, long hex or mixed strings) read {id}.
type URLLatency struct {
	Service Service `json:"service"`
	Method  string  `json:"method,omitempty"`
	URL     string  `json:"url"`
	Stats
}

// LatencyResult is the answer of /api/analytics/latency.
type LatencyResult struct {
	Traces Coverage      `json:"traces"`
	Nodes  []NodeLatency `json:"nodes"`
	Edges  []EdgeLatency `json:"edges"`
	URLs   []URLLatency  `json:"urls"`
}

type edgeKey struct{ from, to model.ServiceID }

type urlKey struct {
	svc         model.ServiceID
	method, url string
}

type nodeStat struct {
	stat
	inferred bool
}

// Latency accumulates response-time distributions per node, edge and URL.
type Latency struct {
	nodes map[model.ServiceID]*nodeStat
	edges map[edgeKey]*stat
	urls  map[urlKey]*stat
}

// NewLatency returns an empty accumulator.
func NewLatency() *Latency {
	return &Latency{nodes: map[model.ServiceID]*nodeStat{}, edges: map[edgeKey]*stat{}, urls: map[urlKey]*stat{}}
}

// Add takes one trace; it needs the spans.
func (l *Latency) Add(t *Trace) {
	g := trace.BuildGraph(t.Spans)
	for _, n := range g.Nodes {
		ns := l.nodes[n.ID]
		if ns == nil {
			ns = &nodeStat{stat: *newStat(), inferred: n.Inferred}
			l.nodes[n.ID] = ns
		}
		for _, seg := range n.Segments {
			ns.add(seg)
			if seg.HTTP.URL != "" {
				k := urlKey{svc: n.ID, method: seg.HTTP.Method, url: urlTemplate(seg.HTTP.URL)}
				us := l.urls[k]
				if us == nil {
					us = newStat()
					l.urls[k] = us
				}
				us.add(seg)
			}
		}
		for _, c := range n.Calls {
			ns.add(c)
		}
	}
	for _, e := range g.Edges {
		k := edgeKey{e.From.ID, e.To.ID}
		es := l.edges[k]
		if es == nil {
			es = newStat()
			l.edges[k] = es
		}
		es.add(e.Call)
	}
}

// Merge adds o's observations to l.
func (l *Latency) Merge(o *Latency) {
	for k, v := range o.nodes {
		if n := l.nodes[k]; n != nil {
			n.merge(&v.stat)
		} else {
			l.nodes[k] = v
		}
	}
	for k, v := range o.edges {
		if n := l.edges[k]; n != nil {
			n.merge(v)
		} else {
			l.edges[k] = v
		}
	}
	for k, v := range o.urls {
		if n := l.urls[k]; n != nil {
			n.merge(v)
		} else {
			l.urls[k] = v
		}
	}
}

// Result renders the top rows of each list (all when top <= 0), busiest
// first.
func (l *Latency) Result(top int) LatencyResult {
	r := LatencyResult{Nodes: []NodeLatency{}, Edges: []EdgeLatency{}, URLs: []URLLatency{}}
	for k, v := range l.nodes {
		r.Nodes = append(r.Nodes, NodeLatency{Service: serviceOf(k), Inferred: v.inferred, Stats: v.stats()})
	}
	for k, v := range l.edges {
		r.Edges = append(r.Edges, EdgeLatency{From: serviceOf(k.from), To: serviceOf(k.to), Stats: v.stats()})
	}
	for k, v := range l.urls {
		r.URLs = append(r.URLs, URLLatency{Service: serviceOf(k.svc), Method: k.method, URL: k.url, Stats: v.stats()})
	}
	slices.SortFunc(r.Nodes, func(a, b NodeLatency) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Service.Name, b.Service.Name), cmp.Compare(a.Service.Type, b.Service.Type))
	})
	slices.SortFunc(r.Edges, func(a, b EdgeLatency) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.From.Name, b.From.Name), cmp.Compare(a.To.Name, b.To.Name),
			cmp.Compare(a.From.Type, b.From.Type), cmp.Compare(a.To.Type, b.To.Type))
	})
	slices.SortFunc(r.URLs, func(a, b URLLatency) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Service.Name, b.Service.Name), cmp.Compare(a.URL, b.URL), cmp.Compare(a.Method, b.Method))
	})
	r.Nodes, r.Edges, r.URLs = head(r.Nodes, top), head(r.Edges, top), head(r.URLs, top)
	return r
}

func head[T any](s []T, n int) []T {
	if n > 0 && len(s) > n {
		return s[:n]
	}
	return s
}

// urlTemplate drops a URL's query and fragment and replaces path segments
// that look like identifiers with {id}, so that /orders/123 and /orders/456
// are one row.
func urlTemplate(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.IndexByte(raw[i+3:], '/'); j >= 0 {
			start = i + 3 + j
		} else {
			return raw
		}
	}
	var b strings.Builder
	b.WriteString(raw[:start])
	for i, seg := range strings.Split(raw[start:], "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		if looksLikeID(seg) {
			b.WriteString("{id}")
		} else {
			b.WriteString(seg)
		}
	}
	return b.String()
}

// looksLikeID: all digits; a UUID; 8+ hex digits with a digit among them;
// or 16+ characters mixing letters and digits.
func looksLikeID(s string) bool {
	if s == "" {
		return false
	}
	digits, hex, alnum := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			hex++
			alnum++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			hex++
			alnum++
		case c >= 'g' && c <= 'z' || c >= 'G' && c <= 'Z':
			alnum++
		case c == '-' || c == '_':
		default:
			return false
		}
	}
	n := len(s)
	switch {
	case digits == n:
		return true
	case n == 36 && hex == 32 && strings.Count(s, "-") == 4:
		return true
	case hex == n && n >= 8 && digits > 0:
		return true
	case n >= 16 && digits > 0 && alnum > 0:
		return true
	}
	return false
}
