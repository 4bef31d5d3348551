package trace

import (
	"fmt"
	"math"
	"strings"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// maxRootCauses bounds the chains kept per kind in one summary.
const maxRootCauses = 10

// tnode is an entity in the trace's call tree: segments and subsegments,
// with each callee segment under the call that reached it and a synthetic
// inferred node under each call whose callee sent nothing.
type tnode struct {
	e        *model.Entity
	segment  bool // starts a service: a segment or an inferred node
	inferred bool
	svc      model.ServiceID
	children []*tnode
}

// callTree builds the tree below the root segment; nil without one.
func callTree(spans []*model.Span, x *traceIndex) *tnode {
	byID := map[model.SpanID]*tnode{}
	var wrap func(e *model.Entity, seg bool) *tnode
	wrap = func(e *model.Entity, seg bool) *tnode {
		t := &tnode{e: e, segment: seg}
		if seg {
			t.svc = segmentNode(e)
		}
		if _, dup := byID[e.ID]; !dup {
			byID[e.ID] = t
		}
		for i := range e.Subsegments {
			t.children = append(t.children, wrap(&e.Subsegments[i], false))
		}
		return t
	}
	var roots []*tnode
	for _, s := range spans {
		roots = append(roots, wrap(&s.Root, !s.Independent))
	}
	root := x.root
	if root == nil {
		return nil
	}
	called := map[model.SpanID]bool{}
	for _, t := range roots {
		if t.e == root || t.e.ParentID == 0 {
			continue
		}
		if p := byID[t.e.ParentID]; p != nil && !inSubtree(p, t) {
			p.children = append(p.children, t)
			if t.segment {
				called[t.e.ParentID] = true
			}
		}
	}
	for _, t := range byID {
		if !t.segment && isCall(t.e) && !called[t.e.ID] {
			t.children = append(t.children, &tnode{e: t.e, segment: true, inferred: true, svc: inferredNode(t.e)})
		}
	}
	return byID[root.ID]
}

// inSubtree reports whether target lies in t's subtree (a loop if attached).
func inSubtree(target, t *tnode) bool {
	if target == t {
		return true
	}
	for _, c := range t.children {
		if inSubtree(target, c) {
			return true
		}
	}
	return false
}

// rootCauses finds the fault (or error) chains: from the root down through
// every subtree holding the flag, to each flagged entity with no flagged
// entity below it, the culprit.
func rootCauses(root *tnode, flag func(*model.Entity) bool) []model.RootCause {
	if root == nil {
		return nil
	}
	memo := map[*tnode]bool{}
	var has func(t *tnode) bool
	has = func(t *tnode) bool {
		if v, ok := memo[t]; ok {
			return v
		}
		memo[t] = false // guards against loops
		v := flag(t.e)
		for _, c := range t.children {
			if has(c) {
				v = true
			}
		}
		memo[t] = v
		return v
	}
	var out []model.RootCause
	seen := map[string]bool{}
	var walk func(t *tnode, path []*tnode)
	walk = func(t *tnode, path []*tnode) {
		if len(out) == maxRootCauses || len(path) > 256 {
			return
		}
		path = append(path, t)
		below := false
		for _, c := range t.children {
			if has(c) {
				below = true
				walk(c, path)
			}
		}
		if !below && flag(t.e) {
			rc := chain(path, nil)
			rc.ClientImpacting = flag(root.e)
			if key := signature(rc); !seen[key] {
				seen[key] = true
				out = append(out, rc)
			}
		}
	}
	if has(root) {
		walk(root, nil)
	}
	return out
}

// responseTimeRootCause follows, from the root, the child that took longest
// at each level: the path that accounts for the response time.
func responseTimeRootCause(root *tnode) []model.RootCause {
	if root == nil || root.e.InProgress || root.e.End <= root.e.Start {
		return nil
	}
	total := root.e.End - root.e.Start
	path := []*tnode{root}
	for t := root; len(path) < 256; {
		var next *tnode
		for _, c := range t.children {
			if c.e.InProgress || (next != nil && c.e.End-c.e.Start <= next.e.End-next.e.Start) {
				continue
			}
			next = c
		}
		if next == nil {
			break
		}
		path = append(path, next)
		t = next
	}
	// A child can outlast its parent (asynchronous work, clock skew between
	// hosts); coverage is a share of the response time, so it stops at 1.
	rc := chain(path, func(e *model.Entity) float64 { return min((e.End-e.Start)/total, 1) })
	rc.ClientImpacting = true
	return []model.RootCause{rc}
}

// chain turns a path of the call tree into X-Ray's shape: one service per
// segment (or inferred node) crossed, with the entities passed in it; the
// culprit, last, carries its exceptions.
func chain(path []*tnode, coverage func(*model.Entity) float64) model.RootCause {
	var rc model.RootCause
	for i, t := range path {
		if t.segment || len(rc.Services) == 0 {
			svc := t.svc
			if !t.segment {
				svc = model.ServiceID{Name: t.e.Name}
			}
			rc.Services = append(rc.Services, model.RootCauseService{ID: svc, Inferred: t.inferred})
		}
		ent := model.RootCauseEntity{Name: t.e.Name, Remote: t.inferred || t.e.Namespace == "remote" || t.e.Namespace == "aws"}
		if t.inferred {
			ent.Name = t.svc.Name
		}
		if coverage != nil {
			ent.Coverage = math.Round(coverage(t.e)*1e4) / 1e4 // what X-Ray shows; short to store
		}
		if i == len(path)-1 && coverage == nil {
			ent.Exceptions = t.e.Exceptions
			for _, x := range t.e.Exceptions {
				ent.Remote = ent.Remote || x.Remote
			}
		}
		s := &rc.Services[len(rc.Services)-1]
		s.EntityPath = append(s.EntityPath, ent)
	}
	return rc
}

func signature(rc model.RootCause) string {
	var b strings.Builder
	for _, s := range rc.Services {
		fmt.Fprintf(&b, "%s|%s|", s.ID.Name, s.ID.Type)
		for _, e := range s.EntityPath {
			b.WriteString(e.Name)
			b.WriteByte('/')
		}
		b.WriteByte(';')
	}
	return b.String()
}

func isFault(e *model.Entity) bool { return e.Fault }
func isError(e *model.Entity) bool { return e.Error || e.Throttle }
