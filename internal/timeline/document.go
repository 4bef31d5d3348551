package timeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Documents are decoded into generic JSON values (maps, slices, float64,
// string, bool) and read field by field: documents returned by BatchGetTraces
// come from many producers, and one field of an unexpected type must not hide
// the rest of a segment. Decoding once keeps the cost linear in the document
// size however deep the subsegments nest (encoding/json bounds the depth).

// field follows keys through nested objects of v; nil when one is missing or
// not an object.
func field(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, keys ...string) string {
	s, _ := field(v, keys...).(string)
	return s
}

func boolean(v any, keys ...string) bool {
	b, _ := field(v, keys...).(bool)
	return b
}

func number(v any, keys ...string) (float64, bool) {
	f, ok := field(v, keys...).(float64)
	return f, ok
}

// kind tells what a node was in the documents.
type kind uint8

const (
	kindSegment     kind = iota // a segment document
	kindSubsegment              // embedded in a segment's subsegments
	kindIndependent             // a subsegment sent as its own document
)

// node is one segment or subsegment, placed in the trace tree.
type node struct {
	id, parentID string
	name         string
	kind         kind
	start, end   float64
	hasStart     bool
	hasEnd       bool
	inProgress   bool
	inferred     bool
	orphan       bool // an independent subsegment whose parent is not in the trace
	fault        bool
	error        bool
	throttle     bool
	httpStatus   int // http.response.status, 0 when absent
	namespace    string
	sql          bool
	cause        string // first exception of cause, "" when none
	children     []*node
	parent       *node
}

// badDoc is a document that could not be drawn.
type badDoc struct {
	index int
	err   error
}

// forest is a trace's documents decoded and linked into trees.
type forest struct {
	roots       []*node
	bad         []badDoc
	segments    int
	subsegments int
	inferred    int
}

// build decodes docs and links them: a segment or independent subsegment whose
// parent_id names a node of another document becomes that node's child,
// everything else is a root. Roots and siblings are ordered by start time.
func build(docs []string) forest {
	var f forest
	var tops []*node // one per segment or independent subsegment document
	for i, raw := range docs {
		nodes, err := decode(raw)
		if err != nil {
			f.bad = append(f.bad, badDoc{index: i, err: err})
			continue
		}
		tops = append(tops, nodes...)
	}

	index := make(map[string]*node)
	var visit func(n *node)
	visit = func(n *node) {
		switch n.kind {
		case kindSegment:
			f.segments++
			if n.inferred {
				f.inferred++
			}
		default:
			f.subsegments++
		}
		if _, dup := index[n.id]; !dup && n.id != "" {
			index[n.id] = n
		}
		for _, c := range n.children {
			visit(c)
		}
	}
	for _, n := range tops {
		visit(n)
	}

	for _, n := range tops {
		p := index[n.parentID]
		if n.parentID == "" || p == nil || isAncestor(n, p) {
			n.orphan = n.kind == kindIndependent
			f.roots = append(f.roots, n)
			continue
		}
		n.parent = p
		p.children = append(p.children, n)
	}

	sortByStart(f.roots)
	var sortTree func(ns []*node)
	sortTree = func(ns []*node) {
		for _, n := range ns {
			sortByStart(n.children)
			sortTree(n.children)
		}
	}
	sortTree(f.roots)
	return f
}

// isAncestor reports whether a is p or one of p's ancestors: linking a under
// p would then make a cycle.
func isAncestor(a, p *node) bool {
	for ; p != nil; p = p.parent {
		if p == a {
			return true
		}
	}
	return false
}

// sortByStart orders nodes by start time, those without one last, keeping
// document order among equals.
func sortByStart(ns []*node) {
	slices.SortStableFunc(ns, func(a, b *node) int {
		switch {
		case a.hasStart && b.hasStart:
			if a.start < b.start {
				return -1
			}
			if a.start > b.start {
				return 1
			}
			return 0
		case a.hasStart:
			return -1
		case b.hasStart:
			return 1
		}
		return 0
	})
}

// decode turns one document into its top node, or several for an array of
// independent subsegments.
func decode(raw string) ([]*node, error) {
	b := bytes.TrimSpace([]byte(raw))
	if len(b) == 0 {
		return nil, fmt.Errorf("empty document")
	}
	if b[0] != '{' && b[0] != '[' {
		if !json.Valid(b) {
			return nil, fmt.Errorf("invalid JSON")
		}
		return nil, fmt.Errorf("not a segment document")
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if m, ok := v.(map[string]any); ok {
		k := kindSegment
		if strings.EqualFold(str(m, "type"), "subsegment") {
			k = kindIndependent
		}
		return []*node{newNode(m, k, nil)}, nil
	}
	var ns []*node
	for _, e := range v.([]any) {
		if m, ok := e.(map[string]any); ok {
			ns = append(ns, newNode(m, kindIndependent, nil))
		}
	}
	if len(ns) == 0 {
		return nil, fmt.Errorf("no subsegments in array document")
	}
	return ns, nil
}

// newNode converts the document d and its embedded subsegments.
func newNode(d map[string]any, k kind, parent *node) *node {
	n := &node{
		id:        str(d, "id"),
		parentID:  str(d, "parent_id"),
		name:      str(d, "name"),
		kind:      k,
		inferred:  boolean(d, "inferred"),
		fault:     boolean(d, "fault"),
		error:     boolean(d, "error"),
		throttle:  boolean(d, "throttle"),
		namespace: str(d, "namespace"),
		parent:    parent,
	}
	n.start, n.hasStart = number(d, "start_time")
	n.end, n.hasEnd = number(d, "end_time")
	n.inProgress = boolean(d, "in_progress") || !n.hasEnd
	_, n.sql = d["sql"].(map[string]any)
	if s, _ := number(d, "http", "response", "status"); s >= 100 && s <= 999 {
		n.httpStatus = int(s)
	}
	switch {
	case n.httpStatus >= 500:
		n.fault = true
	case n.httpStatus == 429:
		n.throttle, n.error = true, true
	case n.httpStatus >= 400:
		n.error = true
	}
	if n.hasStart && n.hasEnd && n.end < n.start {
		n.end = n.start // a clock went backwards: draw a zero-length span
	}
	if exs, ok := field(d, "cause", "exceptions").([]any); ok {
		n.cause = describe(exs)
	}
	subs, _ := d["subsegments"].([]any)
	for _, s := range subs {
		if m, ok := s.(map[string]any); ok {
			n.children = append(n.children, newNode(m, kindSubsegment, n))
		}
	}
	return n
}

// describe summarises a cause's exceptions as "Type: message (+N more)";
// the string and {"id": ...} forms of cause point at an exception recorded in
// a descendant and are not repeated.
func describe(exs []any) string {
	var first map[string]any
	valid := 0
	for _, e := range exs {
		if m, ok := e.(map[string]any); ok {
			if first == nil {
				first = m
			}
			valid++
		}
	}
	if first == nil {
		return ""
	}
	typ, msg := str(first, "type"), str(first, "message")
	s := typ
	switch {
	case s == "":
		s = msg
	case msg != "":
		s += ": " + msg
	}
	if s == "" {
		s = "exception"
	}
	if valid > 1 {
		s += fmt.Sprintf(" (+%d more)", valid-1)
	}
	return s
}
