package analytics

import (
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// RelativeAccuracy is the sketches' guarantee: a reported quantile is within
// 1% of the exact value of some observation at that rank.
const RelativeAccuracy = 0.01

// maxBins bounds one sketch's memory (a 1% sketch spans 1 µs to about 2
// hours in under 1,200 bins; values collapse into the lowest bin past that).
const maxBins = 2048

// minValue is the smallest duration a sketch tells apart from zero (1 µs):
// X-Ray times have microsecond precision.
const minValue = 1e-6

// dist is a mergeable distribution of non-negative values (seconds): a
// DDSketch for quantiles, plus the exact count, sum, min and max.
type dist struct {
	sk       *ddsketch.DDSketch
	signed   bool // negative values are kept, not clamped to 0
	n        int64
	sum      float64
	min, max float64
}

var sketchMapping = func() mapping.IndexMapping {
	m, err := mapping.NewLogarithmicMapping(RelativeAccuracy)
	if err != nil {
		panic(err) // a constant accuracy that the library accepts
	}
	return m
}()

func newDist() *dist {
	return &dist{
		sk:  ddsketch.NewDDSketch(sketchMapping, store.NewCollapsingLowestDenseStore(maxBins), store.NewCollapsingLowestDenseStore(maxBins)),
		min: math.Inf(1), max: math.Inf(-1),
	}
}

// newSignedDist is a dist for values of any sign (annotation values).
func newSignedDist() *dist {
	d := newDist()
	d.signed = true
	return d
}

// add records v. NaN and infinities are skipped; a duration dist clamps
// negative values (clock skew) to 0 and counts values under a microsecond
// as 0.
func (d *dist) add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if !d.signed {
		v = max(v, 0)
	}
	d.n++
	d.sum += v
	d.min = min(d.min, v)
	d.max = max(d.max, v)
	if !d.signed && v < minValue {
		v = 0
	}
	d.sk.Add(v) // cannot fail for a finite non-negative value
}

// merge adds o's observations to d.
func (d *dist) merge(o *dist) {
	if o.n == 0 {
		return
	}
	d.sk.MergeWith(o.sk)
	d.n += o.n
	d.sum += o.sum
	d.min = min(d.min, o.min)
	d.max = max(d.max, o.max)
}

// quantile returns the q-quantile (0 for an empty distribution), clamped to
// the exact min and max.
func (d *dist) quantile(q float64) float64 {
	if d.n == 0 {
		return 0
	}
	v, err := d.sk.GetValueAtQuantile(q)
	if err != nil {
		return 0
	}
	return min(max(v, d.min), d.max)
}

// Percentiles is a distribution's summary. Times are seconds.
type Percentiles struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	Max   float64 `json:"max"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
}

func (d *dist) percentiles() Percentiles {
	if d.n == 0 {
		return Percentiles{}
	}
	return Percentiles{
		Count: d.n, Min: d.min, Max: d.max, Mean: d.sum / float64(d.n),
		P50: d.quantile(0.5), P90: d.quantile(0.9), P95: d.quantile(0.95), P99: d.quantile(0.99), P999: d.quantile(0.999),
	}
}
