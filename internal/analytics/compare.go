package analytics

import (
	"cmp"
	"slices"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// Window is one side of a comparison: its time range and the traces read.
type Window struct {
	Start  float64  `json:"start"`
	End    float64  `json:"end"`
	Traces Coverage `json:"traces"`
}

// Change compares one node's or URL's distribution before and after. The
// ratios are after/before of the percentile (0 when either side is empty):
// 1.25 means 25% slower.
type Change struct {
	Before    Stats      `json:"before"`
	After     Stats      `json:"after"`
	P50Ratio  float64    `json:"p50Ratio"`
	P99Ratio  float64    `json:"p99Ratio"`
	FaultRate [2]float64 `json:"faultRate"` // before, after
	ErrorRate [2]float64 `json:"errorRate"`
}

// NodeChange is one node of a comparison.
type NodeChange struct {
	Service  Service `json:"service"`
	Inferred bool    `json:"inferred,omitempty"`
	Change
}

// URLChange is one URL of a comparison.
type URLChange struct {
	Service Service `json:"service"`
	Method  string  `json:"method,omitempty"`
	URL     string  `json:"url"`
	Change
}

// CompareResult is the answer of /api/analytics/compare: two time ranges
// side by side, node by node and URL by URL, busiest first.
type CompareResult struct {
	Before Window       `json:"before"`
	After  Window       `json:"after"`
	Nodes  []NodeChange `json:"nodes"`
	URLs   []URLChange  `json:"urls"`
}

func change(b, a *stat) Change {
	var c Change
	if b != nil {
		c.Before = b.stats()
	}
	if a != nil {
		c.After = a.stats()
	}
	if c.Before.P50 > 0 && c.After.Count > 0 {
		c.P50Ratio = c.After.P50 / c.Before.P50
	}
	if c.Before.P99 > 0 && c.After.Count > 0 {
		c.P99Ratio = c.After.P99 / c.Before.P99
	}
	rate := func(n, of int64) float64 {
		if of == 0 {
			return 0
		}
		return float64(n) / float64(of)
	}
	c.FaultRate = [2]float64{rate(c.Before.Faults, c.Before.Count), rate(c.After.Faults, c.After.Count)}
	c.ErrorRate = [2]float64{rate(c.Before.Errors, c.Before.Count), rate(c.After.Errors, c.After.Count)}
	return c
}

// Compare puts two accumulators side by side; the windows are filled by the
// caller.
func Compare(before, after *Latency, top int) CompareResult {
	r := CompareResult{Nodes: []NodeChange{}, URLs: []URLChange{}}
	nodes := map[model.ServiceID]bool{}
	for k := range before.nodes {
		nodes[k] = true
	}
	for k := range after.nodes {
		nodes[k] = true
	}
	for k := range nodes {
		b, a := before.nodes[k], after.nodes[k]
		var bs, as *stat
		inferred := false
		if b != nil {
			bs, inferred = &b.stat, b.inferred
		}
		if a != nil {
			as, inferred = &a.stat, a.inferred
		}
		r.Nodes = append(r.Nodes, NodeChange{Service: serviceOf(k), Inferred: inferred, Change: change(bs, as)})
	}
	urls := map[urlKey]bool{}
	for k := range before.urls {
		urls[k] = true
	}
	for k := range after.urls {
		urls[k] = true
	}
	for k := range urls {
		r.URLs = append(r.URLs, URLChange{Service: serviceOf(k.svc), Method: k.method, URL: k.url, Change: change(before.urls[k], after.urls[k])})
	}
	busy := func(c Change) int64 { return c.Before.Count + c.After.Count }
	slices.SortFunc(r.Nodes, func(a, b NodeChange) int {
		return cmp.Or(cmp.Compare(busy(b.Change), busy(a.Change)), cmp.Compare(a.Service.Name, b.Service.Name), cmp.Compare(a.Service.Type, b.Service.Type))
	})
	slices.SortFunc(r.URLs, func(a, b URLChange) int {
		return cmp.Or(cmp.Compare(busy(b.Change), busy(a.Change)), cmp.Compare(a.Service.Name, b.Service.Name), cmp.Compare(a.URL, b.URL), cmp.Compare(a.Method, b.Method))
	})
	r.Nodes, r.URLs = head(r.Nodes, top), head(r.URLs, top)
	return r
}
