package analytics

import (
	"cmp"
	"errors"
	"slices"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// AnnotationSeries is one service's values of a numeric annotation: their
// distribution over the whole range and per time bucket.
type AnnotationSeries struct {
	Service Service        `json:"service"`
	Overall Percentiles    `json:"overall"`
	Buckets []AnnotationAt `json:"buckets"`
}

// AnnotationAt is the distribution of the values in one time bucket
// (Count 0 when there were none).
type AnnotationAt struct {
	Start float64 `json:"start"`
	Percentiles
}

// AnnotationsResult is the answer of /api/analytics/annotations.
type AnnotationsResult struct {
	Traces   Coverage           `json:"traces"`
	Key      string             `json:"key"`
	Start    float64            `json:"start"`
	Step     float64            `json:"step"`
	Services []AnnotationSeries `json:"services"`
	// NonNumeric counts values of the key that are not numbers (skipped).
	NonNumeric int64 `json:"nonNumeric"`
}

type annAgg struct {
	all  *dist
	cols []*dist
}

// Annotations charts a numeric annotation per service over time. It reads
// the summaries' annotations, which keep each distinct value of a key once
// per trace with the services that set it; a value is placed at its trace's
// start. Values may be negative (a delta, a temperature): the distribution
// then covers them via the sketch's negative side.
type Annotations struct {
	key         string
	start, step float64
	cols        int
	svcs        map[model.ServiceID]*annAgg
	nonNumeric  int64
}

// NewAnnotations returns an accumulator for annotation key over [start, end)
// in buckets of step seconds.
func NewAnnotations(key string, start, end, step float64) (*Annotations, error) {
	if key == "" {
		return nil, &ParamError{Param: "key", Err: errors.New("key (the annotation to chart) is required")}
	}
	h, err := NewHeatmap(start, end, step, "")
	if err != nil {
		return nil, err
	}
	return &Annotations{key: key, start: start, step: step, cols: len(h.cols), svcs: map[model.ServiceID]*annAgg{}}, nil
}

// Add takes one trace; it needs only the summary.
func (a *Annotations) Add(t *Trace) {
	s := t.Summary
	col := -1
	if i := int((s.Start - a.start) / a.step); s.Start >= a.start && i < a.cols {
		col = i
	}
	for _, an := range s.Annotations {
		if an.Key != a.key {
			continue
		}
		if an.Value.Kind != model.Number {
			a.nonNumeric++
			continue
		}
		svcs := an.Services
		if len(svcs) == 0 {
			svcs = []model.ServiceID{{}}
		}
		for _, id := range svcs {
			id.AccountID = ""
			g := a.svcs[id]
			if g == nil {
				g = &annAgg{all: newSignedDist(), cols: make([]*dist, a.cols)}
				a.svcs[id] = g
			}
			g.all.add(an.Value.Num)
			if col >= 0 {
				if g.cols[col] == nil {
					g.cols[col] = newSignedDist()
				}
				g.cols[col].add(an.Value.Num)
			}
		}
	}
}

// Result renders each service's series, most values first.
func (a *Annotations) Result() AnnotationsResult {
	r := AnnotationsResult{Key: a.key, Start: a.start, Step: a.step, Services: []AnnotationSeries{}, NonNumeric: a.nonNumeric}
	for id, g := range a.svcs {
		s := AnnotationSeries{Service: serviceOf(id), Overall: g.all.percentiles(), Buckets: make([]AnnotationAt, a.cols)}
		for i, d := range g.cols {
			s.Buckets[i].Start = a.start + float64(i)*a.step
			if d != nil {
				s.Buckets[i].Percentiles = d.percentiles()
			}
		}
		r.Services = append(r.Services, s)
	}
	slices.SortFunc(r.Services, func(x, y AnnotationSeries) int {
		return cmp.Or(cmp.Compare(y.Overall.Count, x.Overall.Count), cmp.Compare(x.Service.Name, y.Service.Name), cmp.Compare(x.Service.Type, y.Service.Type))
	})
	return r
}
