package servicegraph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/trace"
)

// Kind says what a node stands for, which decides its State and whether it
// has statistics of its own.
type Kind uint8

// Node kinds.
const (
	// KindService is an instrumented service: it sent segments. State
	// "active".
	KindService Kind = iota + 1
	// KindInferred is a downstream that sent no segment (an AWS service, a
	// database, a remote HTTP host), known from its callers' subsegments.
	// State "unknown".
	KindInferred
	// KindClient is the caller of a trace's entry point, which is not
	// instrumented. It has no statistics of its own; its edge carries the
	// entry point's. Type "client", State "unknown".
	KindClient
)

// ClientType is the Type of client nodes.
const ClientType = "client"

// NodeKey identifies a node: name, type (a segment's origin, an inferred
// type, or "client") and account.
type NodeKey = model.ServiceID

// Node is a node of a service graph and its statistics.
type Node struct {
	Key  NodeKey
	Kind Kind
	// Root is true when the node served the first hop of some trace.
	Root  bool
	Stats Stats
}

// EdgeKey identifies an edge: the calling node and the called node.
type EdgeKey struct{ From, To NodeKey }

// Edge is a call relation of a service graph and its statistics, taken from
// the callers' subsegments (for a client edge, from the entry segment).
type Edge struct {
	Key   EdgeKey
	Stats Stats
}

// Bucket is a service graph: the nodes and edges of some traces with their
// statistics. Buckets merge, which is how one per minute of traffic
// becomes the graph of an hour. The zero value is not usable; use
// NewBucket.
type Bucket struct {
	Nodes map[NodeKey]*Node
	Edges map[EdgeKey]*Edge
}

// NewBucket returns an empty bucket.
func NewBucket() *Bucket {
	return &Bucket{Nodes: map[NodeKey]*Node{}, Edges: map[EdgeKey]*Edge{}}
}

func (b *Bucket) node(k NodeKey, kind Kind) *Node {
	n := b.Nodes[k]
	if n == nil {
		n = &Node{Key: k, Kind: kind}
		b.Nodes[k] = n
	} else if kind < n.Kind {
		n.Kind = kind // a node that ever sent a segment is a service
	}
	return n
}

func (b *Bucket) edge(from, to NodeKey) *Edge {
	k := EdgeKey{from, to}
	e := b.Edges[k]
	if e == nil {
		e = &Edge{Key: k}
		b.Edges[k] = e
	}
	return e
}

// AddTrace adds one completed trace: g is its graph (trace.BuildGraph of
// its deduplicated spans) and duration its end-to-end duration.
//
// Every complete segment counts one request of its node; every call counts
// one request of its edge and, when the callee sent no segment, of the
// inferred node. A segment that no call of the trace reached (its caller is not
// instrumented) gets a client node and an edge from it carrying the
// segment's own statistics. In-progress segments and calls are not counted:
// their outcome and duration are not known yet.
func (b *Bucket) AddTrace(g *trace.Graph, duration float64) {
	b.Apply(Contributions(g, duration))
}

// Contribution is one trace's part of a graph (see AddTrace), computed once
// and applied to as many buckets as the trace belongs to (its minute and
// hour, for each of its groups).
type Contribution struct {
	ops []op
}

// op counts one request of a node or an edge, or only marks that one
// exists.
type op struct {
	from, to *NodeKey // to is set for edges
	edge     bool
	kind     Kind // nodes
	root     bool
	// count is false for an entry that only makes the node or edge exist
	// (in-progress requests) or only widens its time span (client nodes).
	count                bool
	spanOnly             bool
	fault, err, throttle bool
	start, end, duration float64
}

// Contributions computes what AddTrace adds for the trace of graph g.
func Contributions(g *trace.Graph, duration float64) Contribution {
	ops := make([]op, 0, 2*len(g.Nodes)+len(g.Edges)+3)
	var calls map[model.SpanID]bool
	if len(g.Edges) > 0 {
		calls = make(map[model.SpanID]bool, len(g.Edges))
		for _, e := range g.Edges {
			calls[e.Call.ID] = true
		}
	}
	for _, gn := range g.Nodes {
		kind := KindService
		ents := gn.Segments
		if gn.Inferred {
			kind, ents = KindInferred, gn.Calls
		}
		ops = append(ops, op{from: &gn.ID, kind: kind, root: gn.Root})
		for _, e := range ents {
			if !e.InProgress {
				ops = append(ops, op{from: &gn.ID, kind: kind, count: true, fault: e.Fault, err: e.Error,
					throttle: e.Throttle, start: e.Start, end: e.End, duration: duration})
			}
		}
		if gn.Inferred {
			continue
		}
		for _, seg := range gn.Segments {
			if calls[seg.ParentID] || seg.InProgress {
				// Called from a subsegment of the trace: that call's edge
				// counts it.
				continue
			}
			ck := &NodeKey{Name: gn.ID.Name, Type: ClientType, AccountID: gn.ID.AccountID}
			ops = append(ops, op{from: ck, kind: KindClient, spanOnly: true, start: seg.Start, end: seg.End},
				op{from: &gn.ID, kind: kind, root: true},
				op{from: ck, to: &gn.ID, edge: true, count: true, fault: seg.Fault, err: seg.Error,
					throttle: seg.Throttle, start: seg.Start, end: seg.End})
		}
	}
	for _, e := range g.Edges {
		c := e.Call
		// An in-progress call still shows the edge.
		ops = append(ops, op{from: &e.From.ID, to: &e.To.ID, edge: true, count: !c.InProgress, fault: c.Fault,
			err: c.Error, throttle: c.Throttle, start: c.Start, end: c.End})
	}
	return Contribution{ops: ops}
}

// Apply adds a trace's contribution to b.
func (b *Bucket) Apply(c Contribution) {
	for i := range c.ops {
		o := &c.ops[i]
		var st *Stats
		if o.edge {
			st = &b.edge(*o.from, *o.to).Stats
		} else {
			n := b.node(*o.from, o.kind)
			n.Root = n.Root || o.root
			st = &n.Stats
			if o.count {
				n.Stats.Durations.Add(o.duration)
			}
		}
		switch {
		case o.spanOnly:
			st.span(o.start, o.end)
		case o.count:
			st.count(o.fault, o.err, o.throttle, o.start, o.end)
		}
	}
}

// Merge adds o to b. o is not modified and may be used after.
func (b *Bucket) Merge(o *Bucket) {
	for k, on := range o.Nodes {
		n := b.node(k, on.Kind)
		n.Root = n.Root || on.Root
		n.Stats.Merge(&on.Stats)
	}
	for k, oe := range o.Edges {
		b.edge(k.From, k.To).Stats.Merge(&oe.Stats)
	}
}

// Sorted returns the nodes ordered by name, type and account, and each
// node's outgoing edges in the same order of their targets.
func (b *Bucket) Sorted() (nodes []*Node, edges map[NodeKey][]*Edge) {
	nodes = make([]*Node, 0, len(b.Nodes))
	for _, n := range b.Nodes {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return keyLess(nodes[i].Key, nodes[j].Key) })
	edges = map[NodeKey][]*Edge{}
	for _, e := range b.Edges {
		edges[e.Key.From] = append(edges[e.Key.From], e)
	}
	for _, es := range edges {
		sort.Slice(es, func(i, j int) bool { return keyLess(es[i].Key.To, es[j].Key.To) })
	}
	return nodes, edges
}

func keyLess(a, b NodeKey) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Type != b.Type {
		return a.Type < b.Type
	}
	return a.AccountID < b.AccountID
}

// Encoding of a bucket (docs/storage-format.md, "Service-graph buckets"):
//
//	version  byte (1)
//	nodes    uvarint n, then n × node
//	edges    uvarint m, then m × edge
//	node     string name, string type, string account, byte kind, byte root, stats
//	edge     uvarint from (index into nodes), uvarint to, stats
//	stats    uvarint ok, error-other, throttle, fault, total;
//	         float64 response-time sum, start, end (little endian bits);
//	         sketch response times, sketch durations
//	string   uvarint length, bytes
//	sketch   uvarint length, DDSketch encoding without its index mapping
//	         (logarithmic, 1% relative accuracy); length 0 is empty
const bucketVersion = 1

// Encode appends the bucket's encoding to dst. Nodes are written in
// Sorted order, so equal buckets encode to equal bytes.
func (b *Bucket) Encode(dst []byte) []byte {
	nodes, edges := b.Sorted()
	index := make(map[NodeKey]int, len(nodes))
	dst = append(dst, bucketVersion)
	dst = appendUvarint(dst, uint64(len(nodes)))
	for i, n := range nodes {
		index[n.Key] = i
		dst = appendString(dst, n.Key.Name)
		dst = appendString(dst, n.Key.Type)
		dst = appendString(dst, n.Key.AccountID)
		root := byte(0)
		if n.Root {
			root = 1
		}
		dst = append(dst, byte(n.Kind), root)
		dst = n.Stats.encode(dst)
	}
	dst = appendUvarint(dst, uint64(len(b.Edges)))
	for _, n := range nodes {
		for _, e := range edges[n.Key] {
			dst = appendUvarint(dst, uint64(index[e.Key.From]))
			dst = appendUvarint(dst, uint64(index[e.Key.To]))
			dst = e.Stats.encode(dst)
		}
	}
	return dst
}

func (s *Stats) encode(dst []byte) []byte {
	for _, v := range [...]int64{s.OK, s.ErrorOther, s.Throttle, s.Fault, s.Total} {
		dst = appendUvarint(dst, uint64(v))
	}
	for _, f := range [...]float64{s.ResponseTime, s.Start, s.End} {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
	}
	dst = s.ResponseTimes.encode(dst)
	return s.Durations.encode(dst)
}

func appendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

func appendString(dst []byte, s string) []byte {
	dst = appendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

var errCorrupt = errors.New("corrupt service-graph bucket")

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errCorrupt
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) float() float64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func (r *reader) stats(s *Stats) {
	for _, p := range [...]*int64{&s.OK, &s.ErrorOther, &s.Throttle, &s.Fault, &s.Total} {
		*p += int64(r.uvarint())
	}
	s.ResponseTime += r.float()
	start, end := r.float(), r.float()
	if start > 0 || end > 0 {
		s.span(start, end)
	}
	for _, h := range [...]*Histogram{&s.ResponseTimes, &s.Durations} {
		enc := r.bytes(r.uvarint())
		if r.err == nil {
			if err := h.decodeMerge(enc); err != nil {
				r.err = fmt.Errorf("%w: %v", errCorrupt, err)
			}
		}
	}
}

// DecodeMerge decodes an encoded bucket and merges it into b. On error b
// may hold part of it.
func (b *Bucket) DecodeMerge(enc []byte) error {
	r := &reader{b: enc}
	if v := r.bytes(1); r.err != nil || v[0] != bucketVersion {
		return fmt.Errorf("%w: unknown version", errCorrupt)
	}
	nn := r.uvarint()
	if nn > uint64(len(enc)) {
		return errCorrupt
	}
	keys := make([]NodeKey, 0, nn)
	for i := uint64(0); i < nn && r.err == nil; i++ {
		k := NodeKey{Name: string(r.bytes(r.uvarint())), Type: string(r.bytes(r.uvarint())),
			AccountID: string(r.bytes(r.uvarint()))}
		kr := r.bytes(2)
		if r.err != nil {
			break
		}
		kind := Kind(kr[0])
		if kind < KindService || kind > KindClient {
			return fmt.Errorf("%w: node kind %d", errCorrupt, kind)
		}
		n := b.node(k, kind)
		n.Root = n.Root || kr[1] == 1
		r.stats(&n.Stats)
		keys = append(keys, k)
	}
	ne := r.uvarint()
	for i := uint64(0); i < ne && r.err == nil; i++ {
		from, to := r.uvarint(), r.uvarint()
		if r.err != nil || from >= uint64(len(keys)) || to >= uint64(len(keys)) {
			return fmt.Errorf("%w: edge to an unknown node", errCorrupt)
		}
		r.stats(&b.edge(keys[from], keys[to]).Stats)
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(r.b))
	}
	return r.err
}
