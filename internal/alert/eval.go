package alert

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/query"
	"github.com/fluoro-dev/fluoro/internal/servicegraph"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/trace"
)

// cycle caches, for one evaluation cycle, the service graphs read: rules of
// the same group and window share one read of the buckets.
type cycle struct {
	now    time.Time
	graphs map[graphKey]*servicegraph.Bucket
}

type graphKey struct {
	group  string
	window Duration
}

// sample is what a window's requests add up to, whichever the source.
type sample struct {
	total, errors, faults, throttles int64
	responseTime                     float64 // sum, seconds
	hist                             *servicegraph.Histogram
	seconds                          float64 // the time the requests were counted over
}

func (s *sample) value(metric string) float64 {
	if s.total == 0 {
		return 0
	}
	n := float64(s.total)
	switch metric {
	case RequestRate:
		if s.seconds <= 0 {
			return 0
		}
		return n / s.seconds * 60
	case ErrorRate:
		return float64(s.errors) / n
	case FaultRate:
		return float64(s.faults) / n
	case ThrottleRate:
		return float64(s.throttles) / n
	case P50:
		return s.hist.Quantile(0.50)
	case P90:
		return s.hist.Quantile(0.90)
	case P99:
		return s.hist.Quantile(0.99)
	case Avg:
		return s.responseTime / n
	}
	return math.NaN()
}

// evaluate computes r's metric over the window ending at c.now, and judges
// it. It changes nothing.
func (m *Manager) evaluate(ctx context.Context, c *cycle, r *Rule) (Result, error) {
	from := c.now.Add(-time.Duration(r.Window))
	res := Result{From: from, To: c.now}
	var s sample
	var err error
	if r.Service != nil {
		s, err = m.serviceSample(ctx, c, r, &res)
	} else {
		s, err = m.filterSample(ctx, c, r, &res)
	}
	if err != nil {
		return res, err
	}
	res.Requests = s.total
	res.Value = s.value(r.Metric)
	judge(r, &res)
	return res, nil
}

// group resolves a rule's group name (empty: Default); an unknown group is
// a *ValidationError.
func (m *Manager) group(name string) (servicegraph.Group, error) {
	if name == "" {
		name = servicegraph.DefaultGroupName
	}
	if m.cfg.Graph == nil {
		if name == servicegraph.DefaultGroupName {
			return servicegraph.Group{Name: name, ID: servicegraph.DefaultGroupID}, nil
		}
		return servicegraph.Group{}, invalidf("no group %q: this server has no groups", name)
	}
	g, err := m.cfg.Graph.Resolve(name, "")
	if err != nil {
		return g, invalidf("group %q: %v", name, err)
	}
	return g, nil
}

// serviceSample reads the service's statistics from the service-graph
// buckets overlapping the window (whole minutes: the window's start is
// rounded down to a minute), as GetServiceGraph does.
func (m *Manager) serviceSample(ctx context.Context, c *cycle, r *Rule, res *Result) (sample, error) {
	var s sample
	if m.cfg.Graph == nil {
		return s, invalidf("this server keeps no service graph: use a filter rule")
	}
	g, err := m.group(r.Group)
	if err != nil {
		return s, err
	}
	from := c.now.Add(-time.Duration(r.Window))
	lo := from.Truncate(servicegraph.BucketSeconds * time.Second)
	res.From = lo
	k := graphKey{g.ID, r.Window}
	b := c.graphs[k]
	if b == nil {
		nowSec := float64(c.now.UnixNano()) / 1e9
		if b, err = m.cfg.Graph.Graph(ctx, g.ID, float64(from.Unix()), nowSec); err != nil {
			return s, err
		}
		c.graphs[k] = b
	}
	var st servicegraph.Stats
	for key, n := range b.Nodes {
		if n.Kind == servicegraph.KindClient || key.Name != r.Service.Name ||
			(r.Service.Type != "" && key.Type != r.Service.Type) {
			continue
		}
		st.Merge(&n.Stats)
	}
	s = sample{total: st.Total, errors: st.ErrorTotal(), faults: st.FaultTotal(), throttles: st.Throttle,
		responseTime: st.ResponseTime, hist: &st.ResponseTimes, seconds: c.now.Sub(lo).Seconds()}
	return s, nil
}

// filterExpr builds a filter rule's expression: its filter with group
// references resolved, ANDed with its group's filter.
func (m *Manager) filterExpr(r *Rule) (filterexpr.Expr, error) {
	var lookup query.GroupLookup = func(name, arn string) (filterexpr.Expr, error) {
		if m.cfg.Graph == nil {
			return nil, fmt.Errorf("this server has no groups")
		}
		g, err := m.cfg.Graph.Resolve(name, arn)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(g.FilterExpression) == "" {
			return nil, nil
		}
		return filterexpr.Parse(g.FilterExpression)
	}
	src := r.Filter
	if r.Group != "" {
		g, err := m.group(r.Group)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(g.FilterExpression) != "" {
			src = "(" + g.FilterExpression + ") AND (" + r.Filter + ")"
		}
	}
	return parseFilter(src, lookup)
}

// filterSample reads the summaries of the traces that started in the
// window, newest first, and counts those the filter matches. It stops after
// MaxScan summaries (a tenth of that when the filter must read each trace's
// spans); then the rates are those of the newest traces, and the request
// rate is taken over the time they span.
func (m *Manager) filterSample(ctx context.Context, c *cycle, r *Rule, res *Result) (sample, error) {
	s := sample{hist: &servicegraph.Histogram{}}
	expr, err := m.filterExpr(r)
	if err != nil {
		return s, err
	}
	from := c.now.Add(-time.Duration(r.Window))
	needsSpans := query.NeedsSpans(expr)
	limit := m.cfg.MaxScan
	if needsSpans {
		limit = max(1, limit/10)
	}
	q := store.SummaryQuery{From: epoch(from), To: epoch(c.now) + 1, Hint: query.Hint(expr)}
	oldest := c.now
	var loadErr error
	count := func(sum *model.Summary) {
		s.total++
		if sum.HasFault {
			s.faults++
		}
		if sum.HasError {
			s.errors++
		}
		if sum.HasThrottle {
			s.throttles++
		}
		s.responseTime += sum.ResponseTime
		s.hist.Add(sum.ResponseTime)
	}
	// examine decides on one summary; false stops the scan.
	examine := func(sum *model.Summary) (match, more bool) {
		if res.Scanned == limit {
			res.Truncated = true
			return false, false
		}
		res.Scanned++
		if t := sum.TraceID.Epoch(); t > 0 {
			oldest = time.Unix(int64(t), 0)
		}
		t := query.Trace{Summary: sum}
		if needsSpans {
			if t.Spans, loadErr = trace.Load(ctx, m.cfg.Store, sum.TraceID); loadErr != nil {
				return false, false
			}
		}
		return query.Match(expr, &t), true
	}
	if query.HeadOnly(expr) {
		q.Prefilter = func(sum *model.Summary) bool {
			match, more := examine(sum)
			if match {
				count(sum)
			}
			return !more // a summary passed on to fn stops the scan
		}
		err = m.cfg.Store.Summaries(ctx, q, func(*model.Summary) bool { return false })
	} else {
		err = m.cfg.Store.Summaries(ctx, q, func(sum *model.Summary) bool {
			match, more := examine(sum)
			if match {
				count(sum)
			}
			return more
		})
	}
	if err == nil {
		err = loadErr
	}
	if err != nil {
		return s, fmt.Errorf("read trace summaries: %w", err)
	}
	s.seconds = c.now.Sub(from).Seconds()
	if res.Truncated {
		s.seconds = math.Max(1, c.now.Sub(oldest).Seconds())
	}
	return s, nil
}

func epoch(t time.Time) uint32 {
	u := t.Unix()
	if u <= 0 {
		return 0
	}
	if u >= math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(u)
}
