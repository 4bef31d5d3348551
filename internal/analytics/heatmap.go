package analytics

import (
	"errors"
	"fmt"
	"math"

	"github.com/fluoro-dev/fluoro/internal/trace"
)

// MaxHeatmapColumns bounds a heat map's time buckets.
const MaxHeatmapColumns = 1000

// LatencyBuckets are the heat map's latency rows: bucket i holds durations
// in [LatencyBuckets[i], LatencyBuckets[i+1]) seconds; the last is open.
var LatencyBuckets = []float64{0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100}

// HeatmapColumn is one time bucket: how many durations fell in each latency
// bucket, and their percentiles.
type HeatmapColumn struct {
	Start  float64 `json:"start"`
	Counts []int64 `json:"counts"`
	Percentiles
}

// HeatmapResult is the answer of /api/analytics/heatmap.
type HeatmapResult struct {
	Traces Coverage `json:"traces"`
	// Node is the service whose segment durations are charted; empty for
	// the traces' response times.
	Node           string          `json:"node,omitempty"`
	Start          float64         `json:"start"`
	Step           float64         `json:"step"`
	LatencyBuckets []float64       `json:"latencyBuckets"`
	Columns        []HeatmapColumn `json:"columns"`
}

// Heatmap accumulates a time × latency grid: of the traces' response times
// (placed at the trace's start), or with a node, of that service's segment
// durations (placed at each segment's start).
type Heatmap struct {
	start, end, step float64
	node             string
	cols             []heatCol
}

type heatCol struct {
	counts []int64
	d      *dist
}

// NewHeatmap makes a grid over [start, end) with columns step seconds wide.
func NewHeatmap(start, end, step float64, node string) (*Heatmap, error) {
	if !(step > 0) || math.IsInf(step, 0) {
		return nil, &ParamError{Param: "step", Err: errors.New("step must be a positive duration")}
	}
	n := math.Ceil((end - start) / step)
	if n > MaxHeatmapColumns {
		return nil, &ParamError{Param: "step", Err: fmt.Errorf("step %gs makes %.0f columns; at most %d are allowed", step, n, MaxHeatmapColumns)}
	}
	if n < 1 {
		n = 1
	}
	return &Heatmap{start: start, end: end, step: step, node: node, cols: make([]heatCol, int(n))}, nil
}

// NeedsSpans reports whether Add needs the traces' spans.
func (h *Heatmap) NeedsSpans() bool { return h.node != "" }

func (h *Heatmap) put(at, v float64) {
	if at < h.start || at >= h.end || v < 0 {
		return
	}
	i := min(int((at-h.start)/h.step), len(h.cols)-1)
	c := &h.cols[i]
	if c.d == nil {
		c.d, c.counts = newDist(), make([]int64, len(LatencyBuckets))
	}
	c.d.add(v)
	b := 0
	for b+1 < len(LatencyBuckets) && v >= LatencyBuckets[b+1] {
		b++
	}
	c.counts[b]++
}

// Add takes one trace.
func (h *Heatmap) Add(t *Trace) {
	if h.node == "" {
		if t.Summary.ResponseTime > 0 || (t.Summary.EntryPoint != nil && !t.Summary.IsPartial) {
			h.put(t.Summary.Start, t.Summary.ResponseTime)
		}
		return
	}
	for _, n := range trace.BuildGraph(t.Spans).Nodes {
		if n.ID.Name != h.node {
			continue
		}
		for _, seg := range n.Segments {
			h.put(seg.Start, duration(seg))
		}
		for _, c := range n.Calls {
			h.put(c.Start, duration(c))
		}
	}
}

// Result renders the grid; empty columns have zero counts.
func (h *Heatmap) Result() HeatmapResult {
	r := HeatmapResult{Node: h.node, Start: h.start, Step: h.step, LatencyBuckets: LatencyBuckets, Columns: make([]HeatmapColumn, len(h.cols))}
	for i, c := range h.cols {
		col := HeatmapColumn{Start: h.start + float64(i)*h.step, Counts: c.counts}
		if c.d != nil {
			col.Percentiles = c.d.percentiles()
		} else {
			col.Counts = make([]int64, len(LatencyBuckets))
		}
		r.Columns[i] = col
	}
	return r
}
