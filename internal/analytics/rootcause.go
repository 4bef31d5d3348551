package analytics

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// Cause is one row of a root-cause ranking: a culprit (a service, an entity
// path in it, an exception type it raised, or a URL the trace entered by)
// and the traces it accounts for.
type Cause struct {
	Service   Service `json:"service"`
	Entity    string  `json:"entity,omitempty"`
	Exception string  `json:"exception,omitempty"`
	URL       string  `json:"url,omitempty"`
	// Traces counts the traces whose root causes name this culprit; Share
	// is their fraction of the traces with this kind of problem.
	Traces int64   `json:"traces"`
	Share  float64 `json:"share"`
	// ClientImpacting counts those traces whose root segment itself carried
	// the fault or error.
	ClientImpacting int64 `json:"clientImpacting,omitempty"`
	// Seconds (slow responses only) is the response time this culprit
	// covers, summed over the traces: X-Ray's coverage × response time.
	Seconds float64 `json:"seconds,omitempty"`
	// Filter is the X-Ray filter expression selecting these traces.
	Filter string `json:"filter,omitempty"`
}

// CauseRanking ranks the culprits of one kind of problem by impact.
type CauseRanking struct {
	// Traces counts the analysed traces with this kind of problem.
	Traces     int64   `json:"traces"`
	Services   []Cause `json:"services"`
	Entities   []Cause `json:"entities"`
	Exceptions []Cause `json:"exceptions"`
	URLs       []Cause `json:"urls"`
}

// RootCauseResult is the answer of /api/analytics/rootcauses.
type RootCauseResult struct {
	Traces Coverage     `json:"traces"`
	Faults CauseRanking `json:"faults"`
	Errors CauseRanking `json:"errors"`
	// Slow ranks the response-time root causes of the traces at or above
	// SlowThreshold seconds (the request's slow parameter, or else the p90
	// of the analysed traces' response times).
	Slow          CauseRanking `json:"slow"`
	SlowThreshold float64      `json:"slowThreshold"`
}

type causeKey struct {
	svc              model.ServiceID
	entity, exc, url string
}

type causeAgg struct {
	traces, client int64
	seconds        float64
}

type ranking struct {
	kind             string // fault, error, responsetime
	traces           int64
	svc, ent, exc, u map[causeKey]*causeAgg
}

func newRanking(kind string) *ranking {
	return &ranking{kind: kind, svc: map[causeKey]*causeAgg{}, ent: map[causeKey]*causeAgg{}, exc: map[causeKey]*causeAgg{}, u: map[causeKey]*causeAgg{}}
}

func bump(m map[causeKey]*causeAgg, k causeKey, seen map[causeKey]bool, client bool, secs float64) {
	a := m[k]
	if a == nil {
		a = &causeAgg{}
		m[k] = a
	}
	a.seconds += secs
	if seen[k] {
		return
	}
	seen[k] = true
	a.traces++
	if client {
		a.client++
	}
}

// add counts one trace's root causes of this kind; rt is its response time
// (used for slow responses only).
func (r *ranking) add(rcs []model.RootCause, url string, rt float64) {
	if len(rcs) == 0 {
		return
	}
	r.traces++
	seen := map[causeKey]bool{}
	client := false
	for _, rc := range rcs {
		if len(rc.Services) == 0 {
			continue
		}
		client = client || rc.ClientImpacting
		last := rc.Services[len(rc.Services)-1]
		var names []string
		var culprit model.RootCauseEntity
		for _, e := range last.EntityPath {
			names = append(names, e.Name)
			culprit = e
		}
		secs := 0.0
		if r.kind == "responsetime" {
			secs = culprit.Coverage * rt
		}
		bump(r.svc, causeKey{svc: last.ID}, seen, rc.ClientImpacting, secs)
		bump(r.ent, causeKey{svc: last.ID, entity: strings.Join(names, " > ")}, seen, rc.ClientImpacting, secs)
		for _, x := range culprit.Exceptions {
			if x.Type != "" {
				bump(r.exc, causeKey{svc: last.ID, exc: x.Type}, seen, rc.ClientImpacting, secs)
			}
		}
	}
	if url != "" {
		bump(r.u, causeKey{url: urlTemplate(url)}, seen, client, 0)
	}
}

func (r *ranking) result(top int) CauseRanking {
	out := CauseRanking{Traces: r.traces}
	render := func(m map[causeKey]*causeAgg) []Cause {
		list := []Cause{}
		for k, a := range m {
			c := Cause{Service: serviceOf(k.svc), Entity: k.entity, Exception: k.exc, URL: k.url, Traces: a.traces, ClientImpacting: a.client, Seconds: a.seconds}
			if r.traces > 0 {
				c.Share = float64(a.traces) / float64(r.traces)
			}
			c.Filter = r.filter(k)
			list = append(list, c)
		}
		slices.SortFunc(list, func(a, b Cause) int {
			return cmp.Or(cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(b.Traces, a.Traces), cmp.Compare(a.Service.Name, b.Service.Name),
				cmp.Compare(a.Entity, b.Entity), cmp.Compare(a.Exception, b.Exception), cmp.Compare(a.URL, b.URL))
		})
		return head(list, top)
	}
	out.Services, out.Entities, out.Exceptions, out.URLs = render(r.svc), render(r.ent), render(r.exc), render(r.u)
	return out
}

// filter writes the X-Ray filter expression that selects a culprit's traces.
func (r *ranking) filter(k causeKey) string {
	q := strconv.Quote
	svc := "rootcause." + r.kind + ".service { last and name = " + q(k.svc.Name)
	if k.svc.Type != "" {
		svc += " and type = " + q(k.svc.Type)
	}
	svc += " }"
	switch {
	case k.url != "":
		return ""
	case k.exc != "":
		return svc + " AND rootcause." + r.kind + ".exception { last and name = " + q(k.exc) + " }"
	case k.entity != "":
		name := k.entity
		if i := strings.LastIndex(name, " > "); i >= 0 {
			name = name[i+3:]
		}
		return svc + " AND rootcause." + r.kind + ".entity { last and name = " + q(name) + " }"
	}
	return svc
}

// RootCauses ranks the services, entities, exception types and URLs behind
// the faults, errors and slow responses of the analysed traces, from their
// summaries' root causes (no spans are read).
type RootCauses struct {
	faults, errors *ranking
	slow           []slowTrace
	rts            *dist
	threshold      float64 // 0: the p90
}

type slowTrace struct {
	rt  float64
	url string
	rcs []model.RootCause
}

// NewRootCauses returns an accumulator; slow is the response time (seconds)
// from which a trace counts as slow, 0 for the p90 of the analysed traces.
func NewRootCauses(slow float64) *RootCauses {
	return &RootCauses{faults: newRanking("fault"), errors: newRanking("error"), rts: newDist(), threshold: slow}
}

// Add takes one trace; it needs only the summary.
func (c *RootCauses) Add(t *Trace) {
	s := t.Summary
	c.faults.add(s.FaultRootCauses, s.HTTP.URL, 0)
	c.errors.add(s.ErrorRootCauses, s.HTTP.URL, 0)
	if s.ResponseTime > 0 && len(s.ResponseTimeRootCauses) > 0 {
		c.rts.add(s.ResponseTime)
		if c.threshold > 0 && s.ResponseTime < c.threshold {
			return
		}
		// Copy what the slow ranking needs: the summary is not ours to keep.
		rcs := make([]model.RootCause, len(s.ResponseTimeRootCauses))
		for i, rc := range s.ResponseTimeRootCauses {
			rcs[i] = model.RootCause{ClientImpacting: rc.ClientImpacting, Services: make([]model.RootCauseService, len(rc.Services))}
			for j, sv := range rc.Services {
				rcs[i].Services[j] = model.RootCauseService{ID: sv.ID, Inferred: sv.Inferred, EntityPath: slices.Clone(sv.EntityPath)}
			}
		}
		c.slow = append(c.slow, slowTrace{rt: s.ResponseTime, url: strings.Clone(s.HTTP.URL), rcs: rcs})
	}
}

// Result ranks the top culprits of each list (all when top <= 0).
func (c *RootCauses) Result(top int) RootCauseResult {
	th := c.threshold
	if th <= 0 {
		th = c.rts.quantile(0.9)
	}
	slow := newRanking("responsetime")
	for _, t := range c.slow {
		if t.rt >= th {
			slow.add(t.rcs, t.url, t.rt)
		}
	}
	return RootCauseResult{Faults: c.faults.result(top), Errors: c.errors.result(top), Slow: slow.result(top), SlowThreshold: th}
}
