package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"

	"github.com/fluoro-dev/fluoro/internal/daemon"
)

// TestSamplingProxyMechanics: the SDKs' sampling calls on the daemon's TCP
// port reach the server unchanged (path, body, signature headers) and its
// answer comes back unchanged. The upstream here is a recording stand-in
// that answers as X-Ray does, to see exactly what the proxy forwards; it
// checks the proxy's mechanics only. TestSamplingThroughDaemonToServer runs
// the same calls against the real server.
func TestSamplingProxyMechanics(t *testing.T) {
	type seen struct {
		path, body, auth, host string
	}
	var mu sync.Mutex
	var calls []seen
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, seen{r.URL.Path, string(b), r.Header.Get("Authorization"), r.Host})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/GetSamplingRules":
			io.WriteString(w, `{"SamplingRuleRecords":[{"CreatedAt":1.7e9,"ModifiedAt":1.7e9,"SamplingRule":{"RuleName":"Default","RuleARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Default","ResourceARN":"*","Priority":10000,"FixedRate":0.05,"ReservoirSize":1,"ServiceName":"*","ServiceType":"*","Host":"*","HTTPMethod":"*","URLPath":"*","Version":1,"Attributes":{}}}]}`)
		case "/SamplingTargets":
			io.WriteString(w, `{"SamplingTargetDocuments":[{"RuleName":"Default","FixedRate":0.05,"ReservoirQuota":1,"ReservoirQuotaTTL":1.7e9,"Interval":10}],"LastRuleModification":1.7e9,"UnprocessedStatistics":[]}`)
		default:
			w.WriteHeader(404)
		}
	}))
	defer up.Close()
	d, err := daemon.Start(testDaemon(t, up.URL), testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())

	client := apiClient("http://" + d.TCPAddr().String())
	rules, err := client.GetSamplingRules(context.Background(), &awsxray.GetSamplingRulesInput{})
	if err != nil {
		t.Fatalf("GetSamplingRules through the daemon: %v", err)
	}
	if len(rules.SamplingRuleRecords) != 1 || aws.ToString(rules.SamplingRuleRecords[0].SamplingRule.RuleName) != "Default" {
		t.Fatalf("rules = %+v", rules.SamplingRuleRecords)
	}
	targets, err := client.GetSamplingTargets(context.Background(), &awsxray.GetSamplingTargetsInput{
		SamplingStatisticsDocuments: []types.SamplingStatisticsDocument{{
			ClientID: aws.String("0123456789abcdef01234567"), RuleName: aws.String("Default"),
			RequestCount: 10, SampledCount: 1, BorrowCount: 0,
			Timestamp: aws.Time(time.Unix(1_700_000_000, 0)),
		}},
	})
	if err != nil {
		t.Fatalf("GetSamplingTargets through the daemon: %v", err)
	}
	if len(targets.SamplingTargetDocuments) != 1 || aws.ToInt32(targets.SamplingTargetDocuments[0].Interval) != 10 {
		t.Fatalf("targets = %+v", targets.SamplingTargetDocuments)
	}
	mu.Lock()
	if len(calls) != 2 || calls[0].path != "/GetSamplingRules" || calls[1].path != "/SamplingTargets" {
		t.Fatalf("upstream saw %+v", calls)
	}
	if !strings.Contains(calls[1].body, `"RuleName":"Default"`) || !strings.Contains(calls[1].body, `"RequestCount":10`) {
		t.Errorf("SamplingTargets body changed on the way: %s", calls[1].body)
	}
	if !strings.HasPrefix(calls[0].auth, "AWS4-HMAC-SHA256 ") {
		t.Errorf("the client's signature was not forwarded: %q", calls[0].auth)
	}
	if want := strings.TrimPrefix(up.URL, "http://"); calls[0].host != want {
		t.Errorf("Host = %q, want the upstream's %q", calls[0].host, want)
	}
	mu.Unlock()

	// The server down: an X-Ray-shaped error the SDK understands.
	up.Close()
	_, err = client.GetSamplingRules(context.Background(), &awsxray.GetSamplingRulesInput{})
	if err == nil || !strings.Contains(err.Error(), "ServiceUnavailableException") {
		t.Fatalf("with the server down: %v, want ServiceUnavailableException", err)
	}
	m := scrape(t, "http://"+d.TCPAddr().String()+"/metrics")
	if m[`fluoro_daemon_proxy_requests_total{code="200",path="/GetSamplingRules"}`] != 1 ||
		m[`fluoro_daemon_proxy_requests_total{code="502",path="/GetSamplingRules"}`] == 0 {
		t.Errorf("proxy counters: %v", m)
	}
}

// TestProxyToServer: any X-Ray API call on the daemon's TCP port reaches the
// real server; here the AWS SDK writes and reads a trace through it.
func TestProxyToServer(t *testing.T) {
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := startServer(t, t.TempDir(), httpAddr)
	defer srv.Shutdown(context.Background())
	d, err := daemon.Start(testDaemon(t, "http://"+httpAddr), testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	client := apiClient("http://" + d.TCPAddr().String())
	doc := docFor(7, 0)
	out, err := client.PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{doc}})
	if err != nil || len(out.UnprocessedTraceSegments) != 0 {
		t.Fatalf("PutTraceSegments through the daemon: %v %+v", err, out)
	}
	traceID := doc[len(`{"trace_id":"`):strings.Index(doc, `","id"`)]
	eventually(t, "trace readable through the daemon", func() error {
		got, err := client.BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: []string{traceID}})
		if err != nil {
			return err
		}
		if len(got.Traces) != 1 {
			return fmt.Errorf("%d traces", len(got.Traces))
		}
		return nil
	})
	resp, err := http.Get("http://" + d.TCPAddr().String() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
}

// TestTelemetryReachesServer: the daemon's PutTelemetryRecords are accepted
// by the server and counted in its /metrics by hostname.
func TestTelemetryReachesServer(t *testing.T) {
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := startServer(t, t.TempDir(), httpAddr)
	defer srv.Shutdown(context.Background())
	cfg := testDaemon(t, "http://"+httpAddr)
	cfg.TelemetryInterval = 50 * time.Millisecond
	d, err := daemon.Start(cfg, testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	var dg []string
	for i := range 20 {
		dg = append(dg, header+docFor(i, 0))
	}
	dg = append(dg, `{"format":"xml","version":1}`+"\n<x/>")
	sendUDP(t, d.UDPAddr().String(), dg...)
	serverMetrics := "http://" + httpAddr + "/metrics"
	base := `fluoro_api_daemon_segments_total{hostname="e2e-host",kind="%s",resource=""}`
	waitMetric(t, serverMetrics, fmt.Sprintf(base, "received"), 21)
	waitMetric(t, serverMetrics, fmt.Sprintf(base, "sent"), 20)
	waitMetric(t, serverMetrics, fmt.Sprintf(base, "rejected"), 1)
}

// TestSamplingThroughDaemonToServer: the AWS SDK's sampling calls, made to
// the daemon's TCP port as the X-Ray SDKs make them, are answered by the
// real server's sampling API: the Default rule and a target for it.
func TestSamplingThroughDaemonToServer(t *testing.T) {
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := startServer(t, t.TempDir(), httpAddr)
	defer srv.Shutdown(context.Background())
	d, err := daemon.Start(testDaemon(t, "http://"+httpAddr), testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	client := apiClient("http://" + d.TCPAddr().String())
	rules, err := client.GetSamplingRules(context.Background(), &awsxray.GetSamplingRulesInput{})
	if err != nil {
		t.Fatalf("GetSamplingRules through the daemon: %v", err)
	}
	var def *types.SamplingRule
	for _, r := range rules.SamplingRuleRecords {
		if aws.ToString(r.SamplingRule.RuleName) == "Default" {
			def = r.SamplingRule
		}
	}
	if def == nil || aws.ToInt32(def.Priority) != 10000 || def.FixedRate != 0.05 || def.ReservoirSize != 1 {
		t.Fatalf("Default rule through the daemon = %+v, want priority 10000, 5%%, 1/s", def)
	}
	targets, err := client.GetSamplingTargets(context.Background(), &awsxray.GetSamplingTargetsInput{
		SamplingStatisticsDocuments: []types.SamplingStatisticsDocument{{
			ClientID: aws.String("0123456789abcdef01234567"), RuleName: aws.String("Default"),
			RequestCount: 10, SampledCount: 1, BorrowCount: 0, Timestamp: aws.Time(time.Now()),
		}},
	})
	if err != nil {
		t.Fatalf("GetSamplingTargets through the daemon: %v", err)
	}
	if len(targets.SamplingTargetDocuments) != 1 || aws.ToString(targets.SamplingTargetDocuments[0].RuleName) != "Default" ||
		targets.LastRuleModification == nil {
		t.Fatalf("targets through the daemon = %+v", targets)
	}
}
