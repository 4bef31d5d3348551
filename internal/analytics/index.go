package analytics

import "github.com/fluoro-dev/fluoro/internal/model"

// tindex answers, for one trace's spans, which segment owns an entity and
// which segment called a segment.
type tindex struct {
	holder map[model.SpanID]*model.Span   // entity id → the span whose tree holds it
	callee map[model.SpanID]*model.Entity // call id → the segment it reached
	spans  []*model.Span
}

func newIndex(spans []*model.Span) *tindex {
	x := &tindex{
		holder: make(map[model.SpanID]*model.Span, len(spans)*4),
		callee: make(map[model.SpanID]*model.Entity, len(spans)),
		spans:  spans,
	}
	for _, s := range spans {
		s.Root.Walk(func(e *model.Entity, _ int) { x.holder[e.ID] = s })
		if !s.Independent && s.Root.ParentID != 0 {
			x.callee[s.Root.ParentID] = &s.Root
		}
	}
	return x
}

// owner returns the segment whose tree holds span s, following independent
// subsegments up to their segment; nil when that segment never arrived.
func (x *tindex) owner(s *model.Span) *model.Entity {
	for hops := 0; s != nil && hops <= len(x.spans); hops++ {
		if !s.Independent {
			return &s.Root
		}
		s = x.holder[s.Root.ParentID]
	}
	return nil
}

// caller returns the segment that called seg, or nil for the root and for
// segments whose caller sent nothing.
func (x *tindex) caller(seg *model.Entity) *model.Entity {
	if seg.ParentID == 0 {
		return nil
	}
	return x.owner(x.holder[seg.ParentID])
}

// each calls fn for every entity of the trace with the segment that owns it
// (nil when unknown), segments before their subsegments.
func (x *tindex) each(fn func(seg, e *model.Entity)) {
	for _, s := range x.spans {
		seg := x.owner(s)
		s.Root.Walk(func(e *model.Entity, _ int) { fn(seg, e) })
	}
}

// isCall reports whether a subsegment calls another service (as
// internal/trace decides edges and inferred nodes).
func isCall(e *model.Entity) bool {
	return e.Namespace == "aws" || e.Namespace == "remote" || e.SQL != nil || e.HTTP.Traced
}

// duration is an entity's end minus start, or -1 while it is in progress.
func duration(e *model.Entity) float64 {
	if e.InProgress || e.End < e.Start {
		return -1
	}
	return e.End - e.Start
}

// Service names a service-graph node in responses.
type Service struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

func serviceOf(id model.ServiceID) Service { return Service{Name: id.Name, Type: id.Type} }

func segmentService(e *model.Entity) Service { return Service{Name: e.Name, Type: e.Origin} }
