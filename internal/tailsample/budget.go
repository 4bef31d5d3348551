package tailsample

import (
	"sync"
	"time"
)

// controller sets the probabilistic rate so that kept traces follow a
// budget. Each interval it measures, per second, the traces kept by the
// always-keep policies (error, latency, filter) and the traces left to the
// rate, folds them into exponentially weighted averages, and sets
//
//	rate = clamp((target − always) ÷ left, min, max)
//
// Always-keep policies count against the budget but are never dropped: when
// they alone exceed it, the rate falls to its minimum. Traces kept by a
// boost above the rate are outside the budget: a boost is an explicit,
// temporary override. Without a target the rate stays as configured.
type controller struct {
	mu       sync.Mutex
	target   float64 // traces/s; 0 when there is no budget
	interval time.Duration
	alpha    float64
	min, max float64

	rate      float64
	start     time.Time // of the current interval
	always    int       // this interval
	left      int       // this interval
	avgAlways float64   // per second, smoothed
	avgLeft   float64   // per second, smoothed
	primed    bool
	intervals int // completed
}

func newController(cfg *Config, now time.Time) *controller {
	b := cfg.Budget
	return &controller{target: b.Target(), interval: b.Interval, alpha: b.Smoothing, min: b.MinRate, max: b.MaxRate,
		rate: cfg.Rate, start: now}
}

// current returns the rate to decide with.
func (c *controller) current() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate
}

// observe counts decided traces: always were kept by always-keep
// policies, left reached the rate.
func (c *controller) observe(always, left int) {
	c.mu.Lock()
	c.always += always
	c.left += left
	c.mu.Unlock()
}

// tick closes the interval if it has run its length, and adjusts the rate.
func (c *controller) tick(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := now.Sub(c.start)
	if el < c.interval {
		return
	}
	secs := el.Seconds()
	a, l := float64(c.always)/secs, float64(c.left)/secs
	if !c.primed {
		c.avgAlways, c.avgLeft, c.primed = a, l, true
	} else {
		c.avgAlways += c.alpha * (a - c.avgAlways)
		c.avgLeft += c.alpha * (l - c.avgLeft)
	}
	c.always, c.left, c.start = 0, 0, now
	c.intervals++
	if c.target <= 0 {
		return
	}
	room := c.target - c.avgAlways
	r := c.max
	if c.avgLeft > 0 {
		r = room / c.avgLeft
	}
	c.rate = min(max(r, c.min), c.max)
}
