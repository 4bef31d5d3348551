package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// Prefix is where the analytics endpoints live on the server's HTTP port.
const Prefix = "/api/analytics/"

// Handler serves the analytics as JSON: GET Prefix + latency, heatmap,
// compare, rootcauses, exceptions, sql, coldstarts and annotations
// (docs/analytics.md). Errors are {"error": message} with the offending
// "param", and for a filter expression its "line" and "column".
type Handler struct {
	st  store.Store
	now func() time.Time
	log *slog.Logger
}

// NewHandler serves analytics over st; now is the clock (time.Now when nil).
func NewHandler(st store.Store, now func() time.Time, log *slog.Logger) *Handler {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Handler{st: st, now: now, log: log}
}

// ErrorBody is the JSON of an analytics error.
type ErrorBody struct {
	Error  string `json:"error"`
	Param  string `json:"param,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: r.URL.Path + " accepts only GET"})
		return
	}
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	run := map[string]func(context.Context, *params) (any, error){
		"latency": h.latency, "heatmap": h.heatmap, "compare": h.compare, "rootcauses": h.rootCauses,
		"exceptions": h.exceptions, "sql": h.sql, "coldstarts": h.coldStarts, "annotations": h.annotations,
	}[name]
	if run == nil {
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: fmt.Sprintf("no analytics at %s; try latency, heatmap, compare, rootcauses, exceptions, sql, coldstarts or annotations", r.URL.Path)})
		return
	}
	p, err := h.parse(r.URL.Query())
	var out any
	if err == nil {
		out, err = run(r.Context(), p)
	}
	if err != nil {
		var pe *ParamError
		if !errors.As(err, &pe) {
			h.log.Error("analytics failed", "path", r.URL.Path, "err", err)
			writeJSON(w, http.StatusInternalServerError, ErrorBody{Error: err.Error()})
			return
		}
		body := ErrorBody{Error: pe.Error(), Param: pe.Param}
		var fe *filterexpr.Error
		if errors.As(pe.Err, &fe) {
			body.Line, body.Column = fe.Line, fe.Col
		}
		writeJSON(w, http.StatusBadRequest, body)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}

// params are the query parameters every endpoint shares.
type params struct {
	q    url.Values
	req  Request
	top  int
	step float64
}

// parse reads start, end (epoch seconds or RFC 3339; end defaults to now),
// since (a duration before end, instead of start; default 1h), filter,
// limit, top and step (a duration or seconds; default a 60th of the range,
// at least 1s).
func (h *Handler) parse(q url.Values) (*params, error) {
	p := &params{q: q, top: DefaultTop}
	end := float64(h.now().UnixNano()) / 1e9
	if v := q.Get("end"); v != "" {
		t, err := parseTime(v)
		if err != nil {
			return nil, &ParamError{Param: "end", Err: err}
		}
		end = t
	}
	start := end - 3600
	if v := q.Get("since"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, &ParamError{Param: "since", Err: fmt.Errorf("%q is not a positive duration such as 15m or 2h", v)}
		}
		start = end - d.Seconds()
	}
	if v := q.Get("start"); v != "" {
		t, err := parseTime(v)
		if err != nil {
			return nil, &ParamError{Param: "start", Err: err}
		}
		start = t
	}
	if !(end > start) {
		return nil, &ParamError{Param: "end", Err: errors.New("end must be after start")}
	}
	p.req = Request{Filter: q.Get("filter"), Start: start, End: end}
	var err error
	if p.req.Limit, err = intParam(q, "limit", 0); err != nil {
		return nil, err
	}
	if p.top, err = intParam(q, "top", DefaultTop); err != nil {
		return nil, err
	}
	p.step = math.Max(1, math.Ceil((end-start)/60))
	if v := q.Get("step"); v != "" {
		if p.step, err = seconds(v); err != nil || p.step <= 0 {
			return nil, &ParamError{Param: "step", Err: fmt.Errorf("%q is not a positive duration such as 30s or 5m", v)}
		}
	}
	return p, nil
}

func parseTime(v string) (float64, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && !math.IsInf(f, 0) {
		return f, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, fmt.Errorf("%q is neither epoch seconds nor an RFC 3339 time", v)
	}
	return float64(t.UnixNano()) / 1e9, nil
}

// seconds reads a duration ("250ms", "1m") or a number of seconds.
func seconds(v string) (float64, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return f, nil
	}
	d, err := time.ParseDuration(v)
	return d.Seconds(), err
}

func intParam(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, &ParamError{Param: name, Err: fmt.Errorf("%q is not a non-negative integer", v)}
	}
	return n, nil
}

func (h *Handler) latency(ctx context.Context, p *params) (any, error) {
	l := NewLatency()
	cov, err := Select(ctx, h.st, p.req, true, func(t *Trace) error { l.Add(t); return nil })
	if err != nil {
		return nil, err
	}
	r := l.Result(p.top)
	r.Traces = cov
	return r, nil
}

func (h *Handler) heatmap(ctx context.Context, p *params) (any, error) {
	hm, err := NewHeatmap(p.req.Start, p.req.End, p.step, p.q.Get("node"))
	if err != nil {
		return nil, err
	}
	cov, err := Select(ctx, h.st, p.req, hm.NeedsSpans(), func(t *Trace) error { hm.Add(t); return nil })
	if err != nil {
		return nil, err
	}
	r := hm.Result()
	r.Traces = cov
	return r, nil
}

// compare reads before_start and before_end (default: the window of the
// same length just before start).
func (h *Handler) compare(ctx context.Context, p *params) (any, error) {
	before := p.req
	before.End = p.req.Start
	before.Start = p.req.Start - (p.req.End - p.req.Start)
	for _, x := range []struct {
		name string
		to   *float64
	}{{"before_start", &before.Start}, {"before_end", &before.End}} {
		if v := p.q.Get(x.name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				return nil, &ParamError{Param: x.name, Err: err}
			}
			*x.to = t
		}
	}
	if !(before.End > before.Start) {
		return nil, &ParamError{Param: "before_end", Err: errors.New("before_end must be after before_start")}
	}
	lb, la := NewLatency(), NewLatency()
	cb, err := Select(ctx, h.st, before, true, func(t *Trace) error { lb.Add(t); return nil })
	if err != nil {
		return nil, err
	}
	ca, err := Select(ctx, h.st, p.req, true, func(t *Trace) error { la.Add(t); return nil })
	if err != nil {
		return nil, err
	}
	r := Compare(lb, la, p.top)
	r.Before = Window{Start: before.Start, End: before.End, Traces: cb}
	r.After = Window{Start: p.req.Start, End: p.req.End, Traces: ca}
	return r, nil
}

// rootCauses reads slow: the response time (duration or seconds) from which
// a trace is slow; default the p90.
func (h *Handler) rootCauses(ctx context.Context, p *params) (any, error) {
	slow := 0.0
	if v := p.q.Get("slow"); v != "" {
		var err error
		if slow, err = seconds(v); err != nil || slow < 0 {
			return nil, &ParamError{Param: "slow", Err: fmt.Errorf("%q is not a duration such as 500ms", v)}
		}
	}
	rc := NewRootCauses(slow)
	cov, err := Select(ctx, h.st, p.req, false, func(t *Trace) error { rc.Add(t); return nil })
	if err != nil {
		return nil, err
	}
	r := rc.Result(p.top)
	r.Traces = cov
	return r, nil
}

func (h *Handler) exceptions(ctx context.Context, p *params) (any, error) {
	x, err := NewExceptions(p.req.Start, p.req.End, p.step)
	if err != nil {
		return nil, err
	}
	cov, err := Select(ctx, h.st, p.req, true, func(t *Trace) error { x.Add(t); return nil })
	if err != nil {
		return nil, err
	}
	r := x.Result(p.top)
	r.Traces = cov
	return r, nil
}

// sql reads nplusone and repeats, the thresholds of N+1 patterns and
// caching candidates.
func (h *Handler) sql(ctx context.Context, p *params) (any, error) {
	n1, err := intParam(p.q, "nplusone", DefaultNPlusOne)
	if err != nil {
		return nil, err
	}
	rep, err := intParam(p.q, "repeats", DefaultRepeats)
	if err != nil {
		return nil, err
	}
	d := NewDatabase(n1, rep)
	cov, err := Select(ctx, h.st, p.req, true, func(t *Trace) error { d.Add(t); return nil })
	if err != nil {
		return nil, err
	}
	r := d.Result(p.top)
	r.Traces = cov
	return r, nil
}

func (h *Handler) coldStarts(ctx context.Context, p *params) (any, error) {
	c := NewColdStarts()
	req := p.req
	req.Only = MayHold
	cov, err := Select(ctx, h.st, req, true, func(t *Trace) error { c.Add(t); return nil })
	if err != nil {
		return nil, err
	}
	r := c.Result()
	r.Traces = cov
	return r, nil
}

// annotations reads key, the annotation to chart.
func (h *Handler) annotations(ctx context.Context, p *params) (any, error) {
	a, err := NewAnnotations(p.q.Get("key"), p.req.Start, p.req.End, p.step)
	if err != nil {
		return nil, err
	}
	cov, err := Select(ctx, h.st, p.req, false, func(t *Trace) error { a.Add(t); return nil })
	if err != nil {
		return nil, err
	}
	r := a.Result()
	r.Traces = cov
	return r, nil
}
