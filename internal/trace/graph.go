package trace

import (
	"context"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// Graph is one trace's service graph: the nodes it passed through and the
// calls between them, built as X-Ray builds its service map.
type Graph struct {
	Nodes []*Node
	Edges []*Edge
}

// Node is a service of the trace: the segments it sent, or, for an inferred
// node (a downstream that sent no segment), the calls made to it.
type Node struct {
	ID       model.ServiceID
	Segments []*model.Entity
	Calls    []*model.Entity
	Inferred bool
	// Root is true for the node of the trace's root segment.
	Root bool
}

// Edge is one call: the caller's subsegment, from the node that made it to
// the node that served it.
type Edge struct {
	From, To *Node
	Call     *model.Entity
}

// BuildGraph builds the graph of a trace from its deduplicated spans (see
// Dedupe).
func BuildGraph(spans []*model.Span) *Graph {
	g := &Graph{}
	byID := map[model.ServiceID]*Node{}
	node := func(id model.ServiceID, inferred bool) *Node {
		n := byID[id]
		if n == nil {
			n = &Node{ID: id, Inferred: inferred}
			byID[id] = n
			g.Nodes = append(g.Nodes, n)
		}
		return n
	}
	x := indexGraph(spans)
	root := x.root
	for _, seg := range x.segments {
		n := node(segmentNode(seg), false)
		n.Segments = append(n.Segments, seg)
		if seg == root {
			n.Root = true
		}
	}
	for _, s := range spans {
		var from *Node
		if !s.Independent {
			from = byID[segmentNode(&s.Root)]
		} else if seg := owner(x.holder, s.Root.ID); seg != nil {
			from = byID[segmentNode(seg)]
		}
		s.Root.Walk(func(e *model.Entity, depth int) {
			if (depth == 0 && !s.Independent) || !isCall(e) || from == nil {
				return
			}
			var to *Node
			if seg := x.callee[e.ID]; seg != nil {
				to = byID[segmentNode(seg)]
			} else {
				to = node(inferredNode(e), true)
				to.Calls = append(to.Calls, e)
			}
			g.Edges = append(g.Edges, &Edge{From: from, To: to, Call: e})
		})
	}
	return g
}

// Load reads and decodes every stored span of a trace, deduplicated.
func Load(ctx context.Context, st store.Store, id model.TraceID) ([]*model.Span, error) {
	recs, err := st.Trace(ctx, id)
	if err != nil {
		return nil, err
	}
	var spans []*model.Span
	for _, r := range recs {
		decoded, err := xray.Decode(r.Doc)
		if err != nil {
			continue // stored documents were validated; skip one that no longer decodes
		}
		for i := range decoded {
			decoded[i].Doc = nil
			spans = append(spans, &decoded[i])
		}
	}
	return Dedupe(spans), nil
}
