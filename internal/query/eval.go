// Package query evaluates filter expressions over traces: at the top level
// against a trace's summary, inside service(…) { } and edge(…) { } against
// the segments and calls of the trace's service graph.
package query

import (
	"fmt"
	"strings"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/trace"
)

// Trace is what an expression is evaluated against. Spans are needed only
// when NeedsSpans says so; they must be deduplicated (trace.Dedupe).
type Trace struct {
	Summary *model.Summary
	Spans   []*model.Span
	graph   *trace.Graph
}

// ErrUnsupported reports the parts of the language this server does not
// evaluate yet. The API turns it into InvalidRequestException.
type ErrUnsupported struct{ What string }

func (e *ErrUnsupported) Error() string {
	return e.What + " is not supported by this server yet"
}

// Check returns an *ErrUnsupported for an expression this package cannot
// evaluate: groups, which need the groups API.
func Check(e filterexpr.Expr) error {
	var err error
	filterexpr.Walk(e, func(x filterexpr.Expr) bool {
		switch x.(type) {
		case *filterexpr.Group:
			err = &ErrUnsupported{What: "group.name and group.arn"}
		}
		return err == nil
	})
	return err
}

// NeedsSpans reports whether e needs the trace's spans, not just its
// summary: edges and service filters { } look at the trace's graph; a bare
// service(…) is answered from the summary's services.
func NeedsSpans(e filterexpr.Expr) bool {
	needs := false
	filterexpr.Walk(e, func(x filterexpr.Expr) bool {
		switch x := x.(type) {
		case *filterexpr.Service:
			needs = x.Filter != nil
		case *filterexpr.Edge:
			needs = true
		}
		return !needs
	})
	return needs
}

// Match evaluates e over t. e must have passed Check.
func Match(e filterexpr.Expr, t *Trace) bool {
	return eval(e, summaryScope{t.Summary}, t)
}

// scope answers keywords in one context: the trace, a segment of a node, or
// a call. Values returns every value the keyword has there (none when it is
// not set); a trace has several users, say.
type scope interface {
	values(dst []filterexpr.Value, kw filterexpr.Keyword, key string) []filterexpr.Value
}

// valuesOf calls the scope's values through its concrete type, so that dst,
// a buffer on the caller's stack, does not escape: evaluating a keyword
// allocates nothing.
func valuesOf(s scope, dst []filterexpr.Value, kw filterexpr.Keyword, key string) []filterexpr.Value {
	switch sc := s.(type) {
	case summaryScope:
		return sc.values(dst, kw, key)
	case entityScope:
		return sc.values(dst, kw, key)
	case rootCauseScope:
		return sc.values(dst, kw, key)
	}
	panic(fmt.Sprintf("query: unknown scope %T", s))
}

func eval(e filterexpr.Expr, s scope, t *Trace) bool {
	switch e := e.(type) {
	case *filterexpr.And:
		for _, x := range e.Terms {
			if !eval(x, s, t) {
				return false
			}
		}
		return true
	case *filterexpr.Or:
		for _, x := range e.Terms {
			if eval(x, s, t) {
				return true
			}
		}
		return false
	case *filterexpr.Not:
		return !eval(e.X, s, t)
	case *filterexpr.Compare:
		var buf [4]filterexpr.Value
		return compare(e, valuesOf(s, buf[:0], e.Keyword, e.Key))
	case *filterexpr.Service:
		return matchService(e, t)
	case *filterexpr.Edge:
		return matchEdge(e, t)
	case *filterexpr.RootCause:
		return matchRootCause(e, t.Summary)
	case *filterexpr.RootCauseJSON:
		return matchRootCauseJSON(e.JSON, t.Summary)
	}
	panic(fmt.Sprintf("query: %T not supported; Check must refuse it", e))
}

// SetGraph gives t its graph, trace.BuildGraph(t.Spans), when the caller
// has built it already, so that Match does not build it again.
func (t *Trace) SetGraph(g *trace.Graph) { t.graph = g }

func (t *Trace) graphOf() *trace.Graph {
	if t.graph == nil {
		t.graph = trace.BuildGraph(t.Spans)
	}
	return t.graph
}

func refMatches(r *filterexpr.ServiceRef, id model.ServiceID) bool {
	return r == nil || ((r.Name == "" || r.Name == id.Name) && (r.Type == "" || r.Type == id.Type) &&
		(r.AccountID == "" || r.AccountID == id.AccountID))
}

// matchService: some node matching the reference has a segment (or, for an
// inferred node, a call into it) that satisfies the filter.
func matchService(e *filterexpr.Service, t *Trace) bool {
	if e.Filter == nil && t.Spans == nil {
		for _, id := range t.Summary.Services {
			if refMatches(e.Ref, id) {
				return true
			}
		}
		return false
	}
	for _, n := range t.graphOf().Nodes {
		if !refMatches(e.Ref, n.ID) {
			continue
		}
		if e.Filter == nil {
			return true
		}
		entities := n.Segments
		if n.Inferred {
			entities = n.Calls
		}
		for _, ent := range entities {
			if eval(e.Filter, entityScope{e: ent, n: n}, t) {
				return true
			}
		}
	}
	return false
}

// matchEdge: some call from a node matching Source to one matching
// Destination satisfies the filter, evaluated on the caller's subsegment.
func matchEdge(e *filterexpr.Edge, t *Trace) bool {
	for _, ed := range t.graphOf().Edges {
		if !refMatches(&e.Source, ed.From.ID) || !refMatches(&e.Destination, ed.To.ID) {
			continue
		}
		if e.Filter == nil || eval(e.Filter, entityScope{e: ed.Call, n: ed.From}, t) {
			return true
		}
	}
	return false
}

// compare holds when some value satisfies the comparison; a bare keyword
// holds when a boolean value is true or any other value is set. "!=" holds
// when the keyword has a value and none equals the operand.
func compare(c *filterexpr.Compare, vals []filterexpr.Value) bool {
	if c.Op == filterexpr.OpNone {
		for _, v := range vals {
			if v.Kind != filterexpr.KindBool || v.Bool {
				return true
			}
		}
		return false
	}
	if c.Op == filterexpr.OpNe {
		if len(vals) == 0 {
			return false
		}
		for _, v := range vals {
			if equal(v, c.Value) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if holds(c.Op, v, c.Value) {
			return true
		}
	}
	return false
}

func equal(a, b filterexpr.Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case filterexpr.KindBool:
		return a.Bool == b.Bool
	case filterexpr.KindNumber:
		return a.Num == b.Num
	}
	return a.Str == b.Str
}

func holds(op filterexpr.Op, v, want filterexpr.Value) bool {
	switch op {
	case filterexpr.OpEq:
		return equal(v, want)
	case filterexpr.OpLt, filterexpr.OpLe, filterexpr.OpGt, filterexpr.OpGe:
		if v.Kind != filterexpr.KindNumber || want.Kind != filterexpr.KindNumber {
			return false
		}
		switch op {
		case filterexpr.OpLt:
			return v.Num < want.Num
		case filterexpr.OpLe:
			return v.Num <= want.Num
		case filterexpr.OpGt:
			return v.Num > want.Num
		}
		return v.Num >= want.Num
	case filterexpr.OpContains, filterexpr.OpBeginsWith, filterexpr.OpEndsWith:
		if v.Kind != filterexpr.KindString {
			return false
		}
		switch op {
		case filterexpr.OpContains:
			return strings.Contains(v.Str, want.Str)
		case filterexpr.OpBeginsWith:
			return strings.HasPrefix(v.Str, want.Str)
		}
		return strings.HasSuffix(v.Str, want.Str)
	}
	return false
}

func boolv(dst []filterexpr.Value, b bool) []filterexpr.Value {
	return append(dst, filterexpr.Value{Kind: filterexpr.KindBool, Bool: b})
}

func numv(dst []filterexpr.Value, f float64) []filterexpr.Value {
	return append(dst, filterexpr.Value{Kind: filterexpr.KindNumber, Num: f})
}

func strv(dst []filterexpr.Value, ss ...string) []filterexpr.Value {
	for _, s := range ss {
		if s != "" {
			dst = append(dst, filterexpr.Value{Kind: filterexpr.KindString, Str: s})
		}
	}
	return dst
}

func valueOf(v model.Value) filterexpr.Value {
	switch v.Kind {
	case model.Number:
		return filterexpr.Value{Kind: filterexpr.KindNumber, Num: v.Num}
	case model.Bool:
		return filterexpr.Value{Kind: filterexpr.KindBool, Bool: v.Bool}
	}
	return filterexpr.Value{Kind: filterexpr.KindString, Str: v.Str}
}

// statusValues answers the keywords a summary's root and a segment share:
// ok, error, fault, throttle and http.*; ok is false for any other keyword.
func statusValues(dst []filterexpr.Value, kw filterexpr.Keyword, fault, err, throttle bool, h model.HTTP) ([]filterexpr.Value, bool) {
	switch kw {
	case filterexpr.KwOK:
		return boolv(dst, !fault && !err && !throttle), true
	case filterexpr.KwError:
		return boolv(dst, err), true
	case filterexpr.KwFault:
		return boolv(dst, fault), true
	case filterexpr.KwThrottle:
		return boolv(dst, throttle), true
	case filterexpr.KwHTTPStatus:
		if h.Status == 0 {
			return dst, true
		}
		return numv(dst, float64(h.Status)), true
	case filterexpr.KwHTTPURL:
		return strv(dst, h.URL), true
	case filterexpr.KwHTTPMethod:
		return strv(dst, h.Method), true
	case filterexpr.KwHTTPUserAgent:
		return strv(dst, h.UserAgent), true
	case filterexpr.KwHTTPClientIP:
		return strv(dst, h.ClientIP), true
	}
	return dst, false
}

// summaryScope answers top-level keywords from the trace summary: the flags
// and HTTP of the root segment, every user, annotation and resource.
type summaryScope struct{ s *model.Summary }

func (sc summaryScope) values(dst []filterexpr.Value, kw filterexpr.Keyword, key string) []filterexpr.Value {
	s := sc.s
	// ok, error, fault, throttle and http.* describe the root segment (the
	// response the client got), not downstream calls that were handled.
	if v, ok := statusValues(dst, kw, s.HasFault, s.HasError, s.RootThrottle, s.HTTP); ok {
		return v
	}
	switch kw {
	case filterexpr.KwPartial:
		return boolv(dst, s.IsPartial)
	case filterexpr.KwInferred:
		return boolv(dst, s.HasInferred)
	case filterexpr.KwResponseTime:
		return numv(dst, s.ResponseTime)
	case filterexpr.KwDuration:
		return numv(dst, s.Duration())
	case filterexpr.KwUser:
		for _, u := range s.Users {
			dst = strv(dst, u.Name)
		}
		return dst
	case filterexpr.KwAvailabilityZone:
		return strv(dst, s.AvailabilityZones...)
	case filterexpr.KwInstanceID:
		return strv(dst, s.InstanceIDs...)
	case filterexpr.KwResourceARN:
		return strv(dst, s.ResourceARNs...)
	case filterexpr.KwAnnotation:
		for _, a := range s.Annotations {
			if a.Key == key {
				dst = append(dst, valueOf(a.Value))
			}
		}
		return dst
	}
	return nil
}

// entityScope answers keywords inside service and edge filters from one
// segment of a node, or one call subsegment.
type entityScope struct {
	e *model.Entity
	n *trace.Node
}

func (sc entityScope) values(dst []filterexpr.Value, kw filterexpr.Keyword, key string) []filterexpr.Value {
	e := sc.e
	if v, ok := statusValues(dst, kw, e.Fault, e.Error, e.Throttle, e.HTTP); ok {
		return v
	}
	switch kw {
	case filterexpr.KwPartial:
		return boolv(dst, e.InProgress)
	case filterexpr.KwInferred:
		return boolv(dst, sc.n.Inferred)
	case filterexpr.KwRoot:
		return boolv(dst, sc.n.Root)
	case filterexpr.KwResponseTime, filterexpr.KwDuration:
		if e.InProgress {
			return nil
		}
		return numv(dst, e.End-e.Start)
	case filterexpr.KwUser:
		return strv(dst, e.User)
	case filterexpr.KwAvailabilityZone:
		return strv(dst, e.AvailabilityZone)
	case filterexpr.KwInstanceID:
		return strv(dst, e.InstanceID)
	case filterexpr.KwResourceARN:
		return strv(dst, e.ResourceARN)
	}
	return nil
}

// matchRootCause: some element (service, entity or exception, by Scope) of
// some root cause of the kind satisfies the filter. index, first and last
// number the elements of one root cause in order.
func matchRootCause(e *filterexpr.RootCause, s *model.Summary) bool {
	list := s.FaultRootCauses
	switch e.Kind {
	case filterexpr.RootCauseError:
		list = s.ErrorRootCauses
	case filterexpr.RootCauseResponseTime:
		list = s.ResponseTimeRootCauses
	}
	for _, rc := range list {
		var elems []rootCauseScope
		for _, svc := range rc.Services {
			if e.Scope == filterexpr.ScopeService {
				elems = append(elems, rootCauseScope{svc: svc})
				continue
			}
			for _, ent := range svc.EntityPath {
				if e.Scope == filterexpr.ScopeEntity {
					elems = append(elems, rootCauseScope{svc: svc, ent: &ent})
					continue
				}
				for _, x := range ent.Exceptions {
					elems = append(elems, rootCauseScope{svc: svc, ent: &ent, exc: &x})
				}
			}
		}
		for i := range elems {
			elems[i].index, elems[i].count = i, len(elems)
			if eval(e.Filter, elems[i], nil) {
				return true
			}
		}
	}
	return false
}

// rootCauseScope answers the root-cause keywords for one element.
type rootCauseScope struct {
	svc          model.RootCauseService
	ent          *model.RootCauseEntity
	exc          *model.Exception
	index, count int
}

func (sc rootCauseScope) values(dst []filterexpr.Value, kw filterexpr.Keyword, _ string) []filterexpr.Value {
	switch kw {
	case filterexpr.KwIndex:
		return numv(dst, float64(sc.index))
	case filterexpr.KwFirst:
		return boolv(dst, sc.index == 0)
	case filterexpr.KwLast:
		return boolv(dst, sc.index == sc.count-1)
	case filterexpr.KwInferred:
		return boolv(dst, sc.svc.Inferred)
	case filterexpr.KwType:
		return strv(dst, sc.svc.ID.Type)
	case filterexpr.KwName:
		switch {
		case sc.exc != nil:
			return strv(dst, sc.exc.Type)
		case sc.ent != nil:
			return strv(dst, sc.ent.Name)
		}
		return strv(dst, sc.svc.ID.Name)
	case filterexpr.KwMessage:
		if sc.exc != nil {
			return strv(dst, sc.exc.Message)
		}
	case filterexpr.KwRemote:
		switch {
		case sc.exc != nil:
			return boolv(dst, sc.exc.Remote)
		case sc.ent != nil:
			return boolv(dst, sc.ent.Remote)
		}
	case filterexpr.KwCoverage:
		if sc.ent != nil {
			return numv(dst, sc.ent.Coverage)
		}
	}
	return nil
}

// HeadOnly reports whether e reads only a summary's head (flags, times,
// HTTP), so that a scan can reject traces before decoding the rest (see
// store.SummaryQuery.Prefilter).
func HeadOnly(e filterexpr.Expr) bool {
	ok := true
	filterexpr.Walk(e, func(x filterexpr.Expr) bool {
		switch x := x.(type) {
		case *filterexpr.And, *filterexpr.Or, *filterexpr.Not:
		case *filterexpr.Compare:
			switch x.Keyword {
			case filterexpr.KwOK, filterexpr.KwError, filterexpr.KwFault, filterexpr.KwThrottle,
				filterexpr.KwPartial, filterexpr.KwInferred, filterexpr.KwResponseTime, filterexpr.KwDuration,
				filterexpr.KwHTTPStatus, filterexpr.KwHTTPURL, filterexpr.KwHTTPMethod,
				filterexpr.KwHTTPUserAgent, filterexpr.KwHTTPClientIP:
			default:
				ok = false
			}
		default:
			ok = false
		}
		return ok
	})
	return ok
}
