// Package insight opens X-Ray insights: it counts, per service-graph node and
// per minute, the requests and faults of completed traces, asks a Detector
// whether each node's fault rate departs from its own baseline, and keeps the
// resulting insights (root-cause service, impacted clients and requests,
// events, impact graph) in the store's objects, ACTIVE until the rate
// recovers and CLOSED after.
package insight

import (
	"math"
	"slices"
)

// Detector judges one node's fault rate, one closed minute at a time. Each
// node has its own Detector; Observe is called with consecutive minutes in
// order (minutes without traffic as 0, 0) and reports whether that minute is
// anomalous. A richer detector (seasonality, several signals) replaces the
// default by implementing this.
type Detector interface {
	Observe(requests, faults int64) (anomalous bool)
}

// RobustConfig tunes the default detector. Zero fields take the defaults in
// parentheses.
type RobustConfig struct {
	// Window is how many normal minutes the baseline remembers (30; a
	// longer one lags a drifting rate further and raises false alarms).
	Window int
	// Warmup is how many normal minutes it needs before judging (10).
	Warmup int
	// MinRequests is the fewest requests in a minute for it to be judged or
	// learnt from (20): low traffic opens nothing.
	MinRequests int64
	// MinFaults is the fewest faults in an anomalous minute (5).
	MinFaults int64
	// K is how many robust standard deviations (1.4826 × MAD) above the
	// baseline median the rate must be (4).
	K float64
	// MinDelta is the least absolute rise of the rate above the median
	// (0.05, five points).
	MinDelta float64
	// Alpha is the significance of the binomial test (0.001): the chance of
	// seeing that many faults or more if the baseline rate still held.
	Alpha float64
	// Floor is the least baseline rate the test assumes (0.001), so that a
	// service that never faulted is not alarmed by one fault.
	Floor float64
	// Persist is how many consecutive minutes must exceed the baseline
	// before they are reported anomalous (2): one noisy minute, which a
	// lagging baseline makes likelier during a drift, opens nothing.
	Persist int
}

func (c *RobustConfig) defaults() {
	if c.Window <= 0 {
		c.Window = 30
	}
	if c.Warmup <= 0 {
		c.Warmup = 10
	}
	if c.MinRequests <= 0 {
		c.MinRequests = 20
	}
	if c.MinFaults <= 0 {
		c.MinFaults = 5
	}
	if c.K <= 0 {
		c.K = 4
	}
	if c.MinDelta <= 0 {
		c.MinDelta = 0.05
	}
	if c.Alpha <= 0 {
		c.Alpha = 0.001
	}
	if c.Floor <= 0 {
		c.Floor = 0.001
	}
	if c.Persist <= 0 {
		c.Persist = 2
	}
}

// Robust is the default Detector: the baseline is the median of the
// per-minute fault rates of the last Window normal minutes and the spread
// their median absolute deviation. A minute is anomalous when it has enough
// requests and faults, its rate exceeds median + max(K × 1.4826 × MAD,
// MinDelta), and a one-sided binomial test rejects the baseline rate at
// Alpha; it is reported once Persist such minutes follow each other.
// Exceeding minutes are not learnt (an incident does not become the
// baseline); normal ones are, so a slow drift moves the baseline with it.
type Robust struct {
	cfg    RobustConfig
	rates  []float64 // ring of normal minutes' rates
	next   int
	streak int // consecutive exceeding minutes
	tmp    []float64
}

// NewRobust returns a detector with cfg (zero fields defaulted).
func NewRobust(cfg RobustConfig) *Robust {
	cfg.defaults()
	return &Robust{cfg: cfg}
}

// Baseline returns the current median rate and MAD; ok is false while
// warming up.
func (r *Robust) Baseline() (median, mad float64, ok bool) {
	if len(r.rates) < r.cfg.Warmup {
		return 0, 0, false
	}
	r.tmp = append(r.tmp[:0], r.rates...)
	slices.Sort(r.tmp)
	median = medianSorted(r.tmp)
	for i, v := range r.tmp {
		r.tmp[i] = math.Abs(v - median)
	}
	slices.Sort(r.tmp)
	return median, medianSorted(r.tmp), true
}

func medianSorted(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Observe implements Detector.
func (r *Robust) Observe(requests, faults int64) bool {
	if requests < r.cfg.MinRequests {
		r.streak = 0
		return false
	}
	rate := float64(faults) / float64(requests)
	if median, mad, ok := r.Baseline(); ok && faults >= r.cfg.MinFaults &&
		rate > median+max(r.cfg.K*1.4826*mad, r.cfg.MinDelta) &&
		BinomialTail(requests, faults, max(median, r.cfg.Floor)) < r.cfg.Alpha {
		r.streak++
		return r.streak >= r.cfg.Persist
	}
	r.streak = 0
	if len(r.rates) < r.cfg.Window {
		r.rates = append(r.rates, rate)
	} else {
		r.rates[r.next] = rate
		r.next = (r.next + 1) % r.cfg.Window
	}
	return false
}

// BinomialTail returns P(X ≥ k) for X ~ Binomial(n, p), summing the
// probability mass from k upwards, starting in log space (exact up to
// rounding). At or below the mean n·p it returns 1, a bound the test never
// rejects.
func BinomialTail(n, k int64, p float64) float64 {
	switch {
	case k <= 0:
		return 1
	case k > n:
		return 0
	case p <= 0:
		return 0
	case p >= 1 || float64(k) <= float64(n)*p:
		return 1
	}
	lg := func(x int64) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	logPmf := lg(n) - lg(k) - lg(n-k) + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p)
	term := math.Exp(logPmf)
	sum := term
	ratio := p / (1 - p)
	for i := k; i < n; i++ {
		term *= float64(n-i) / float64(i+1) * ratio
		sum += term
		if term <= sum*1e-15 {
			break
		}
	}
	return min(sum, 1)
}
