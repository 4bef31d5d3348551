package trace

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"sort"

	"github.com/valyala/fastjson"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// Segment is one document of an assembled trace.
type Segment struct {
	ID       string
	Document []byte
}

// Assembled is a trace as BatchGetTraces returns it.
type Assembled struct {
	Segments []Segment
	// Duration is the latest end minus the earliest start, in seconds.
	Duration float64
}

// parsers are reused across calls: fastjson's parser keeps its buffers.
var parsers fastjson.ParserPool

// Assemble turns a trace's stored records into the documents X-Ray returns:
// one per segment, with every subsegment sent on its own nested back under
// its parent (ordered by start time among its siblings), trace_id on every
// segment, and an inferred segment for each call to a downstream that sent no
// segment of its own. A subsegment whose parent never arrived is returned as
// a document of its own, so nothing stored is hidden. Documents are edited as
// parsed JSON, so numbers keep their text and unknown fields stay.
func Assemble(tid model.TraceID, recs []store.Record) (Assembled, error) {
	type doc struct {
		rec   *store.Record
		v     *fastjson.Value
		start float64
	}
	var out Assembled
	var arena fastjson.Arena
	nodes := make(map[string]*fastjson.Value, len(recs)*2) // id → object, embedded or top level
	var tops, independents []*doc
	var spans []*model.Span
	used := make([]*fastjson.Parser, 0, len(recs))
	defer func() {
		for _, p := range used {
			parsers.Put(p)
		}
	}()
	for i := range recs {
		r := &recs[i]
		p := parsers.Get()
		used = append(used, p)
		v, err := p.ParseBytes(r.Doc)
		if err == nil && v.Type() != fastjson.TypeObject {
			err = fmt.Errorf("document is not an object")
		}
		if err != nil {
			return out, fmt.Errorf("assemble trace %s: span %s: %w", tid, r.ID, err)
		}
		d := &doc{rec: r, v: v, start: v.GetFloat64("start_time")}
		if parsed, err := xray.Decode(r.Doc); err == nil {
			for j := range parsed {
				spans = append(spans, &parsed[j])
			}
		}
		register(nodes, v)
		if r.Independent {
			independents = append(independents, d)
		} else {
			tops = append(tops, d)
		}
	}
	// Nest independent subsegments; those whose parent is missing (or whose
	// parent lies below them, a loop) stay top level.
	sort.SliceStable(independents, func(i, j int) bool { return independents[i].start < independents[j].start })
	for _, d := range independents {
		parent := nodes[d.rec.ParentID.String()]
		if parent == nil || within(parent, d.v) {
			tops = append(tops, d)
			continue
		}
		d.v.Del("trace_id")
		d.v.Del("parent_id")
		d.v.Del("type")
		subs := parent.Get("subsegments")
		if subs == nil || subs.Type() != fastjson.TypeArray {
			subs = arena.NewArray()
			parent.Set("subsegments", subs)
		}
		// A subsegment sent on its own and again inside its parent's
		// document appears once: the embedded copy, unless only the one
		// sent on its own is complete (see Dedupe).
		at := len(subs.GetArray())
		for i, c := range subs.GetArray() {
			if string(c.GetStringBytes("id")) == d.rec.ID.String() {
				at = i
				break
			}
		}
		if at < len(subs.GetArray()) && (!subs.GetArray()[at].GetBool("in_progress") || d.rec.InProgress) {
			continue
		}
		subs.SetArrayItem(at, d.v)
	}
	for _, v := range nodes {
		subs := v.Get("subsegments")
		if subs == nil || subs.Type() != fastjson.TypeArray {
			continue
		}
		children, _ := subs.Array() // fastjson's own slice: sorting it sorts the array
		sort.SliceStable(children, func(i, j int) bool {
			return children[i].GetFloat64("start_time") < children[j].GetFloat64("start_time")
		})
	}
	segs := make([]*fastjson.Value, 0, len(tops))
	for _, d := range tops {
		d.v.Set("trace_id", arena.NewString(tid.String()))
		segs = append(segs, d.v)
	}
	spans = Dedupe(spans)
	segs = append(segs, inferredSegments(&arena, tid, spans, nodes)...)
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].GetFloat64("start_time") < segs[j].GetFloat64("start_time") })
	for _, v := range segs {
		out.Segments = append(out.Segments, Segment{ID: string(v.GetStringBytes("id")), Document: v.MarshalTo(nil)})
	}
	minStart, maxEnd := math.Inf(1), math.Inf(-1)
	for _, s := range spans {
		s.Root.Walk(func(e *model.Entity, _ int) {
			minStart = math.Min(minStart, e.Start)
			if !e.InProgress {
				maxEnd = math.Max(maxEnd, e.End)
			}
		})
	}
	if maxEnd > minStart {
		out.Duration = maxEnd - minStart
	}
	return out, nil
}

// inferredSegments builds X-Ray's inferred segment for each call whose callee
// sent no segment: the call's name, times and flags, its http and aws objects
// copied, parent_id the call's id, and origin the inferred node's type.
func inferredSegments(a *fastjson.Arena, tid model.TraceID, spans []*model.Span, nodes map[string]*fastjson.Value) []*fastjson.Value {
	called := map[model.SpanID]bool{}
	for _, s := range spans {
		if !s.Independent && s.Root.ParentID != 0 {
			called[s.Root.ParentID] = true
		}
	}
	var out []*fastjson.Value
	for _, s := range spans {
		s.Root.Walk(func(e *model.Entity, depth int) {
			if (depth == 0 && !s.Independent) || !isCall(e) || called[e.ID] {
				return
			}
			call := nodes[e.ID.String()]
			if call == nil {
				return
			}
			seg := a.NewObject()
			seg.Set("id", a.NewString(inferredID(e.ID).String()))
			seg.Set("name", a.NewString(e.Name))
			for _, k := range []string{"start_time", "end_time", "in_progress", "fault", "error", "throttle", "http", "aws"} {
				if v := call.Get(k); v != nil {
					seg.Set(k, v)
				}
			}
			seg.Set("parent_id", a.NewString(e.ID.String()))
			seg.Set("inferred", a.NewTrue())
			seg.Set("trace_id", a.NewString(tid.String()))
			seg.Set("origin", a.NewString(inferredNode(e).Type))
			out = append(out, seg)
		})
	}
	return out
}

// inferredID derives a stable id for the inferred segment of a call.
func inferredID(call model.SpanID) model.SpanID {
	h := fnv.New64a()
	h.Write(binary.BigEndian.AppendUint64([]byte("inferred"), uint64(call)))
	return model.SpanID(h.Sum64())
}

// register indexes obj and its embedded subsegments by id.
func register(nodes map[string]*fastjson.Value, obj *fastjson.Value) {
	if id := obj.GetStringBytes("id"); id != nil {
		if _, dup := nodes[string(id)]; !dup {
			nodes[string(id)] = obj
		}
	}
	for _, s := range obj.GetArray("subsegments") {
		if s.Type() == fastjson.TypeObject {
			register(nodes, s)
		}
	}
}

// within reports whether target is obj or lies below it.
func within(target, obj *fastjson.Value) bool {
	if target == obj {
		return true
	}
	for _, s := range obj.GetArray("subsegments") {
		if within(target, s) {
			return true
		}
	}
	return false
}
