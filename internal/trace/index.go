package trace

import "github.com/fluoro-dev/fluoro/internal/model"

// traceIndex is what summaries, root causes and graphs all need to know of
// a trace's spans, built in one pass over them.
type traceIndex struct {
	// holder maps every entity id, embedded or not, to the span holding it.
	holder map[model.SpanID]*model.Span
	// callee maps a call's id to the segment that call reached.
	callee   map[model.SpanID]*model.Entity
	segments []*model.Entity
	root     *model.Entity // nil without segments
	entities int
}

func indexSpans(spans []*model.Span) *traceIndex {
	x := &traceIndex{
		holder: make(map[model.SpanID]*model.Span, len(spans)*2),
		callee: make(map[model.SpanID]*model.Entity, len(spans)),
	}
	for _, s := range spans {
		s.Root.Walk(func(e *model.Entity, _ int) {
			x.holder[e.ID] = s
			x.entities++
		})
		if !s.Independent {
			x.segments = append(x.segments, &s.Root)
			if s.Root.ParentID != 0 {
				x.callee[s.Root.ParentID] = &s.Root
			}
		}
	}
	x.root = findRoot(x.segments, x.holder)
	return x
}

// has reports whether some entity of the trace has the id.
func (x *traceIndex) has(id model.SpanID) bool {
	_, ok := x.holder[id]
	return ok
}

// indexGraph is the index BuildGraph needs. When every span is a segment
// (no independent subsegments, the common case) and one has no parent, it
// skips mapping every entity id: each span's calls belong to its own
// segment, and the root is the earliest segment without a parent. The
// service graph is built at ingest for every trace, so this matters.
func indexGraph(spans []*model.Span) *traceIndex {
	hasRoot := false
	for _, s := range spans {
		if s.Independent {
			return indexSpans(spans)
		}
		hasRoot = hasRoot || s.Root.ParentID == 0
	}
	if !hasRoot {
		return indexSpans(spans) // findRoot needs to know which parents are missing
	}
	x := &traceIndex{callee: make(map[model.SpanID]*model.Entity, len(spans))}
	for _, s := range spans {
		x.segments = append(x.segments, &s.Root)
		if s.Root.ParentID != 0 {
			x.callee[s.Root.ParentID] = &s.Root
		}
	}
	x.root = findRoot(x.segments, nil)
	return x
}
