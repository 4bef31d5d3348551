package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
)

// TestNodeSDKCentralizedSampling runs three processes of npm's
// aws-xray-sdk-core (test/node/sampling.js: the SDK's default centralized
// sampler, AWS_XRAY_DAEMON_ADDRESS pointed at Fluoro) against rules created
// through aws-sdk-go-v2. Each picks up the rules at its first fetch, samples
// a reservoir-0 rule at its FixedRate, reports statistics (seen in
// GetSamplingStatisticSummaries) and accepts Fluoro's targets; the quotas
// the three SDKs loaded sum to at most the rule's reservoir of 2.
//
// aws-xray-sdk-core 3.12.0 reads ReservoirQuotaTTL with `new Date(n)`, as
// milliseconds; against X-Ray's epoch seconds every quota looks expired and
// each process borrows one request per second. Fluoro recognises the SDK and
// sends it milliseconds (api.nodeSDKQuirk), so the three processes together
// must stay within the reservoir in every second.
func TestNodeSDKCentralizedSampling(t *testing.T) {
	t.Parallel()
	dir := nodeFixture(t)
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	api := apiClient(s)
	const reservoir = 2
	createRule(t, api, "node-checkout", 10, "node-shop", "/checkout/*", reservoir, 0)
	createRule(t, api, "node-browse", 20, "node-shop", "/browse/*", 0, 0.3)
	env := []string{fmt.Sprintf("FLUORO_DAEMON=tcp:%s udp:%s", s.HTTPAddr(), s.UDPAddr())}

	type result struct {
		ClientID      string
		FirstTargetMs int64
		Browse        struct {
			Tries, Sampled int
			Rules          map[string]int
		}
		Checkout  map[string][2]int
		Reservoir struct {
			Quota *int
			TTL   float64
		}
	}
	const n = 3
	results := make([]result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := runNode(t, dir, env, "sampling.js")
			if err == nil {
				err = json.Unmarshal(out, &results[i])
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}

	var from, to int64 = 0, 1 << 62
	perSecond := map[int64]int{}
	perProcess := make([]map[int64]int, n)
	ids := map[string]bool{}
	quotas := 0
	ttlRead := true
	for i, r := range results {
		ids[r.ClientID] = true
		if b := r.Browse; b.Sampled < 800 || b.Sampled > 1000 || b.Rules["node-browse"] != b.Sampled {
			t.Errorf("process %d: rule node-browse (rate 0.3, reservoir 0) sampled %d of %d (by rule %v), want 800 to 1000", i, b.Sampled, b.Tries, b.Rules)
		}
		if r.Reservoir.Quota != nil {
			quotas += *r.Reservoir.Quota
		}
		if r.Reservoir.TTL < float64(time.Now().Unix()-3600) {
			ttlRead = false
			t.Errorf("process %d read its quota's TTL as %v (epoch seconds), long expired: the SDK quirk is not served", i, r.Reservoir.TTL)
		}
		// Count from the second after the last process got its first targets,
		// up to the last whole second every process measured.
		from = max(from, (r.FirstTargetMs+100)/1000+1)
		last := int64(0)
		perProcess[i] = map[int64]int{}
		for sec, c := range r.Checkout {
			s, _ := strconv.ParseInt(sec, 10, 64)
			last = max(last, s)
			perSecond[s] += c[1]
			perProcess[i][s] += c[1]
		}
		to = min(to, last)
	}
	if len(ids) != n {
		t.Errorf("client IDs %v, want %d distinct", ids, n)
	}
	if quotas < 1 || quotas > reservoir {
		t.Errorf("the SDKs loaded quotas summing to %d, want 1 to %d", quotas, reservoir)
	}
	// The statistics the SDKs reported reached Fluoro.
	sums, err := api.GetSamplingStatisticSummaries(context.Background(), &awsxray.GetSamplingStatisticSummariesInput{})
	if err != nil {
		t.Fatal(err)
	}
	reported := 0
	for _, x := range sums.SamplingStatisticSummaries {
		if aws.ToString(x.RuleName) == "node-checkout" {
			reported += int(x.RequestCount)
		}
	}
	if reported == 0 {
		t.Errorf("no node-checkout statistics in GetSamplingStatisticSummaries: %+v", sums.SamplingStatisticSummaries)
	}

	total, seconds := 0, 0
	for sec := from; sec < to; sec++ {
		seconds++
		total += perSecond[sec]
		switch {
		case ttlRead && perSecond[sec] > reservoir:
			t.Errorf("second %d: the %d Node processes sampled %d checkout requests, reservoir %d", sec, n, perSecond[sec], reservoir)
		case !ttlRead:
			for i := range perProcess {
				if perProcess[i][sec] > 1 {
					t.Errorf("second %d: process %d sampled %d checkout requests with an expired quota, want at most its one borrowed", sec, i, perProcess[i][sec])
				}
			}
		}
	}
	t.Logf("%d Node SDK processes sampled %d requests in %d seconds (reservoir %d/s, quotas loaded %d, TTL read right %v)", n, total, seconds, reservoir, quotas, ttlRead)
	if seconds < 3 || total < seconds {
		t.Errorf("the processes sampled %d requests in %d shared seconds, want at least one per second", total, seconds)
	}
}
