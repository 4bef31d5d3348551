package trace

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"reflect"
	"sort"

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

// Assemble turns a trace's stored records into the documents X-Ray returns:
// one per segment, with every subsegment sent on its own nested back under
// its parent (ordered by start time among its siblings), trace_id on every
// segment, and an inferred segment for each call to a downstream that sent no
// segment of its own. A subsegment whose parent never arrived is returned as
// a document of its own, so nothing stored is hidden.
func Assemble(tid model.TraceID, recs []store.Record) (Assembled, error) {
	type node struct {
		obj   map[string]any
		rec   *store.Record
		top   bool
		start float64
	}
	var out Assembled
	nodes := make(map[string]map[string]any) // id → object, embedded or top level
	var tops, independents []*node
	minStart, maxEnd := math.Inf(1), math.Inf(-1)
	var spans []*model.Span
	for i := range recs {
		r := &recs[i]
		obj, err := decodeObject(r.Doc)
		if err != nil {
			return out, fmt.Errorf("assemble trace %s: span %s: %w", tid, r.ID, err)
		}
		n := &node{obj: obj, rec: r, top: !r.Independent, start: num(obj["start_time"])}
		if parsed, err := xray.Decode(r.Doc); err == nil {
			for j := range parsed {
				spans = append(spans, &parsed[j])
			}
		}
		register(nodes, obj)
		if n.top {
			tops = append(tops, n)
		} else {
			independents = append(independents, n)
		}
	}
	// Nest independent subsegments; those whose parent is missing (or whose
	// parent chain loops back to them) stay top level.
	sort.SliceStable(independents, func(i, j int) bool { return independents[i].start < independents[j].start })
	for _, n := range independents {
		parent := nodes[n.rec.ParentID.String()]
		if parent == nil || within(parent, n.obj) {
			tops = append(tops, n)
			continue
		}
		delete(n.obj, "trace_id")
		delete(n.obj, "parent_id")
		delete(n.obj, "type")
		subs, _ := parent["subsegments"].([]any)
		parent["subsegments"] = append(subs, n.obj)
	}
	for _, obj := range nodes {
		if subs, ok := obj["subsegments"].([]any); ok && len(subs) > 1 {
			sort.SliceStable(subs, func(i, j int) bool {
				return num(asObject(subs[i])["start_time"]) < num(asObject(subs[j])["start_time"])
			})
		}
	}
	var segs []map[string]any
	for _, n := range tops {
		n.obj["trace_id"] = tid.String()
		segs = append(segs, n.obj)
	}
	segs = append(segs, inferredSegments(tid, Dedupe(spans))...)
	sort.SliceStable(segs, func(i, j int) bool { return num(segs[i]["start_time"]) < num(segs[j]["start_time"]) })
	for _, obj := range segs {
		walkTimes(obj, &minStart, &maxEnd)
		doc, err := json.Marshal(obj)
		if err != nil {
			return out, fmt.Errorf("assemble trace %s: %w", tid, err)
		}
		id, _ := obj["id"].(string)
		out.Segments = append(out.Segments, Segment{ID: id, Document: doc})
	}
	if maxEnd > minStart {
		out.Duration = maxEnd - minStart
	}
	return out, nil
}

// inferredSegments builds X-Ray's inferred segment for each call whose callee
// sent no segment: named and typed as the service map's inferred node, with
// the call's times, http and aws objects, and parent_id the call's id.
func inferredSegments(tid model.TraceID, spans []*model.Span) []map[string]any {
	called := map[model.SpanID]bool{}
	for _, s := range spans {
		if !s.Independent && s.Root.ParentID != 0 {
			called[s.Root.ParentID] = true
		}
	}
	var out []map[string]any
	for _, s := range spans {
		s.Root.Walk(func(e *model.Entity, depth int) {
			if (depth == 0 && !s.Independent) || !isCall(e) || called[e.ID] {
				return
			}
			node := inferredNode(e)
			seg := map[string]any{
				"id":         inferredID(e.ID).String(),
				"name":       node.Name,
				"start_time": e.Start,
				"parent_id":  e.ID.String(),
				"inferred":   true,
				"trace_id":   tid.String(),
				"origin":     node.Type,
			}
			if e.InProgress {
				seg["in_progress"] = true
			} else {
				seg["end_time"] = e.End
			}
			if e.Fault {
				seg["fault"] = true
			}
			if e.Error {
				seg["error"] = true
			}
			if e.Throttle {
				seg["throttle"] = true
			}
			if e.HTTP.Status != 0 {
				seg["http"] = map[string]any{"response": map[string]any{"status": e.HTTP.Status}}
			}
			if e.Namespace == "aws" {
				aws := map[string]any{}
				for k, v := range map[string]string{"operation": e.AWS.Operation, "region": e.AWS.Region,
					"table_name": e.AWS.TableName, "queue_url": e.AWS.QueueURL, "bucket_name": e.AWS.Bucket,
					"function_name": e.AWS.Function} {
					if v != "" {
						aws[k] = v
					}
				}
				seg["aws"] = aws
			}
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

func decodeObject(doc []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, fmt.Errorf("document is not an object")
	}
	return obj, nil
}

// register indexes obj and its embedded subsegments by id.
func register(nodes map[string]map[string]any, obj map[string]any) {
	if id, ok := obj["id"].(string); ok {
		if _, dup := nodes[id]; !dup {
			nodes[id] = obj
		}
	}
	subs, _ := obj["subsegments"].([]any)
	for _, s := range subs {
		if o := asObject(s); o != nil {
			register(nodes, o)
		}
	}
}

// within reports whether target is obj or lies below it.
func within(target, obj map[string]any) bool {
	if reflect.ValueOf(target).UnsafePointer() == reflect.ValueOf(obj).UnsafePointer() {
		return true
	}
	subs, _ := obj["subsegments"].([]any)
	for _, s := range subs {
		if o := asObject(s); o != nil && within(target, o) {
			return true
		}
	}
	return false
}

func walkTimes(obj map[string]any, minStart, maxEnd *float64) {
	if s := num(obj["start_time"]); s > 0 && s < *minStart {
		*minStart = s
	}
	if e := num(obj["end_time"]); e > *maxEnd {
		*maxEnd = e
	}
	subs, _ := obj["subsegments"].([]any)
	for _, s := range subs {
		if o := asObject(s); o != nil {
			walkTimes(o, minStart, maxEnd)
		}
	}
}

func asObject(v any) map[string]any {
	o, _ := v.(map[string]any)
	return o
}

func num(v any) float64 {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case float64:
		return x
	}
	return 0
}
