package analytics

import (
	"cmp"
	"slices"
	"strings"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// LambdaFunction is the origin of the segment AWS Lambda records for a
// function's execution.
const LambdaFunction = "AWS::Lambda::Function"

// ColdStartFunction compares one function's cold and warm invocations.
type ColdStartFunction struct {
	Service Service `json:"service"`
	// Cold and Warm are the durations of the function's segments.
	Cold Stats `json:"cold"`
	Warm Stats `json:"warm"`
	// ColdShare is the fraction of invocations that started cold.
	ColdShare float64 `json:"coldShare"`
	// Init is the duration of the Initialization subsegments; InitBreakdown
	// the durations of the subsegments inside them, by name, longest total
	// first.
	Init          Percentiles   `json:"init"`
	InitBreakdown []NamedTiming `json:"initBreakdown"`
}

// NamedTiming is the distribution of the subsegments with one name.
type NamedTiming struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"` // total
	Percentiles
}

// ColdStartsResult is the answer of /api/analytics/coldstarts.
type ColdStartsResult struct {
	Traces    Coverage            `json:"traces"`
	Functions []ColdStartFunction `json:"functions"`
}

type fnAgg struct {
	cold, warm *stat
	init       *dist
	parts      map[string]*dist
}

// ColdStarts compares cold and warm invocations of serverless functions: a
// segment with origin AWS::Lambda::Function (cold when it holds an
// Initialization subsegment), or any segment annotated faas.coldstart (as
// OpenTelemetry's X-Ray exporter writes it, faas_coldstart) with a boolean.
type ColdStarts struct {
	fns map[model.ServiceID]*fnAgg
}

// NewColdStarts returns an empty accumulator.
func NewColdStarts() *ColdStarts { return &ColdStarts{fns: map[model.ServiceID]*fnAgg{}} }

// coldAnnotation reads faas.coldstart; ok is false when the segment has none.
func coldAnnotation(e *model.Entity) (cold, ok bool) {
	for _, a := range e.Annotations {
		if a.Key != "faas.coldstart" && a.Key != "faas_coldstart" {
			continue
		}
		switch a.Value.Kind {
		case model.Bool:
			return a.Value.Bool, true
		case model.String:
			return strings.EqualFold(a.Value.Str, "true"), true
		}
	}
	return false, false
}

// MayHold reports whether a trace's summary shows a function ColdStarts
// looks at: a service of type AWS::Lambda::Function, or a faas.coldstart
// annotation. Traces it rejects need not be read (Request.Only).
func MayHold(sum *model.Summary) bool {
	for _, s := range sum.Services {
		if s.Type == LambdaFunction {
			return true
		}
	}
	for _, a := range sum.Annotations {
		if a.Key == "faas.coldstart" || a.Key == "faas_coldstart" {
			return true
		}
	}
	return false
}

// Add takes one trace; it needs the spans.
func (c *ColdStarts) Add(t *Trace) {
	for _, s := range t.Spans {
		if s.Independent {
			continue
		}
		seg := &s.Root
		cold, annotated := coldAnnotation(seg)
		var initSeg *model.Entity
		for i := range seg.Subsegments {
			if seg.Subsegments[i].Name == "Initialization" {
				initSeg = &seg.Subsegments[i]
				break
			}
		}
		if seg.Origin != LambdaFunction && !annotated {
			continue
		}
		if !annotated {
			cold = initSeg != nil
		}
		id := model.ServiceID{Name: seg.Name, Type: seg.Origin}
		f := c.fns[id]
		if f == nil {
			f = &fnAgg{cold: newStat(), warm: newStat(), init: newDist(), parts: map[string]*dist{}}
			c.fns[id] = f
		}
		if cold {
			f.cold.add(seg)
		} else {
			f.warm.add(seg)
		}
		if initSeg == nil || !cold {
			continue
		}
		if d := duration(initSeg); d >= 0 {
			f.init.add(d)
		}
		for i := range initSeg.Subsegments {
			sub := &initSeg.Subsegments[i]
			d := f.parts[sub.Name]
			if d == nil {
				d = newDist()
				f.parts[sub.Name] = d
			}
			d.add(duration(sub))
		}
	}
}

// Result renders every function, busiest first.
func (c *ColdStarts) Result() ColdStartsResult {
	r := ColdStartsResult{Functions: []ColdStartFunction{}}
	for id, f := range c.fns {
		cf := ColdStartFunction{Service: serviceOf(id), Cold: f.cold.stats(), Warm: f.warm.stats(), Init: f.init.percentiles(), InitBreakdown: []NamedTiming{}}
		if n := cf.Cold.Count + cf.Warm.Count; n > 0 {
			cf.ColdShare = float64(cf.Cold.Count) / float64(n)
		}
		for name, d := range f.parts {
			cf.InitBreakdown = append(cf.InitBreakdown, NamedTiming{Name: name, Seconds: d.sum, Percentiles: d.percentiles()})
		}
		slices.SortFunc(cf.InitBreakdown, func(a, b NamedTiming) int {
			return cmp.Or(cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(a.Name, b.Name))
		})
		r.Functions = append(r.Functions, cf)
	}
	slices.SortFunc(r.Functions, func(a, b ColdStartFunction) int {
		return cmp.Or(cmp.Compare(b.Cold.Count+b.Warm.Count, a.Cold.Count+a.Warm.Count), cmp.Compare(a.Service.Name, b.Service.Name))
	})
	return r
}
