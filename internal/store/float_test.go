package store

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFloatRoundTrip checks that every float survives appendFloat: short
// decimals, long ones, extremes, negative zero, NaN and infinities.
func TestFloatRoundTrip(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1767225600.123456, 1767225601.76521, 1.7652099132537842,
		0.9916, 212.33, 1e22, 1e23, 123456789012345678, 5e-324, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), 1e-7, 9007199254740993, 4.35e15}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		vals = append(vals, math.Float64frombits(rng.Uint64()), rng.Float64()*1e10, math.Round(rng.Float64()*1e12)/1e6)
	}
	vals = append(vals, math.NaN())
	for _, f := range vals {
		d := decoder{b: appendFloat(nil, f)}
		got := d.float()
		if d.err != nil || len(d.b) != 0 || math.Float64bits(got) != math.Float64bits(f) && !(math.IsNaN(f) && math.IsNaN(got)) {
			t.Fatalf("%v (%x): got %v (%x), err %v, %d bytes left", f, math.Float64bits(f), got, math.Float64bits(got), d.err, len(d.b))
		}
	}
}

func FuzzFloat(f *testing.F) {
	f.Add(uint64(0))
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		d := decoder{b: appendFloat(nil, v)}
		got := d.float()
		if d.err != nil || math.Float64bits(got) != bits && !math.IsNaN(v) {
			t.Fatalf("%x: got %x, err %v", bits, math.Float64bits(got), d.err)
		}
	})
}
