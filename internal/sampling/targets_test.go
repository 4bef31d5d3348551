package sampling

import (
	"fmt"
	"testing"
	"time"
)

// fakeClock is a settable clock for Targets.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

var epoch = time.Unix(1_700_000_000, 0).UTC()

func newTestTargets(t *testing.T, clock *fakeClock, ttl time.Duration) *Targets {
	t.Helper()
	tg, err := NewTargets(TargetsConfig{Now: clock.now, TTL: ttl})
	if err != nil {
		t.Fatalf("NewTargets: %v", err)
	}
	return tg
}

func testRule(name string, reservoir int) Rule {
	r := DefaultRule()
	r.RuleName, r.Priority, r.ReservoirSize, r.FixedRate = name, 100, reservoir, 0.1
	return r
}

func clientID(i int) string { return fmt.Sprintf("%024x", i) }

func TestTargetsConfigValidate(t *testing.T) {
	check := func(ttl time.Duration, wantErr bool) {
		t.Helper()
		_, err := NewTargets(TargetsConfig{TTL: ttl})
		if got := err != nil; got != wantErr {
			t.Errorf("NewTargets(TTL %v) error = %v, want error %v", ttl, err, wantErr)
		}
	}
	check(0, false)
	check(20*time.Second, false)
	check(5*time.Minute, false)
	check(19*time.Second, true)
}

func TestTargetsUnknownRule(t *testing.T) {
	clock := &fakeClock{epoch}
	tg := newTestTargets(t, clock, time.Minute)
	rules := []Rule{testRule("known", 5), DefaultRule()}
	targets, unprocessed := tg.Compute(rules, []Statistics{
		{RuleName: "gone", ClientID: clientID(1), Timestamp: epoch, RequestCount: 10},
		{RuleName: "known", ClientID: clientID(1), Timestamp: epoch, RequestCount: 10},
		{RuleName: "known", ClientID: clientID(2), Timestamp: epoch, RequestCount: -1},
	})
	wantU := []Unprocessed{
		{RuleName: "gone", ErrorCode: "400", Message: "Rule not found"},
		{RuleName: "known", ErrorCode: "400", Message: "counts must not be negative"},
	}
	if fmt.Sprint(unprocessed) != fmt.Sprint(wantU) {
		t.Errorf("unprocessed = %+v, want %+v", unprocessed, wantU)
	}
	want := []Target{{RuleName: "known", FixedRate: 0.1, ReservoirQuota: 5, ReservoirQuotaTTL: epoch.Add(time.Minute), Interval: 10}}
	if fmt.Sprint(targets) != fmt.Sprint(want) {
		t.Errorf("targets = %+v, want %+v", targets, want)
	}
}

func TestTargetsDefaultRuleAndFixedRate(t *testing.T) {
	clock := &fakeClock{epoch.Add(1500 * time.Millisecond)}
	tg := newTestTargets(t, clock, 30*time.Second)
	def := DefaultRule()
	def.FixedRate = 0.25
	targets, unprocessed := tg.Compute([]Rule{def}, []Statistics{{RuleName: "Default", ClientID: clientID(0), RequestCount: 3}})
	if len(unprocessed) != 0 || len(targets) != 1 {
		t.Fatalf("Compute = %+v, %+v; want one target", targets, unprocessed)
	}
	got := targets[0]
	// TTL is a whole second (the wire carries epoch seconds).
	want := Target{RuleName: "Default", FixedRate: 0.25, ReservoirQuota: 1, ReservoirQuotaTTL: epoch.Add(31 * time.Second), Interval: 10}
	if got != want {
		t.Errorf("target = %+v, want %+v", got, want)
	}
}

func TestLastRuleModification(t *testing.T) {
	tg := newTestTargets(t, &fakeClock{epoch}, 0)
	if got := tg.LastRuleModification(); !got.IsZero() {
		t.Errorf("LastRuleModification() = %v, want zero", got)
	}
	tg.RuleModified(epoch.Add(time.Hour))
	tg.RuleModified(epoch) // older: ignored
	if got, want := tg.LastRuleModification(), epoch.Add(time.Hour); !got.Equal(want) {
		t.Errorf("LastRuleModification() = %v, want %v", got, want)
	}
}

func TestShares(t *testing.T) {
	check := func(reservoir int, demands []float64, want []int) {
		t.Helper()
		var active, byIndex []*client
		for i, d := range demands {
			c := &client{id: clientID(i), demand: d}
			active = append(active, c)
			byIndex = append(byIndex, c)
		}
		shares(reservoir, active)
		got := make([]int, len(demands))
		for i, c := range byIndex {
			got[i] = c.share
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("shares(%d, %v) = %v, want %v", reservoir, demands, got, want)
		}
	}
	check(0, []float64{5, 5}, []int{0, 0})
	check(10, nil, []int{})
	check(10, []float64{100}, []int{10})
	check(10, []float64{0.1}, []int{10})                // all room to the only client
	check(10, []float64{2, 1}, []int{6, 4})             // needs met, leftovers spread busiest first
	check(10, []float64{100, 100, 100}, []int{4, 3, 3}) // even split, remainder by order
	check(10, []float64{1, 100}, []int{1, 9})           // demand-weighted past the fair minimum
	check(10, []float64{100, 50, 1}, []int{5, 4, 1})    // fair minimum 3 (or need), rest by unmet demand
	check(3, []float64{9, 9, 9, 9, 9}, []int{1, 1, 1, 0, 0})
	check(2, []float64{0, 0, 5}, []int{0, 0, 2}) // no fair minimum without room: by demand
}

// TestFleet simulates N clients polling every 10 s of fake time and checks
// the fleet invariant at every instant: the quotas the clients may use sum
// to at most the rule's reservoir. Then all but client 0 stop, and client 0's
// quota must grow to the whole reservoir once their quotas expire.
func TestFleet(t *testing.T) {
	run := func(n, reservoir int, ttl time.Duration) {
		t.Run(fmt.Sprintf("clients=%d/reservoir=%d/ttl=%v", n, reservoir, ttl), func(t *testing.T) {
			clock := &fakeClock{epoch}
			tg := newTestTargets(t, clock, ttl)
			rules := []Rule{testRule("api", reservoir), DefaultRule()}

			type state struct {
				offset time.Duration // first report
				next   time.Time
				target Target
				has    bool
			}
			clients := make([]*state, n)
			for i := range clients {
				// Spread the clients over the interval, not on whole seconds.
				off := time.Duration(i)*1370*time.Millisecond%(10*time.Second) + time.Duration(i%3)*100*time.Millisecond
				clients[i] = &state{offset: off, next: epoch.Add(off)}
			}
			const stop = 600 * time.Second                    // all but client 0 stop reporting here
			end := stop + ttl + activeWindow + 30*time.Second // client 0 alone long enough to own the reservoir
			demand := func(i int, at time.Duration) int {
				if i == 0 {
					return 1000 // 100 req/s: always wants the whole reservoir
				}
				round := int(at / (10 * time.Second))
				return ((i*7 + round*13) % 50) * 10 // 0–49 req/s, changing every round
			}
			// usable mirrors the SDKs: a quota is used while now's epoch second ≤ its TTL's.
			usable := func(c *state, now time.Time) bool {
				return c.has && now.Unix() <= c.target.ReservoirQuotaTTL.Unix()
			}
			var before int // client 0's quota just before the others stop
			var reports int
			for at := time.Duration(0); at <= end; at += 100 * time.Millisecond {
				clock.t = epoch.Add(at)
				for i, c := range clients {
					if clock.t.Before(c.next) || (i > 0 && at >= stop) {
						continue
					}
					c.next = c.next.Add(10 * time.Second)
					targets, unprocessed := tg.Compute(rules, []Statistics{{
						RuleName: "api", ClientID: clientID(i), Timestamp: clock.t.Truncate(time.Second),
						RequestCount: demand(i, at), SampledCount: 1,
					}})
					if len(targets) != 1 || len(unprocessed) != 0 {
						t.Fatalf("at %v client %d: Compute = %+v, %+v; want one target", at, i, targets, unprocessed)
					}
					got := targets[0]
					if got.RuleName != "api" || got.Interval != 10 || got.FixedRate != 0.1 || got.ReservoirQuota < 0 ||
						!got.ReservoirQuotaTTL.Equal(clock.t.Add(ttl).Truncate(time.Second)) {
						t.Fatalf("at %v client %d: target %+v", at, i, got)
					}
					c.target, c.has = got, true
					reports++
				}
				sum := 0
				for _, c := range clients {
					if usable(c, clock.t) {
						sum += c.target.ReservoirQuota
					}
				}
				if sum > reservoir {
					t.Fatalf("at %v: usable quotas sum to %d, reservoir %d", at, sum, reservoir)
				}
				if at == stop-100*time.Millisecond {
					before = clients[0].target.ReservoirQuota
				}
			}
			if reports < n*60 {
				t.Errorf("only %d reports from %d clients", reports, n)
			}
			if got := clients[0].target.ReservoirQuota; got != reservoir {
				t.Errorf("client 0 quota after the others stopped = %d, want the whole reservoir %d", got, reservoir)
			}
			if n > 1 && reservoir > 0 && before >= reservoir {
				t.Errorf("client 0 quota while sharing = %d, want less than %d", before, reservoir)
			}
			if n > 1 && before > 0 {
				// With room for everyone, client 0 should get at least its fair minimum.
				if fair := reservoir / n; before < fair {
					t.Errorf("client 0 quota while sharing = %d, want at least fair %d", before, fair)
				}
			}
		})
	}
	run(1, 10, time.Minute)
	run(3, 10, time.Minute)
	run(3, 10, 20*time.Second)
	run(20, 10, time.Minute)
	run(20, 50, 5*time.Minute)
	run(20, 0, time.Minute)
}

func TestTargetsJoinConverges(t *testing.T) {
	// §5.4's example: three clients arriving one after another on a
	// reservoir of 6 must never hold more than 6, and converge to 2 each.
	clock := &fakeClock{epoch}
	tg := newTestTargets(t, clock, time.Minute)
	rules := []Rule{testRule("r", 6)}
	held := map[int]Target{}
	report := func(i int) {
		targets, _ := tg.Compute(rules, []Statistics{{RuleName: "r", ClientID: clientID(i), RequestCount: 1000}})
		held[i] = targets[0]
	}
	sum := func() int {
		s := 0
		for _, tg := range held {
			if clock.t.Unix() <= tg.ReservoirQuotaTTL.Unix() {
				s += tg.ReservoirQuota
			}
		}
		return s
	}
	for round := 0; round < 5; round++ {
		for i := 0; i < 3; i++ {
			clock.t = epoch.Add(time.Duration(round)*10*time.Second + time.Duration(i)*time.Second)
			report(i)
			if s := sum(); s > 6 {
				t.Fatalf("round %d client %d: held quotas sum to %d > 6", round, i, s)
			}
		}
	}
	for i := 0; i < 3; i++ {
		if got := held[i].ReservoirQuota; got != 2 {
			t.Errorf("client %d quota = %d, want 2", i, got)
		}
	}
}
