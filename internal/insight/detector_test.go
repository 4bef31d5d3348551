package insight

import (
	"math"
	"math/rand/v2"
	"testing"
)

func binomial(rng *rand.Rand, n int64, p float64) int64 {
	var k int64
	for i := int64(0); i < n; i++ {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}

// TestRobustSeries runs the default detector over synthetic per-minute
// series and checks which minutes it flags.
func TestRobustSeries(t *testing.T) {
	type minute struct{ req, faults int64 }
	gen := func(minutes int, f func(rng *rand.Rand, m int) minute) []minute {
		rng := rand.New(rand.NewPCG(uint64(minutes), 7))
		out := make([]minute, minutes)
		for m := range out {
			out[m] = f(rng, m)
		}
		return out
	}
	steady := func(n int64, p float64) func(*rand.Rand, int) minute {
		return func(rng *rand.Rand, _ int) minute { return minute{n, binomial(rng, n, p)} }
	}
	for _, c := range []struct {
		name   string
		series []minute
		want   []int // the anomalous minutes
	}{
		{"stable 1% at 100/min", gen(300, steady(100, 0.01)), nil},
		{"stable 5% at 1000/min", gen(300, steady(1000, 0.05)), nil},
		{"stable 0% then one fault", gen(120, func(rng *rand.Rand, m int) minute {
			if m == 100 {
				return minute{50, 1}
			}
			return minute{50, 0}
		}), nil},
		{"spike to 30% for 5 minutes (reported from the second)", gen(120, func(rng *rand.Rand, m int) minute {
			if m >= 60 && m < 65 {
				return minute{100, binomial(rng, 100, 0.3)}
			}
			return minute{100, binomial(rng, 100, 0.01)}
		}), []int{61, 62, 63, 64}},
		{"outage from a clean baseline", gen(40, func(rng *rand.Rand, m int) minute {
			if m == 30 || m == 31 {
				return minute{50, 10}
			}
			return minute{50, 0}
		}), []int{31}},
		{"slow drift 1% to 15% over 10 hours", gen(600, func(rng *rand.Rand, m int) minute {
			return minute{200, binomial(rng, 200, 0.01+0.14*float64(m)/600)}
		}), nil},
		{"low traffic with many faults", gen(200, func(rng *rand.Rand, m int) minute {
			if m > 100 {
				return minute{5, binomial(rng, 5, 0.6)}
			}
			return minute{5, binomial(rng, 5, 0.05)}
		}), nil},
		{"spike during warm-up is not judged", gen(20, func(rng *rand.Rand, m int) minute {
			if m == 3 {
				return minute{100, 50}
			}
			return minute{100, 1}
		}), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := NewRobust(RobustConfig{})
			var got []int
			for m, x := range c.series {
				if d.Observe(x.req, x.faults) {
					got = append(got, m)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("anomalous minutes %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("anomalous minutes %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestBinomialTail(t *testing.T) {
	exact := func(n, k int64, p float64) float64 {
		s := 0.0
		for i := k; i <= n; i++ {
			lg := func(x int64) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
			s += math.Exp(lg(n) - lg(i) - lg(n-i) + float64(i)*math.Log(p) + float64(n-i)*math.Log(1-p))
		}
		return s
	}
	for _, c := range []struct {
		n, k int64
		p    float64
	}{{100, 5, 0.01}, {100, 30, 0.01}, {1000, 80, 0.05}, {20, 20, 0.5}, {50, 10, 0.001}} {
		got, want := BinomialTail(c.n, c.k, c.p), exact(c.n, c.k, c.p)
		if math.Abs(got-want) > 1e-12+1e-9*want {
			t.Errorf("BinomialTail(%d, %d, %g) = %g, want %g", c.n, c.k, c.p, got, want)
		}
	}
	if BinomialTail(100, 1, 0.05) != 1 || BinomialTail(10, 11, 0.5) != 0 || BinomialTail(10, 0, 0.5) != 1 {
		t.Error("edge cases")
	}
}

// TestRobustFalseAlarms runs stable and drifting series over many seeds (a
// week of minutes in all): the detector must stay silent.
func TestRobustFalseAlarms(t *testing.T) {
	for seed := uint64(0); seed < 12; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		stable, drift, blip := NewRobust(RobustConfig{}), NewRobust(RobustConfig{}), NewRobust(RobustConfig{})
		for m := 0; m < 840; m++ {
			if stable.Observe(150, binomial(rng, 150, 0.02)) {
				t.Errorf("seed %d: stable series flagged minute %d", seed, m)
			}
			if drift.Observe(200, binomial(rng, 200, 0.01+0.14*float64(m)/840)) {
				t.Errorf("seed %d: drifting series flagged minute %d", seed, m)
			}
			k := binomial(rng, 100, 0.01)
			if m%97 == 50 {
				k = 40 // one bad minute now and then
			}
			if blip.Observe(100, k) {
				t.Errorf("seed %d: a one-minute blip flagged minute %d", seed, m)
			}
		}
	}
}
