package sampling

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// benchRules returns 24 rules plus Default: a full account's worth.
func benchRules() []Rule {
	rules := []Rule{DefaultRule()}
	for i := range MaxRules - 1 {
		r := DefaultRule()
		r.RuleName, r.Priority, r.ReservoirSize, r.FixedRate = fmt.Sprintf("rule-%02d", i), 100+i, 10+i*7, 0.05
		r.ServiceName, r.URLPath = fmt.Sprintf("svc-%d", i%6), fmt.Sprintf("/api/v%d/*", i)
		rules = append(rules, r)
	}
	return rules
}

// BenchmarkTargets measures one GetSamplingTargets call (Targets.Compute) of
// a client reporting all 25 rules while 1,000 clients report every rule:
// the clients take turns, the clock advancing 10 ms per call so that each
// reports every 10 s as the SDKs do. It reports the median and p99 latency
// of a call.
func BenchmarkTargets(b *testing.B) {
	const clients = 1000
	rules := benchRules()
	clock := &fakeClock{epoch}
	tg, err := NewTargets(TargetsConfig{Now: clock.now})
	if err != nil {
		b.Fatal(err)
	}
	docs := func(c int) []Statistics {
		stats := make([]Statistics, len(rules))
		for k, r := range rules {
			stats[k] = Statistics{RuleName: r.RuleName, ClientID: clientID(c), Timestamp: clock.t,
				RequestCount: 50 + (c*31+k*17)%400, SampledCount: 3, BorrowCount: 0}
		}
		return stats
	}
	for c := range clients { // every client known on every rule
		clock.t = clock.t.Add(10 * time.Millisecond)
		tg.Compute(rules, docs(c))
	}
	all := make([][]Statistics, clients)
	for c := range all {
		all[c] = docs(c)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		clock.t = clock.t.Add(10 * time.Millisecond)
		start := time.Now()
		targets, _ := tg.Compute(rules, all[i%clients])
		lat = append(lat, time.Since(start))
		if len(targets) != len(rules) {
			b.Fatalf("%d targets", len(targets))
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs/call")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs/call")
}

// BenchmarkSelect measures choosing the rule for one request among 25 rules
// (the request matches the 20th rule by priority).
func BenchmarkSelect(b *testing.B) {
	rules := benchRules()
	sort.Slice(rules, func(i, j int) bool { return before(rules[i], rules[j]) })
	req := Request{ServiceName: "svc-1", ServiceType: "AWS::EC2::Instance", Host: "api.example.com",
		HTTPMethod: "GET", URLPath: "/api/v19/orders/42", ResourceARN: "arn:aws:ec2:eu-west-1:1:instance/i-1"}
	if got := Select(rules, req).RuleName; got != "rule-19" {
		b.Fatalf("Select = %s", got)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		Select(rules, req)
	}
}
