package sampling

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// sdkReservoir is the Go SDK's CentralizedReservoir (aws-xray-sdk-go
// strategy/sampling/reservoir.go) for one rule in one client: a quota used
// per epoch second until its TTL's second has passed, and one borrowed
// request per second while there is no valid quota.
type sdkReservoir struct {
	capacity  int
	quota     int
	expiresAt int64 // epoch second
	epoch     int64
	used      int
	borrowed  bool
	requests  int // since the last report
	sampled   int
	borrows   int
}

// sample decides one request at now; it returns whether the request was
// taken from the quota and whether it was borrowed.
func (r *sdkReservoir) sample(now time.Time) (took, borrowed bool) {
	sec := now.Unix()
	if sec != r.epoch {
		r.epoch, r.used, r.borrowed = sec, 0, false
	}
	r.requests++
	if sec > r.expiresAt { // expired: borrow one per second
		if !r.borrowed && r.capacity != 0 {
			r.borrowed = true
			r.borrows++
			return false, true
		}
		r.borrowed = true
		return false, false
	}
	if r.quota > r.used {
		r.used++
		r.sampled++
		return true, false
	}
	return false, false
}

// TestFleetSDKSemantics simulates fleets of clients that behave like the Go
// SDK (per-second quota use across quota changes, borrowing before the first
// target, reports only for rules that saw requests, polls every 10.1 s with
// jitter) on three rules at once, for an hour of simulated time with clients
// joining, leaving and changing their traffic. In every epoch second and for
// every rule, the requests taken from quotas by the whole fleet never exceed
// the rule's reservoir; while demand exceeds the reservoir the fleet uses
// most of it; and when clients leave, the ones that stay take over their
// share within TTL plus two intervals.
func TestFleetSDKSemantics(t *testing.T) {
	run := func(seed uint64, clients int, ttl time.Duration) {
		t.Run(fmt.Sprintf("seed=%d/clients=%d/ttl=%v", seed, clients, ttl), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 1))
			clock := &fakeClock{epoch}
			tg := newTestTargets(t, clock, ttl)
			rules := []Rule{testRule("one", 1), testRule("seven", 7), testRule("forty", 40), DefaultRule()}
			rules[1].Priority, rules[2].Priority = 200, 300
			const step = 20 * time.Millisecond
			const duration = time.Hour
			type sim struct {
				id         string
				join, quit time.Duration
				nextPoll   time.Time
				rate       [3]float64 // requests per second per rule
				carry      [3]float64
				res        [3]*sdkReservoir
			}
			fleet := make([]*sim, clients)
			for i := range fleet {
				c := &sim{id: clientID(i), quit: duration}
				if i%4 == 3 { // a quarter join late
					c.join = time.Duration(rnd.Int64N(int64(20 * time.Minute)))
				}
				if i%5 == 4 { // a fifth leave early
					c.quit = c.join + 10*time.Minute + time.Duration(rnd.Int64N(int64(20*time.Minute)))
				}
				c.nextPoll = epoch.Add(c.join + 10*time.Second + time.Duration(rnd.Int64N(int64(200*time.Millisecond))))
				for k := range c.res {
					c.res[k] = &sdkReservoir{capacity: rules[k].ReservoirSize}
				}
				fleet[i] = c
			}
			var taken [3]map[int64]int
			for k := range taken {
				taken[k] = map[int64]int{}
			}
			var demandSecs, usedSecs [3]int
			for at := time.Duration(0); at < duration; at += step {
				now := epoch.Add(at)
				clock.t = now
				if at%(5*time.Minute) == 0 { // traffic changes every 5 minutes
					for _, c := range fleet {
						for k := range c.rate {
							c.rate[k] = float64(rnd.IntN(4)) * rnd.Float64() * 8 // 0 to 24 req/s, often 0
						}
					}
				}
				for _, c := range fleet {
					if at < c.join || at >= c.quit {
						continue
					}
					for k, r := range c.res {
						c.carry[k] += c.rate[k] * step.Seconds()
						for ; c.carry[k] >= 1; c.carry[k]-- {
							if took, _ := r.sample(now); took {
								taken[k][now.Unix()]++
							}
						}
					}
					if now.Before(c.nextPoll) {
						continue
					}
					c.nextPoll = now.Add(10*time.Second + 100*time.Millisecond + time.Duration(rnd.Int64N(int64(100*time.Millisecond))))
					var stats []Statistics
					for k, r := range c.res {
						if r.requests == 0 {
							continue
						}
						stats = append(stats, Statistics{RuleName: rules[k].RuleName, ClientID: c.id, Timestamp: now,
							RequestCount: r.requests, SampledCount: r.sampled, BorrowCount: r.borrows})
						r.requests, r.sampled, r.borrows = 0, 0, 0
					}
					targets, unprocessed := tg.Compute(rules, stats)
					if len(unprocessed) != 0 || len(targets) != len(stats) {
						t.Fatalf("at %v: Compute = %v, %v", at, targets, unprocessed)
					}
					for _, tgt := range targets {
						for k := range c.res {
							if rules[k].RuleName == tgt.RuleName {
								c.res[k].quota, c.res[k].expiresAt = tgt.ReservoirQuota, tgt.ReservoirQuotaTTL.Unix()
							}
						}
					}
				}
				if (at+step)%time.Second == 0 { // a second ends: check it
					sec := now.Unix()
					for k := range taken {
						if n := taken[k][sec]; n > rules[k].ReservoirSize {
							t.Fatalf("rule %s, second %d (%v in): the fleet took %d from quotas, reservoir %d",
								rules[k].RuleName, sec-epoch.Unix(), at.Truncate(time.Second), n, rules[k].ReservoirSize)
						}
						// Utilisation, away from the joins and the first polls.
						demand := 0.0
						for _, c := range fleet {
							if at >= c.join+time.Minute && at < c.quit {
								demand += c.rate[k]
							}
						}
						if at > 21*time.Minute && demand >= 2*float64(rules[k].ReservoirSize) && at%(5*time.Minute) > time.Minute {
							demandSecs[k]++
							usedSecs[k] += taken[k][sec]
						}
						delete(taken[k], sec)
					}
				}
			}
			for k := range rules[:3] {
				if demandSecs[k] == 0 {
					continue
				}
				use := float64(usedSecs[k]) / float64(demandSecs[k]*rules[k].ReservoirSize)
				t.Logf("rule %s: %.0f%% of the reservoir used over %d busy seconds", rules[k].RuleName, 100*use, demandSecs[k])
				if use < 0.6 {
					t.Errorf("rule %s: the fleet used %.0f%% of the reservoir while demand was at least twice it", rules[k].RuleName, 100*use)
				}
			}
		})
	}
	run(1, 8, time.Minute)
	run(2, 40, time.Minute)
	run(3, 40, 20*time.Second)
	if !testing.Short() {
		run(4, 100, 2*time.Minute)
	}
}

// TestDepartedClientReleasesShare: two clients split a reservoir; when one
// stops reporting, its share stays reserved exactly as long as it may still
// use its quota (through its TTL's second), and the other gets the whole
// reservoir at its first poll after that.
func TestDepartedClientReleasesShare(t *testing.T) {
	for _, ttl := range []time.Duration{20 * time.Second, time.Minute, 5 * time.Minute} {
		clock := &fakeClock{epoch}
		tg := newTestTargets(t, clock, ttl)
		rules := []Rule{testRule("r", 10)}
		poll := func(id int) Target {
			targets, _ := tg.Compute(rules, []Statistics{{RuleName: "r", ClientID: clientID(id), RequestCount: 1000}})
			return targets[0]
		}
		var lastB Target
		for round := 0; round < 4; round++ { // converge to 5 and 5
			clock.t = epoch.Add(time.Duration(round) * 10 * time.Second)
			poll(0)
			clock.t = clock.t.Add(5 * time.Second)
			lastB = poll(1)
		}
		if lastB.ReservoirQuota != 5 {
			t.Fatalf("ttl %v: client 1 quota %d, want 5", ttl, lastB.ReservoirQuota)
		}
		// Client 1 is gone; client 0 keeps polling every 10 s.
		released := lastB.ReservoirQuotaTTL.Add(time.Second) // client 1 uses its quota through this second
		for at := epoch.Add(40 * time.Second); at.Before(released.Add(11 * time.Second)); at = at.Add(10 * time.Second) {
			clock.t = at
			got := poll(0).ReservoirQuota
			switch {
			case at.Before(released) && got != 5:
				t.Errorf("ttl %v, %v after client 1 left: client 0 quota %d, want 5 while client 1 may use its quota", ttl, at.Sub(epoch.Add(35*time.Second)), got)
			case !at.Before(released) && got != 10:
				t.Errorf("ttl %v, %v after client 1 left: client 0 quota %d, want the whole reservoir", ttl, at.Sub(epoch.Add(35*time.Second)), got)
			}
		}
	}
}
