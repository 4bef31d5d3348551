package analytics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/query"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/trace"
)

// Bounds of one analysis.
const (
	// DefaultLimit is how many traces an analysis reads when the request
	// does not say.
	DefaultLimit = 10_000
	// MaxLimit is the most traces one analysis reads.
	MaxLimit = 100_000
	// MaxMatched is the most matching traces Select enumerates before
	// sampling; past it the scan stops (newest traces first) and Coverage
	// says Truncated.
	MaxMatched = 1_000_000
)

// Request selects the traces of an analysis: those whose trace id carries a
// start second in [Start, End) (epoch seconds) and that match Filter, an
// X-Ray filter expression (empty: every trace).
type Request struct {
	Filter     string
	Start, End float64
	// Limit bounds the traces analysed (DefaultLimit when zero, at most
	// MaxLimit).
	Limit int
	// Only, when set, narrows the selection further by summary: an
	// analysis that can tell from a summary that a trace holds nothing for
	// it (no serverless function, say) skips reading its spans. Traces it
	// rejects are not counted as matched.
	Only func(*model.Summary) bool
}

// Coverage says which traces an analysis looked at.
type Coverage struct {
	// Matched counts the traces in the range that match the filter.
	Matched int `json:"matched"`
	// Analyzed counts the traces the analysis read: Matched, or Limit
	// evenly spaced ones among them when more matched.
	Analyzed int `json:"analyzed"`
	// Sampled is true when Analyzed < Matched.
	Sampled bool `json:"sampled"`
	// Truncated is true when more than MaxMatched traces matched: only the
	// newest MaxMatched were considered.
	Truncated bool `json:"truncated,omitempty"`
}

// Trace is one trace given to an analysis: its summary and, for analyses
// that need them, its deduplicated spans. Neither may be retained after
// Add returns.
type Trace struct {
	Summary *model.Summary
	Spans   []*model.Span
}

// ParamError is a bad request parameter. For a filter expression that does
// not parse, Err is a *filterexpr.Error carrying line and column.
type ParamError struct {
	Param string
	Err   error
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Err.Error() }
func (e *ParamError) Unwrap() error { return e.Err }

// compiled is a parsed request.
type compiled struct {
	filter     filterexpr.Expr
	needsSpans bool
	headOnly   bool
	from, to   uint32
	limit      int
}

func compile(req Request) (compiled, error) {
	var c compiled
	if math.IsNaN(req.Start) || math.IsNaN(req.End) || req.Start < 0 || req.End <= req.Start {
		return c, &ParamError{Param: "end", Err: errors.New("end must be after start")}
	}
	switch {
	case req.Limit == 0:
		c.limit = DefaultLimit
	case req.Limit < 0 || req.Limit > MaxLimit:
		return c, &ParamError{Param: "limit", Err: fmt.Errorf("limit must be between 1 and %d", MaxLimit)}
	default:
		c.limit = req.Limit
	}
	if strings.TrimSpace(req.Filter) != "" {
		expr, err := filterexpr.Parse(req.Filter)
		if err != nil {
			return c, &ParamError{Param: "filter", Err: err}
		}
		if err := query.Check(expr); err != nil {
			return c, &ParamError{Param: "filter", Err: err}
		}
		c.filter, c.needsSpans, c.headOnly = expr, query.NeedsSpans(expr), query.HeadOnly(expr)
	}
	c.from = uint32(math.Floor(req.Start))
	c.to = uint32(min(math.Ceil(req.End), math.MaxUint32))
	return c, nil
}

// Select calls fn for the traces req selects, at most req.Limit of them,
// evenly spaced among the matching ones, newest first. It first scans the
// range reading only what the filter needs, listing the matching trace ids;
// then, without spans, it scans again decoding only the chosen summaries
// whole, and with withSpans it reads each chosen trace's summary and spans
// on GOMAXPROCS goroutines (see loadEach). fn is called from one goroutine
// at a time.
func Select(ctx context.Context, st store.Store, req Request, withSpans bool, fn func(*Trace) error) (Coverage, error) {
	var cov Coverage
	c, err := compile(req)
	if err != nil {
		return cov, err
	}
	q := store.SummaryQuery{From: c.from, To: c.to}
	if c.filter != nil {
		q.Hint = query.Hint(c.filter)
	}
	var ids []model.TraceID
	var scanErr error
	match := func(sum *model.Summary) bool {
		if req.Only != nil && !req.Only(sum) {
			return false
		}
		if c.filter == nil {
			return true
		}
		t := query.Trace{Summary: sum}
		if c.needsSpans {
			if t.Spans, scanErr = trace.Load(ctx, st, sum.TraceID); scanErr != nil {
				return false
			}
		}
		return query.Match(c.filter, &t)
	}
	collect := func(sum *model.Summary) bool {
		if len(ids) == MaxMatched {
			cov.Truncated = true
			return false
		}
		if match(sum) {
			ids = append(ids, sum.TraceID)
		}
		return scanErr == nil
	}
	if req.Only == nil && (c.filter == nil || c.headOnly) {
		stop := false
		q.Prefilter = func(sum *model.Summary) bool {
			stop = !collect(sum)
			return stop // ids only: nothing is decoded whole, fn just stops the scan
		}
		err = st.Summaries(ctx, q, func(*model.Summary) bool { return false })
	} else {
		err = st.Summaries(ctx, q, collect)
	}
	if err == nil {
		err = scanErr
	}
	if err != nil {
		return cov, fmt.Errorf("select traces: %w", err)
	}
	cov.Matched = len(ids)
	if len(ids) > c.limit {
		cov.Sampled = true
		picked := make([]model.TraceID, c.limit)
		for i := range picked {
			picked[i] = ids[i*len(ids)/c.limit]
		}
		ids = picked
	}
	if len(ids) == 0 {
		return cov, nil
	}
	if withSpans {
		err = loadEach(ctx, st, ids, func(t *Trace) error {
			cov.Analyzed++
			return fn(t)
		})
		if err != nil {
			return cov, fmt.Errorf("read traces: %w", err)
		}
		return cov, nil
	}
	chosen := make(map[model.TraceID]struct{}, len(ids))
	for _, id := range ids {
		chosen[id] = struct{}{}
	}
	q2 := store.SummaryQuery{From: c.from, To: c.to, Prefilter: func(sum *model.Summary) bool {
		_, ok := chosen[sum.TraceID]
		return ok
	}}
	var fnErr error
	err = st.Summaries(ctx, q2, func(sum *model.Summary) bool {
		cov.Analyzed++
		fnErr = fn(&Trace{Summary: sum})
		return fnErr == nil && cov.Analyzed < len(chosen)
	})
	if err == nil {
		err = fnErr
	}
	if err != nil {
		return cov, fmt.Errorf("read traces: %w", err)
	}
	return cov, nil
}

type loaded struct {
	sum   model.Summary
	ok    bool
	spans []*model.Span
	err   error
}

// loadEach reads the summary and spans of each trace in ids on up to
// GOMAXPROCS goroutines (decoding the documents is most of an analysis's
// cost) and calls fn with them one at a time, in the order of ids. Traces
// deleted since they were listed are skipped.
func loadEach(ctx context.Context, st store.Store, ids []model.TraceID, fn func(*Trace) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	window := make(chan chan loaded, 2*runtime.GOMAXPROCS(0))
	go func() {
		defer close(window)
		for _, id := range ids {
			ch := make(chan loaded, 1)
			select {
			case window <- ch:
			case <-ctx.Done():
				return
			}
			go func() {
				var l loaded
				if l.sum, l.ok, l.err = st.Summary(ctx, id); l.err == nil && l.ok {
					l.spans, l.err = trace.Load(ctx, st, id)
				}
				ch <- l
			}()
		}
	}()
	for ch := range window {
		l := <-ch
		if l.err != nil {
			return l.err
		}
		if !l.ok {
			continue
		}
		if err := fn(&Trace{Summary: &l.sum, Spans: l.spans}); err != nil {
			return err
		}
	}
	return ctx.Err()
}
