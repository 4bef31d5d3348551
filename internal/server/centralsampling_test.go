package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
	xsampling "github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/aws-xray-sdk-go/xraylog"

	"github.com/fluoro-dev/fluoro/internal/server"
)

func createRule(t *testing.T, c *awsxray.Client, name string, priority int32, service, path string, reservoir int32, rate float64) {
	t.Helper()
	_, err := c.CreateSamplingRule(context.Background(), &awsxray.CreateSamplingRuleInput{SamplingRule: &types.SamplingRule{
		RuleName: aws.String(name), Priority: aws.Int32(priority), FixedRate: rate, ReservoirSize: reservoir,
		ServiceName: aws.String(service), ServiceType: aws.String("*"), Host: aws.String("*"), HTTPMethod: aws.String("*"),
		URLPath: aws.String(path), ResourceARN: aws.String("*"), Version: aws.Int32(1),
	}})
	if err != nil {
		t.Fatalf("CreateSamplingRule %s: %v", name, err)
	}
}

// targetWatch is a transparent reverse proxy in front of Fluoro's HTTP port
// that notes when each client (by ClientID) has received a
// GetSamplingTargets answer. The SDKs talk to Fluoro through it unchanged.
type targetWatch struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]time.Time // client ID → first targets answer
}

func watchTargets(t *testing.T, s *server.Server) *targetWatch {
	w := &targetWatch{got: map[string]time.Time{}}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: s.HTTPAddr().String()})
	proxy.ErrorLog = log.New(io.Discard, "", 0) // the SDKs keep polling after the test stops the server
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/SamplingTargets" {
			proxy.ServeHTTP(rw, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(rw, r)
		var in struct{ SamplingStatisticsDocuments []struct{ ClientID string } }
		json.Unmarshal(body, &in)
		w.mu.Lock()
		for _, d := range in.SamplingStatisticsDocuments {
			if _, ok := w.got[d.ClientID]; !ok {
				w.got[d.ClientID] = time.Now()
			}
		}
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// clients returns how many clients have had targets, and the latest time
// one of them got its first.
func (w *targetWatch) clients() (int, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var last time.Time
	for _, at := range w.got {
		if at.After(last) {
			last = at
		}
	}
	return len(w.got), last
}

// TestXRaySDKCentralizedSampling runs four instances of aws-xray-sdk-go's
// default (centralized) sampling strategy, configured the SDK's way with
// xray.Config{DaemonAddr: "tcp:… udp:…"}, against Fluoro. Rules created
// through aws-sdk-go-v2 are picked up at the SDK's first rule fetch; a rule
// with reservoir 0 samples at its FixedRate; once every client has had its
// first targets (the SDK polls every 10 s), the four clients together never
// sample more than the rule's reservoir of 3 per second, and use it; a rate
// change made through the API reaches them through LastRuleModification at
// their next targets poll. The test waits for the SDK's own polls (about
// 20 s), it does not shorten them: the SDK has no setting for its intervals.
func TestXRaySDKCentralizedSampling(t *testing.T) {
	t.Parallel()
	xray.SetLogger(xraylog.NewDefaultLogger(io.Discard, xraylog.LogLevelError))
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	api := apiClient(s)
	const reservoir = 3
	createRule(t, api, "checkout", 10, "shop", "/checkout/*", reservoir, 0)
	createRule(t, api, "browse", 20, "shop", "/browse/*", 0, 0.3)
	watch := watchTargets(t, s)
	daemon := fmt.Sprintf("tcp:%s udp:%s", watch.srv.Listener.Addr(), s.UDPAddr())

	const n = 4
	strategies := make([]*xsampling.CentralizedStrategy, n)
	for i := range strategies {
		ss, err := xsampling.NewCentralizedStrategy()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := xray.ContextWithConfig(context.Background(), xray.Config{DaemonAddr: daemon, SamplingStrategy: ss}); err != nil {
			t.Fatalf("configure the SDK: %v", err)
		}
		strategies[i] = ss
	}
	checkout := &xsampling.Request{Host: "shop.example.com", Method: "POST", URL: "/checkout/cart", ServiceName: "shop"}
	browse := &xsampling.Request{Host: "shop.example.com", Method: "GET", URL: "/browse/shoes", ServiceName: "shop"}
	decide := func(ss *xsampling.CentralizedStrategy, r xsampling.Request) (bool, string) {
		d := ss.ShouldTrace(&r)
		return d.Sample, aws.ToString(d.Rule)
	}
	// The first decision starts the pollers; the rules arrive with the first fetch.
	for i, ss := range strategies {
		eventually(t, fmt.Sprintf("client %d uses rule checkout", i), func() error {
			if _, rule := decide(ss, *checkout); rule != "checkout" {
				return fmt.Errorf("decided by rule %q", rule)
			}
			return nil
		})
	}
	// FixedRate: 30% of the browse requests, within four standard deviations.
	sampled := 0
	const tries = 3000
	for range tries {
		ok, rule := decide(strategies[0], *browse)
		if rule != "browse" {
			t.Fatalf("a browse request was decided by rule %q", rule)
		}
		if ok {
			sampled++
		}
	}
	if sampled < 800 || sampled > 1000 {
		t.Errorf("rule browse (rate 0.3, reservoir 0) sampled %d of %d, want 800 to 1000", sampled, tries)
	}

	// Every client sends 100 checkout requests per second from now on.
	type decision struct {
		at      time.Time
		sampled bool
	}
	var mu sync.Mutex
	var decisions []decision
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, ss := range strategies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				ok, _ := decide(ss, *checkout)
				mu.Lock()
				decisions = append(decisions, decision{time.Now(), ok})
				mu.Unlock()
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()

	// Wait for every client's first targets, then change browse's rate.
	deadline := time.Now().Add(30 * time.Second)
	var lastFirst time.Time
	for {
		got, last := watch.clients()
		if got == n {
			lastFirst = last
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s only %d of %d SDK clients have asked for targets", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := api.UpdateSamplingRule(context.Background(), &awsxray.UpdateSamplingRuleInput{
		SamplingRuleUpdate: &types.SamplingRuleUpdate{RuleName: aws.String("browse"), FixedRate: aws.Float64(1)}}); err != nil {
		t.Fatal(err)
	}
	// The SDK applies a target after its response arrives: count from the
	// next whole second on.
	from := lastFirst.Add(100 * time.Millisecond).Truncate(time.Second).Add(time.Second).Unix()
	eventually30 := time.Now().Add(30 * time.Second)
	for {
		if ok, _ := decide(strategies[0], *browse); ok {
			all := true
			for range 50 {
				if ok, _ := decide(strategies[0], *browse); !ok {
					all = false
				}
			}
			if all {
				break
			}
		}
		if time.Now().After(eventually30) {
			t.Fatalf("browse's new FixedRate 1 did not reach the SDK within 30 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// At least four whole seconds of the fleet at full quota.
	for time.Now().Unix() < from+5 {
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	wg.Wait()
	perSecond := map[int64]int{}
	requests := map[int64]int{}
	for _, d := range decisions {
		sec := d.at.Unix()
		requests[sec]++
		if d.sampled {
			perSecond[sec]++
		}
	}
	total, seconds := 0, 0
	last := time.Now().Unix() // the current second is incomplete
	for sec := from; sec < last; sec++ {
		seconds++
		total += perSecond[sec]
		if perSecond[sec] > reservoir {
			t.Errorf("second %d: the %d SDK clients sampled %d of %d requests, reservoir %d", sec, n, perSecond[sec], requests[sec], reservoir)
		}
	}
	t.Logf("%d SDK clients sampled %d requests in %d seconds (reservoir %d/s)", n, total, seconds, reservoir)
	if seconds < 4 || total < 2*seconds {
		t.Errorf("the fleet sampled %d requests in %d seconds, want at least 2 per second from the reservoir of %d", total, seconds, reservoir)
	}
}
