// Package tailsample is Fluoro's tail-based sampler: it sits between decoded
// spans and a sink that stores or forwards them, holds each trace's spans
// until the trace is complete (no new span for DecisionWait), then decides
// from the whole trace whether to keep it:
//
//  1. "error": any segment or subsegment has a fault, error or throttle;
//  2. "latency": the trace (or one service's segment, or requests to a URL
//     pattern) is slower than a threshold;
//  3. "filter:NAME": the trace matches a filter expression;
//  4. "rate" / "boost": a deterministic fraction of the rest, chosen by a
//     hash of the trace id, at the configured rate or the rate a budget
//     controller sets, or at a temporary boost's higher rate.
//
// Spans arriving after a decision follow it (a bounded cache of recent
// decisions). Memory is bounded: past MaxTraces or MaxBytes the traces idle
// longest are decided early ("forced" decisions). The policy that kept a
// trace is passed to the sink, which records it (model.Summary.SampledBy).
package tailsample

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/query"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// Config is the `tail_sampling:` section of the server's YAML. Default
// returns the documented defaults; New fills zero caps and durations with
// them too, but takes Rate as given (0 keeps no successful trace).
type Config struct {
	// Enabled turns tail sampling on (off: every span is stored).
	Enabled bool `yaml:"enabled"`
	// DecisionWait is how long a trace must go without a new span before it
	// is decided (10s).
	DecisionWait time.Duration `yaml:"decision_wait"`
	// MaxTraces and MaxBytes cap the traces buffered awaiting a decision
	// (100,000 traces, 256 MiB of spans: documents plus decoded fields).
	MaxTraces int   `yaml:"max_traces"`
	MaxBytes  int64 `yaml:"max_bytes"`
	// DecisionCache is how many recent decisions are remembered for spans
	// that arrive late (200,000, about 20 MiB).
	DecisionCache int `yaml:"decision_cache"`
	// KeepErrors keeps every trace with a fault, error or throttle (true).
	KeepErrors bool `yaml:"keep_errors"`
	// Latency keeps traces slower than a threshold.
	Latency []LatencyPolicy `yaml:"latency"`
	// Filters keeps traces matching a filter expression.
	Filters []FilterPolicy `yaml:"filters"`
	// Rate is the fraction of the remaining traces kept (0.05), the
	// starting rate when a budget is set.
	Rate float64 `yaml:"rate"`
	// Budget, when it sets a target, makes Rate follow the traffic.
	Budget Budget `yaml:"budget"`
}

// LatencyPolicy keeps traces slower than Threshold. With neither Service
// nor URL it applies to the root segment's response time (or, with no
// root segment yet, the trace's duration). With Service (an X-Ray wildcard
// pattern, * and ?), it applies to each segment of a matching service; with
// URL (a wildcard pattern), to the root segment's response time when its
// http.request.url matches; with both, to segments of the service whose URL
// matches.
type LatencyPolicy struct {
	Threshold time.Duration `yaml:"threshold"`
	Service   string        `yaml:"service"`
	URL       string        `yaml:"url"`
}

// FilterPolicy keeps traces matching an X-Ray filter expression, evaluated
// against the buffered spans' summary (and graph, for service filters).
type FilterPolicy struct {
	Name       string `yaml:"name"`
	Expression string `yaml:"expression"`
}

// Budget is a target number of kept traces that the rate follows: every
// Interval, the rate becomes (target − traces kept by always-keep
// policies) ÷ traces left to the rate, both smoothed over intervals. Set
// one of TracesPerSecond and TracesPerMonth (30 days).
type Budget struct {
	TracesPerSecond float64 `yaml:"traces_per_second"`
	TracesPerMonth  float64 `yaml:"traces_per_month"`
	// Interval is the controller's period (10s).
	Interval time.Duration `yaml:"interval"`
	// Smoothing is the weight of the newest interval in the averages, in
	// (0, 1] (0.5): lower is steadier, higher follows traffic faster.
	Smoothing float64 `yaml:"smoothing"`
	// MinRate and MaxRate bound the rate (0 and 1).
	MinRate float64 `yaml:"min_rate"`
	MaxRate float64 `yaml:"max_rate"`
}

// Target is the budget in traces per second, 0 when none is set.
func (b Budget) Target() float64 {
	if b.TracesPerSecond > 0 {
		return b.TracesPerSecond
	}
	return b.TracesPerMonth / (30 * 24 * 3600)
}

// Default returns the documented defaults, disabled.
func Default() Config {
	return Config{
		DecisionWait:  10 * time.Second,
		MaxTraces:     100_000,
		MaxBytes:      256 << 20,
		DecisionCache: 200_000,
		KeepErrors:    true,
		Rate:          0.05,
		Budget:        Budget{Interval: 10 * time.Second, Smoothing: 0.5, MaxRate: 1},
	}
}

func (c *Config) setDefaults() {
	d := Default()
	if c.DecisionWait <= 0 {
		c.DecisionWait = d.DecisionWait
	}
	if c.MaxTraces <= 0 {
		c.MaxTraces = d.MaxTraces
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = d.MaxBytes
	}
	if c.DecisionCache <= 0 {
		c.DecisionCache = d.DecisionCache
	}
	if c.Budget.Interval <= 0 {
		c.Budget.Interval = d.Budget.Interval
	}
	if c.Budget.Smoothing <= 0 {
		c.Budget.Smoothing = d.Budget.Smoothing
	}
	if c.Budget.MaxRate <= 0 {
		c.Budget.MaxRate = d.Budget.MaxRate
	}
}

// Validate reports the first invalid setting. Zero caps and durations are
// valid: they take the defaults.
func (c *Config) Validate() error {
	_, err := c.compile()
	return err
}

// compiled is a validated configuration with parsed filter expressions.
type compiled struct {
	filters []compiledFilter
}

type compiledFilter struct {
	policy     string // "filter:NAME"
	expr       filterexpr.Expr
	needsSpans bool
	// need, when set, is a term every match must satisfy (query.Hint) that
	// can be checked on the spans without summarising them.
	need *store.Hint
}

func (c *Config) compile() (compiled, error) {
	var out compiled
	switch {
	case c.DecisionWait < 0:
		return out, fmt.Errorf("tail_sampling decision_wait %v is negative", c.DecisionWait)
	case c.DecisionWait > 10*time.Minute:
		return out, fmt.Errorf("tail_sampling decision_wait %v is longer than the maximum of 10m", c.DecisionWait)
	case c.MaxTraces < 0 || c.MaxBytes < 0 || c.DecisionCache < 0:
		return out, errors.New("tail_sampling max_traces, max_bytes and decision_cache must not be negative")
	case !inUnit(c.Rate):
		return out, fmt.Errorf("tail_sampling rate %v is not between 0 and 1", c.Rate)
	}
	b := c.Budget
	switch {
	case b.TracesPerSecond < 0 || b.TracesPerMonth < 0 || math.IsNaN(b.TracesPerSecond) || math.IsNaN(b.TracesPerMonth):
		return out, errors.New("tail_sampling budget must not be negative")
	case b.TracesPerSecond > 0 && b.TracesPerMonth > 0:
		return out, errors.New("tail_sampling budget: set traces_per_second or traces_per_month, not both")
	case b.Interval < 0:
		return out, fmt.Errorf("tail_sampling budget interval %v is negative", b.Interval)
	case b.Smoothing < 0 || b.Smoothing > 1 || math.IsNaN(b.Smoothing):
		return out, fmt.Errorf("tail_sampling budget smoothing %v is not in (0, 1]", b.Smoothing)
	case !inUnit(b.MinRate) || !inUnit(b.MaxRate):
		return out, errors.New("tail_sampling budget min_rate and max_rate must be between 0 and 1")
	case b.MaxRate > 0 && b.MinRate > b.MaxRate:
		return out, fmt.Errorf("tail_sampling budget min_rate %v is above max_rate %v", b.MinRate, b.MaxRate)
	}
	for i, l := range c.Latency {
		if l.Threshold <= 0 {
			return out, fmt.Errorf("tail_sampling latency[%d]: threshold must be positive", i)
		}
	}
	seen := map[string]bool{}
	for i, f := range c.Filters {
		if f.Name == "" {
			return out, fmt.Errorf("tail_sampling filters[%d]: name must be set", i)
		}
		if seen[f.Name] {
			return out, fmt.Errorf("tail_sampling filters[%d]: name %q is used twice", i, f.Name)
		}
		seen[f.Name] = true
		e, err := filterexpr.Parse(f.Expression)
		if err != nil {
			return out, fmt.Errorf("tail_sampling filter %q: %w", f.Name, err)
		}
		if err := query.Check(e); err != nil {
			return out, fmt.Errorf("tail_sampling filter %q: %w", f.Name, err)
		}
		cf := compiledFilter{policy: "filter:" + f.Name, expr: e, needsSpans: query.NeedsSpans(e)}
		if h := query.Hint(e); h != nil && (h.Field == store.HintAnnotation || h.Field == store.HintUser) {
			cf.need = h
		}
		out.filters = append(out.filters, cf)
	}
	return out, nil
}

func inUnit(f float64) bool { return f >= 0 && f <= 1 }
