package trace

import (
	"math"
	"sort"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// maxAnnotations is how many distinct annotation values a summary keeps, as
// X-Ray indexes at most 50 per trace.
const maxAnnotations = 50

// Dedupe keeps one span per id, as storage does: a complete span wins over an
// in-progress one, otherwise the later one in the slice wins. An independent
// subsegment is also dropped when another span embeds a complete entity with
// its id: SDKs that stream subsegments sometimes send one on its own and then
// again inside its parent's document. The order of first appearance is kept.
func Dedupe(spans []*model.Span) []*model.Span {
	if len(spans) < 2 {
		return spans
	}
	at := make(map[model.SpanID]int, len(spans))
	out := spans[:0:0]
	independent := 0
	for _, s := range spans {
		i, seen := at[s.Root.ID]
		if !seen {
			at[s.Root.ID] = len(out)
			out = append(out, s)
			if s.Independent {
				independent++
			}
			continue
		}
		if !s.Root.InProgress || out[i].Root.InProgress {
			if s.Independent != out[i].Independent {
				if s.Independent {
					independent++
				} else {
					independent--
				}
			}
			out[i] = s
		}
	}
	if independent == 0 {
		return out
	}
	// Drop independent subsegments that another span also embeds.
	drop := map[model.SpanID]bool{}
	for _, s := range out {
		for i := range s.Root.Subsegments {
			s.Root.Subsegments[i].Walk(func(e *model.Entity, _ int) {
				if j, ok := at[e.ID]; ok && out[j].Independent && !e.InProgress {
					drop[e.ID] = true
				}
			})
		}
	}
	if len(drop) == 0 {
		return out
	}
	kept := out[:0]
	for _, s := range out {
		if !(s.Independent && drop[s.Root.ID]) {
			kept = append(kept, s)
		}
	}
	return kept
}

// Summarize computes a trace's summary from its spans, which must all belong
// to one trace and be deduplicated (see Dedupe). Revision and Updated are
// left for the caller.
func Summarize(spans []*model.Span) model.Summary {
	var sum model.Summary
	if len(spans) == 0 {
		return sum
	}
	sum.TraceID = spans[0].TraceID
	sum.Start = math.Inf(1)

	x := indexSpans(spans)
	sum.Spans = x.entities
	root := x.root

	services := newServiceSet()
	annotations := map[annotationKey]*model.SummaryAnnotation{}
	var annotationOrder []annotationKey
	users := map[string]*model.SummaryUser{}
	var userOrder []string
	arns, instances, zones := newStringSet(), newStringSet(), newStringSet()
	anyFault, anyError := false, false

	for _, s := range spans {
		// The node an entity belongs to: its segment's; independent
		// subsegments belong to their segment's node when it arrived.
		node := model.ServiceID{}
		hasNode := false
		if !s.Independent {
			node, hasNode = segmentNode(&s.Root), true
			services.add(node)
			if s.Root.User != "" {
				u := users[s.Root.User]
				if u == nil {
					u = &model.SummaryUser{Name: s.Root.User}
					users[s.Root.User] = u
					userOrder = append(userOrder, s.Root.User)
				}
				u.Services = appendService(u.Services, node)
			}
			arns.add(s.Root.ResourceARN)
			instances.add(s.Root.InstanceID)
			zones.add(s.Root.AvailabilityZone)
		} else if !x.has(s.Root.ParentID) {
			sum.IsPartial = true // its parent never arrived
		} else if seg := owner(x.holder, s.Root.ParentID); seg != nil {
			node, hasNode = segmentNode(seg), true
		}
		s.Root.Walk(func(e *model.Entity, depth int) {
			if e.Start < sum.Start {
				sum.Start = e.Start
			}
			if e.End > sum.End {
				sum.End = e.End
			}
			if e.InProgress {
				sum.IsPartial = true
			}
			if e.Throttle {
				sum.HasThrottle = true
			}
			anyFault = anyFault || e.Fault
			anyError = anyError || e.Error || e.Throttle
			if (depth > 0 || s.Independent) && isCall(e) {
				if x.callee[e.ID] == nil {
					if e.HTTP.Traced {
						sum.IsPartial = true // the instrumented callee never reported
					}
					services.add(inferredNode(e))
					sum.HasInferred = true
				}
			}
			for _, a := range e.Annotations {
				k := annotationKey{a.Key, a.Value}
				sa := annotations[k]
				if sa == nil {
					if len(annotationOrder) >= maxAnnotations {
						continue
					}
					sa = &model.SummaryAnnotation{Key: a.Key, Value: a.Value}
					annotations[k] = sa
					annotationOrder = append(annotationOrder, k)
				}
				if hasNode {
					sa.Services = appendService(sa.Services, node)
				}
			}
		})
	}
	if sum.End < sum.Start {
		sum.End = sum.Start
	}
	if root != nil {
		if !root.InProgress {
			sum.ResponseTime = math.Round((root.End-root.Start)*1e6) / 1e6 // to the microsecond, as segments record times
		}
		sum.HasFault, sum.HasError, sum.RootThrottle = root.Fault, root.Error, root.Throttle
		sum.HTTP = root.HTTP
		ep := segmentNode(root)
		sum.EntryPoint = &ep
	}
	sum.Services = services.list
	tree := callTree(spans, x)
	if anyFault { // most traces have neither: skip the searches
		sum.FaultRootCauses = rootCauses(tree, isFault)
	}
	if anyError {
		sum.ErrorRootCauses = rootCauses(tree, isError)
	}
	sum.ResponseTimeRootCauses = responseTimeRootCause(tree)

	for _, k := range annotationOrder {
		sum.Annotations = append(sum.Annotations, *annotations[k])
	}
	sort.SliceStable(sum.Annotations, func(i, j int) bool { return sum.Annotations[i].Key < sum.Annotations[j].Key })
	for _, u := range userOrder {
		sum.Users = append(sum.Users, *users[u])
	}
	sum.ResourceARNs, sum.InstanceIDs, sum.AvailabilityZones = arns.list, instances.list, zones.list
	return sum
}

// findRoot picks the trace's root segment: one without a parent, or else one
// whose parent is not in the trace (its caller did not report); the earliest
// such. It returns nil when there are no segments.
func findRoot(segments []*model.Entity, holder map[model.SpanID]*model.Span) *model.Entity {
	var best *model.Entity
	better := func(e *model.Entity) bool { return best == nil || e.Start < best.Start }
	for _, e := range segments {
		if e.ParentID == 0 && better(e) {
			best = e
		}
	}
	if best != nil {
		return best
	}
	for _, e := range segments {
		if _, ok := holder[e.ParentID]; !ok && better(e) {
			best = e
		}
	}
	if best != nil {
		return best
	}
	for _, e := range segments {
		if better(e) {
			best = e
		}
	}
	return best
}

// owner finds the segment whose tree holds the entity id, following
// independent subsegments up to their segment. holder maps each entity id to
// the span whose tree holds it.
func owner(holder map[model.SpanID]*model.Span, id model.SpanID) *model.Entity {
	for hops := 0; hops <= len(holder); hops++ {
		s := holder[id]
		if s == nil {
			return nil
		}
		if !s.Independent {
			return &s.Root
		}
		id = s.Root.ParentID
	}
	return nil
}

type annotationKey struct {
	key   string
	value model.Value
}

type serviceSet struct {
	seen map[model.ServiceID]bool
	list []model.ServiceID
}

func newServiceSet() *serviceSet { return &serviceSet{seen: map[model.ServiceID]bool{}} }

func (s *serviceSet) add(id model.ServiceID) {
	if !s.seen[id] {
		s.seen[id] = true
		s.list = append(s.list, id)
	}
}

func appendService(list []model.ServiceID, id model.ServiceID) []model.ServiceID {
	for _, x := range list {
		if x == id {
			return list
		}
	}
	return append(list, id)
}

type stringSet struct {
	seen map[string]bool
	list []string
}

func newStringSet() *stringSet { return &stringSet{seen: map[string]bool{}} }

func (s *stringSet) add(v string) {
	if v != "" && !s.seen[v] {
		s.seen[v] = true
		s.list = append(s.list, v)
	}
}
