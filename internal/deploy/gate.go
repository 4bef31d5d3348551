package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/fluoro-dev/fluoro/internal/servicegraph"
)

// The gate compares a service before and after its deployment marker.
//
// Windows: the service graph counts traffic per minute of trace start, so
// both windows are whole minutes. With the marker at T and a window of W
// (rounded up to whole minutes), "before" is [floor(T) − W, floor(T)) and
// "after" is [ceil(T), ceil(T) + W), floor and ceil to the minute: the
// minute holding T mixes both versions and is left out (unless T falls on a
// minute boundary).
//
// Traffic: the requests the service's own segments recorded (its node in
// the Default group's service map, every node of that name that sent
// segments), as GetServiceGraph counts them: faults are 5xx, errors 4xx
// (throttles included, as X-Ray's ErrorStatistics counts them); response
// times are the segments' durations, percentiles from the buckets'
// DDSketches (1% relative accuracy).

// Verdicts.
const (
	Pass             = "pass"
	Fail             = "fail"
	InsufficientData = "insufficient-data"
)

// Check statuses.
const (
	CheckPass         = "pass"
	CheckFail         = "fail"
	CheckInsufficient = "insufficient"
	CheckSkipped      = "skipped"
)

// Thresholds are a gate's limits. JSON and query parameter names match.
type Thresholds struct {
	// Window is the length of each side, rounded up to whole minutes
	// (1m to 24h).
	Window time.Duration `json:"-"`
	// MinRequests is the fewest requests each window needs for a verdict.
	MinRequests int64 `json:"min_requests"`
	// MaxFaultRateIncrease and MaxErrorRateIncrease are how much the rate
	// (0 to 1) may rise, in absolute terms: 0.01 lets 0.2% become 1.2%.
	MaxFaultRateIncrease float64 `json:"max_fault_rate_increase"`
	MaxErrorRateIncrease float64 `json:"max_error_rate_increase"`
	// MaxP50Increase and MaxP99Increase are how much the percentile may
	// rise, relative to before: 0.5 lets 200ms become 300ms.
	MaxP50Increase float64 `json:"max_p50_increase"`
	MaxP99Increase float64 `json:"max_p99_increase"`
	// LatencySlack is a rise of a percentile always tolerated, whatever its
	// ratio, so that a 2ms p50 becoming 4ms does not fail a gate.
	LatencySlack time.Duration `json:"-"`
}

// thresholdsJSON is Thresholds with the durations in seconds.
type thresholdsJSON struct {
	plainThresholds
	Window       float64 `json:"window"`
	LatencySlack float64 `json:"latency_slack"`
}

type plainThresholds Thresholds

// MarshalJSON writes the durations as seconds, under the names of the
// query parameters.
func (t Thresholds) MarshalJSON() ([]byte, error) {
	return json.Marshal(thresholdsJSON{plainThresholds(t), t.Window.Seconds(), t.LatencySlack.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Thresholds) UnmarshalJSON(b []byte) error {
	var j thresholdsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = Thresholds(j.plainThresholds)
	t.Window = time.Duration(j.Window * float64(time.Second))
	t.LatencySlack = time.Duration(j.LatencySlack * float64(time.Second))
	return nil
}

// DefaultThresholds are the limits of a gate given none
// (docs/deployments.md).
func DefaultThresholds() Thresholds {
	return Thresholds{
		Window:               15 * time.Minute,
		MinRequests:          20,
		MaxFaultRateIncrease: 0.01,
		MaxErrorRateIncrease: 0.05,
		MaxP50Increase:       0.5,
		MaxP99Increase:       0.5,
		LatencySlack:         10 * time.Millisecond,
	}
}

// MaxWindow bounds a gate's window.
const MaxWindow = 24 * time.Hour

// Validate reports the first threshold out of range.
func (t Thresholds) Validate() error {
	ok := func(v, lo, hi float64) bool { return !math.IsNaN(v) && v >= lo && v <= hi }
	switch {
	case t.Window < time.Minute || t.Window > MaxWindow:
		return invalid("window %v is not between 1m and 24h", t.Window)
	case t.MinRequests < 0 || t.MinRequests > 1e9:
		return invalid("min_requests %d is not between 0 and 1000000000", t.MinRequests)
	case !ok(t.MaxFaultRateIncrease, 0, 1):
		return invalid("max_fault_rate_increase %v is not between 0 and 1 (a rate: 0.01 is one percentage point)", t.MaxFaultRateIncrease)
	case !ok(t.MaxErrorRateIncrease, 0, 1):
		return invalid("max_error_rate_increase %v is not between 0 and 1 (a rate: 0.01 is one percentage point)", t.MaxErrorRateIncrease)
	case !ok(t.MaxP50Increase, 0, 1000):
		return invalid("max_p50_increase %v is not between 0 and 1000 (relative: 0.5 allows 50%% slower)", t.MaxP50Increase)
	case !ok(t.MaxP99Increase, 0, 1000):
		return invalid("max_p99_increase %v is not between 0 and 1000 (relative: 0.5 allows 50%% slower)", t.MaxP99Increase)
	case t.LatencySlack < 0 || t.LatencySlack > time.Hour:
		return invalid("latency_slack %v is not between 0 and 1h", t.LatencySlack)
	}
	return nil
}

// WindowStats is the service's traffic in one window.
type WindowStats struct {
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Requests  int64     `json:"requests"`
	Faults    int64     `json:"faults"`
	Errors    int64     `json:"errors"` // 4xx, throttles included
	Throttles int64     `json:"throttles"`
	FaultRate float64   `json:"fault_rate"`
	ErrorRate float64   `json:"error_rate"`
	// P50 and P99 are response times in seconds (0 without requests).
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// Check is one comparison of a gate. Before, After and Limit are in the
// check's unit: requests, a rate (0 to 1) or seconds.
type Check struct {
	Name    string  `json:"name"` // requests, fault_rate, error_rate, p50, p99
	Status  string  `json:"status"`
	Before  float64 `json:"before"`
	After   float64 `json:"after"`
	Limit   float64 `json:"limit"`
	Message string  `json:"message"`
}

// Result is a gate's answer.
type Result struct {
	Deployment Deployment `json:"deployment"`
	Verdict    string     `json:"verdict"`
	// Summary says the verdict in one line, naming the failed checks.
	Summary string `json:"summary"`
	// Failed names the checks that failed (or, for insufficient-data,
	// "requests").
	Failed []string `json:"failed"`
	// Complete is false until the after window has ended and its traces
	// have settled (ReadyAt); until then the verdict covers what has
	// arrived so far.
	Complete bool      `json:"complete"`
	ReadyAt  time.Time `json:"ready_at"`
	// ReadyIn is the seconds until ReadyAt by the server's clock (0 once
	// complete): how long a client waits.
	ReadyIn    float64     `json:"ready_in"`
	Thresholds Thresholds  `json:"thresholds"`
	Before     WindowStats `json:"before"`
	After      WindowStats `json:"after"`
	Checks     []Check     `json:"checks"`
}

// Windows returns the gate's before and after windows of a marker at t:
// whole minutes, the minute holding t left out.
func Windows(t time.Time, window time.Duration) (before, after [2]time.Time) {
	const m = time.Minute
	w := (window + m - 1) / m * m
	lo := t.Truncate(m)
	hi := lo
	if !hi.Equal(t) {
		hi = lo.Add(m)
	}
	return [2]time.Time{lo.Add(-w), lo}, [2]time.Time{hi, hi.Add(w)}
}

// serviceStats merges the statistics of every node named service that sent
// segments.
func serviceStats(b *servicegraph.Bucket, service string) servicegraph.Stats {
	var acc servicegraph.Stats
	for k, n := range b.Nodes {
		if k.Name == service && n.Kind == servicegraph.KindService {
			acc.Merge(&n.Stats)
		}
	}
	return acc
}

func windowStats(st *servicegraph.Stats, w [2]time.Time) WindowStats {
	ws := WindowStats{Start: w[0], End: w[1], Requests: st.Total, Faults: st.FaultTotal(), Errors: st.ErrorTotal(),
		Throttles: st.Throttle}
	if st.Total > 0 {
		ws.FaultRate = float64(ws.Faults) / float64(st.Total)
		ws.ErrorRate = float64(ws.Errors) / float64(st.Total)
		ws.P50 = st.ResponseTimes.Quantile(0.5)
		ws.P99 = st.ResponseTimes.Quantile(0.99)
	}
	return ws
}

func pct(r float64) string { return fmt.Sprintf("%.2f%%", 100*r) }

func dur(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
}

// Evaluate runs the checks of th over before and after and returns the
// verdict: insufficient-data when either window has fewer than
// th.MinRequests requests (the other checks are then skipped), else fail
// when any check fails, else pass.
func Evaluate(before, after WindowStats, th Thresholds) (verdict string, checks []Check) {
	req := Check{Name: "requests", Status: CheckPass, Before: float64(before.Requests), After: float64(after.Requests),
		Limit: float64(th.MinRequests)}
	req.Message = fmt.Sprintf("%d requests before, %d after; at least %d needed in each window", before.Requests, after.Requests, th.MinRequests)
	enough := before.Requests >= th.MinRequests && after.Requests >= th.MinRequests && before.Requests > 0 && after.Requests > 0
	if !enough {
		req.Status = CheckInsufficient
	}
	checks = append(checks, req)
	rate := func(name, what string, b, a, inc float64) Check {
		c := Check{Name: name, Before: b, After: a, Limit: math.Min(1, b+inc)}
		if a <= c.Limit+1e-12 {
			c.Status = CheckPass
			c.Message = fmt.Sprintf("%s %s after, %s before; at most %s allowed", what, pct(a), pct(b), pct(c.Limit))
		} else {
			c.Status = CheckFail
			c.Message = fmt.Sprintf("%s rose from %s to %s; at most %s allowed (+%.2f points)", what, pct(b), pct(a), pct(c.Limit), 100*inc)
		}
		return c
	}
	lat := func(name string, b, a, inc float64) Check {
		c := Check{Name: name, Before: b, After: a, Limit: math.Max(b*(1+inc), b+th.LatencySlack.Seconds())}
		ratio := ""
		if b > 0 {
			ratio = fmt.Sprintf(" (×%.2f)", a/b)
		}
		if a <= c.Limit*(1+1e-9) {
			c.Status = CheckPass
			c.Message = fmt.Sprintf("%s %s after, %s before%s; at most %s allowed", name, dur(a), dur(b), ratio, dur(c.Limit))
		} else {
			c.Status = CheckFail
			c.Message = fmt.Sprintf("%s rose from %s to %s%s; at most %s allowed", name, dur(b), dur(a), ratio, dur(c.Limit))
		}
		return c
	}
	checks = append(checks,
		rate("fault_rate", "fault rate", before.FaultRate, after.FaultRate, th.MaxFaultRateIncrease),
		rate("error_rate", "error rate", before.ErrorRate, after.ErrorRate, th.MaxErrorRateIncrease),
		lat("p50", before.P50, after.P50, th.MaxP50Increase),
		lat("p99", before.P99, after.P99, th.MaxP99Increase))
	if !enough {
		for i := 1; i < len(checks); i++ {
			checks[i].Status = CheckSkipped
			checks[i].Message = "not evaluated: too few requests; " + checks[i].Message
		}
		return InsufficientData, checks
	}
	for _, c := range checks {
		if c.Status == CheckFail {
			return Fail, checks
		}
	}
	return Pass, checks
}

// Gate evaluates the gate of marker id with th (see Evaluate and the
// package's windows).
func (s *Service) Gate(ctx context.Context, id string, th Thresholds) (Result, error) {
	if err := th.Validate(); err != nil {
		return Result{}, err
	}
	if s.cfg.Graph == nil {
		return Result{}, fmt.Errorf("deploy: no service graph to gate on")
	}
	d, err := s.Get(ctx, id)
	if err != nil {
		return Result{}, err
	}
	return s.gate(ctx, d, th)
}

func (s *Service) gate(ctx context.Context, d Deployment, th Thresholds) (Result, error) {
	bw, aw := Windows(d.Time, th.Window)
	var side [2]WindowStats
	for i, w := range [2][2]time.Time{bw, aw} {
		b, err := s.cfg.Graph.Graph(ctx, servicegraph.DefaultGroupID, float64(w[0].Unix()), float64(w[1].Unix()))
		if err != nil {
			return Result{}, err
		}
		st := serviceStats(b, d.Service)
		side[i] = windowStats(&st, w)
	}
	r := Result{Deployment: d, Thresholds: th, Before: side[0], After: side[1], ReadyAt: aw[1].Add(s.cfg.Settle).UTC(),
		Failed: []string{}}
	r.Thresholds.Window = aw[1].Sub(aw[0])
	now := s.cfg.Now()
	r.Complete = !now.Before(r.ReadyAt)
	if !r.Complete {
		r.ReadyIn = math.Ceil(r.ReadyAt.Sub(now).Seconds())
	}
	r.Verdict, r.Checks = Evaluate(r.Before, r.After, th)
	switch r.Verdict {
	case Pass:
		r.Summary = fmt.Sprintf("pass: %d checks passed", len(r.Checks))
	case InsufficientData:
		r.Failed = append(r.Failed, "requests")
		r.Summary = "insufficient data: " + r.Checks[0].Message
	default:
		var msgs []string
		for _, c := range r.Checks {
			if c.Status == CheckFail {
				r.Failed = append(r.Failed, c.Name)
				msgs = append(msgs, c.Message)
			}
		}
		r.Summary = "fail: " + strings.Join(msgs, "; ")
	}
	if !r.Complete {
		r.Summary += fmt.Sprintf(" (so far: the after window is complete at %s)", r.ReadyAt.Format(time.RFC3339))
	}
	return r, nil
}
