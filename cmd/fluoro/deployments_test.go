package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"

	"github.com/fluoro-dev/fluoro/internal/deploy"
	"github.com/fluoro-dev/fluoro/internal/server"
	"github.com/fluoro-dev/fluoro/internal/server/servertest"
)

// sdkEmitter sends requests as the X-Ray SDK for Go reports them: each a
// segment begun with xray.BeginSegment, serialised and sent over UDP by the
// SDK's own emitter. The SDK stamps a segment with the time it runs; these
// carry the time the request is said to have happened instead, so that a
// test can lay traffic out before and after a deployment marker in the past
// without waiting for it.
type sdkEmitter struct {
	ctx  context.Context
	emit *xray.DefaultEmitter
}

func newSDKEmitter(t *testing.T, udp net.Addr) *sdkEmitter {
	t.Helper()
	rules, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2, "default": {"fixed_target": 0, "rate": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	addr := udp.(*net.UDPAddr)
	em, err := xray.NewDefaultEmitter(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := xray.ContextWithConfig(context.Background(), xray.Config{DaemonAddr: addr.String(), SamplingStrategy: rules, Emitter: em})
	if err != nil {
		t.Fatal(err)
	}
	return &sdkEmitter{ctx: ctx, emit: em}
}

// request sends one request served by service at start, lasting d, with
// the HTTP status.
func (e *sdkEmitter) request(service string, start time.Time, d time.Duration, status int) {
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	_, seg := xray.BeginSegment(ctx, service)
	var rnd [12]byte
	rand.Read(rnd[:])
	seg.Lock()
	seg.TraceID = fmt.Sprintf("1-%08x-%s", start.Unix(), hex.EncodeToString(rnd[:]))
	seg.StartTime = float64(start.UnixNano()) / 1e9
	seg.EndTime = float64(start.Add(d).UnixNano()) / 1e9
	seg.GetHTTP().GetRequest().Method = "POST"
	seg.GetHTTP().GetRequest().URL = "https://" + service + ".internal/orders"
	seg.GetHTTP().GetResponse().Status = status
	seg.Fault, seg.Throttle, seg.Error = status >= 500, status == 429, status >= 400 && status < 500
	e.emit.Emit(seg)
	seg.Emitted = true // the segment's context ending must not send it again
	seg.Unlock()
}

// traffic sends n requests spread evenly over [from, from+span), the i-th
// a fault when fault(i), with response times cycling through a fixed set
// (so two windows of equal n have equal percentiles).
func (e *sdkEmitter) traffic(service string, from time.Time, span time.Duration, n int, fault func(i int) bool) {
	lat := []time.Duration{20 * time.Millisecond, 30 * time.Millisecond, 45 * time.Millisecond, 60 * time.Millisecond, 180 * time.Millisecond}
	for i := range n {
		status := 200
		if fault(i) {
			status = 503
		}
		e.request(service, from.Add(span*time.Duration(i)/time.Duration(n)), lat[i%len(lat)], status)
	}
}

// countSegments polls the gate's source until service has want requests in
// [from, to), by way of GetServiceGraph.
func waitRequests(t *testing.T, ep, service string, from, to time.Time, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got int64
	for time.Now().Before(deadline) {
		body := fmt.Sprintf(`{"StartTime":%d,"EndTime":%d}`, from.Unix(), to.Unix())
		resp, err := http.Post(ep+"/ServiceGraph", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Services []mapService }
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		got = 0
		for _, s := range out.Services {
			if s.Name == service && s.SummaryStatistics != nil {
				got += s.SummaryStatistics.TotalCount
			}
		}
		if got >= want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %d of %d requests counted in time", service, got, want)
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

func startDeployServer(t *testing.T, dir string, offset *atomic.Int64) *server.Server {
	t.Helper()
	cfg := servertest.Config()
	cfg.Data = dir
	cfg.Ingest.TraceIdle = 200 * time.Millisecond
	cfg.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestDeployGateEndToEnd: traffic from the X-Ray SDK before and after
// markers in the past; `fluoro deploy mark` records them, `fluoro deploy
// gate` judges them — fail (fault rate) exits 1, healthy passes with 0, no
// traffic is insufficient data with 2, --wait waits for the after window —
// and the markers and verdicts survive a restart.
func TestDeployGateEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var offset atomic.Int64 // the server clock's lead over the real one
	srv := startDeployServer(t, dir, &offset)
	defer func() { srv.Shutdown(context.Background()) }()
	ep := "http://" + srv.HTTPAddr().String()

	const window = 5 * time.Minute
	marker := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	sdk := newSDKEmitter(t, srv.UDPAddr())
	// checkout: 1 fault in 100 before; 40 in 100 after.
	sdk.traffic("checkout", marker.Add(-window), window, 100, func(i int) bool { return i == 50 })
	sdk.traffic("checkout", marker, window, 100, func(i int) bool { return i%5 < 2 })
	// inventory: 1 fault in 100 on both sides.
	sdk.traffic("inventory", marker.Add(-window), window, 100, func(i int) bool { return i == 7 })
	sdk.traffic("inventory", marker, window, 100, func(i int) bool { return i == 93 })
	waitRequests(t, ep, "checkout", marker.Add(-window), marker.Add(window), 200)
	waitRequests(t, ep, "inventory", marker.Add(-window), marker.Add(window), 200)

	mark := func(args ...string) string {
		t.Helper()
		out, _, err := runCmd(t, append([]string{"deploy", "mark", "--endpoint", ep}, args...)...)
		if err != nil {
			t.Fatalf("deploy mark %q: %v", args, err)
		}
		return strings.TrimSpace(out)
	}
	at := marker.Format(time.RFC3339)
	bad := mark("--service", "checkout", "--version", "2.0.0", "--env", "production", "--commit", "0a1b2c3d4e5f",
		"--url", "https://ci.example.com/pipelines/981", "--description", "new payment client", "--time", at)
	good := mark("--service", "inventory", "--version", "v88", "--time", at)
	idle := mark("--service", "billing", "--version", "3", "--time", at)
	if bad != "checkout-2-0-0" || good != "inventory-v88" || idle != "billing-3" {
		t.Fatalf("ids %q %q %q", bad, good, idle)
	}

	gate := func(id string, args ...string) (string, string, int) {
		t.Helper()
		out, errOut, err := runCmd(t, append([]string{"deploy", "gate", id, "--endpoint", ep, "--window", window.String()}, args...)...)
		return out, errOut, exitCode(err)
	}
	out, _, code := gate(bad)
	if code != 1 || !regexp.MustCompile(`(?m)^fault rate\s+1\.00%\s+40\.00%\s+≤ 2\.00%\s+FAIL$`).MatchString(out) ||
		!strings.Contains(out, "verdict: fail: fault rate rose from 1.00% to 40.00%") {
		t.Errorf("gate of a faulty rollout: exit %d\n%s", code, out)
	}
	if !regexp.MustCompile(`(?m)^requests\s+100\s+100\s+≥ 20\s+pass$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^p99\s+\S+\s+\S+\s+≤ \S+\s+pass$`).MatchString(out) {
		t.Errorf("gate table:\n%s", out)
	}
	out, _, code = gate(good)
	if code != 0 || !strings.Contains(out, "verdict: pass: 5 checks passed") {
		t.Errorf("gate of a healthy rollout: exit %d\n%s", code, out)
	}
	out, _, code = gate(idle)
	if code != 2 || !strings.Contains(out, "verdict: insufficient data: 0 requests before, 0 after") {
		t.Errorf("gate without traffic: exit %d\n%s", code, out)
	}
	// Thresholds are the caller's: a lenient gate passes the faulty rollout.
	if out, _, code = gate(bad, "--max-fault-rate-increase", "0.5"); code != 0 {
		t.Errorf("lenient gate: exit %d\n%s", code, out)
	}
	// A threshold the server rejects is an error, exit 1, not a verdict.
	if _, _, err := runCmd(t, "deploy", "gate", bad, "--endpoint", ep, "--window", "30s"); err == nil ||
		!strings.Contains(err.Error(), "window 30s is not between 1m and 24h") || exitCode(err) != 1 {
		t.Errorf("bad window: %v", err)
	}
	if _, _, err := runCmd(t, "deploy", "gate", "nope", "--endpoint", ep); err == nil || !strings.Contains(err.Error(), `404 Not Found: no deployment "nope"`) {
		t.Errorf("unknown id: %v", err)
	}

	// The API says the same as the CLI.
	var res deploy.Result
	if err := apiCall(context.Background(), "GET", ep+deploy.Path+"/"+bad+"/gate?window=5m", nil, &res); err != nil {
		t.Fatal(err)
	}
	if res.Verdict != deploy.Fail || strings.Join(res.Failed, ",") != "fault_rate" || !res.Complete ||
		res.Before.Requests != 100 || res.After.Faults != 40 || !res.After.Start.Equal(marker) || res.Thresholds.Window != window {
		t.Errorf("gate over the API: %+v", res)
	}

	// --wait: with the server's clock put just before the after window is
	// complete, the CLI waits for it, then judges.
	offset.Store(int64(res.ReadyAt.Add(-5 * time.Second).Sub(time.Now())))
	if err := apiCall(context.Background(), "GET", ep+deploy.Path+"/"+bad+"/gate?window=5m", nil, &res); err != nil || res.Complete || res.ReadyIn < 1 {
		t.Errorf("gate before its after window is complete: complete %v, ready in %v, %v", res.Complete, res.ReadyIn, err)
	}
	t0 := time.Now()
	out, errOut, code := gate(bad, "--wait")
	if waited := time.Since(t0); code != 1 || waited < 2*time.Second || !strings.Contains(errOut, "waiting for the after window to end") {
		t.Errorf("gate --wait: exit %d after %v\n%s%s", code, waited, errOut, out)
	}
	offset.Store(0)

	out, _, err := runCmd(t, "deploy", "list", "--endpoint", ep)
	if err != nil || !regexp.MustCompile(`(?m)^checkout-2-0-0\s+\S+ \S+\s+checkout\s+2\.0\.0\s+production\s+0a1b2c3d4e5f\s+new payment client$`).MatchString(out) ||
		strings.Count(out, "\n") != 4 {
		t.Errorf("deploy list: %v\n%s", err, out)
	}

	// A restart keeps the markers, and the traffic the gates read.
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv = startDeployServer(t, dir, &offset)
	ep = "http://" + srv.HTTPAddr().String()
	out, _, err = runCmd(t, "deploy", "list", "--endpoint", ep, "--service", "checkout")
	if err != nil || !strings.Contains(out, "checkout-2-0-0") || strings.Contains(out, "inventory") {
		t.Errorf("deploy list after a restart: %v\n%s", err, out)
	}
	if out, _, code = gate(bad); code != 1 {
		t.Errorf("gate after a restart: exit %d\n%s", code, out)
	}
	if out, _, err = runCmd(t, "deploy", "delete", idle, "--endpoint", ep); err != nil || out != "deployment billing-3 deleted\n" {
		t.Errorf("deploy delete: %q %v", out, err)
	}
	if _, _, code = gate(idle); code != 1 {
		t.Errorf("gate of a deleted marker exits %d, want 1 (an error)", code)
	}
}

// TestDeployCommandErrors: usage errors are caught before any call.
func TestDeployCommandErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy"}, "deploy needs a verb"},
		{[]string{"deploy", "rollback"}, `unknown deploy verb "rollback"`},
		{[]string{"deploy", "mark", "--service", "x"}, "needs --service and --version"},
		{[]string{"deploy", "mark", "--service", "x", "--version", "1", "extra"}, "takes only flags"},
		{[]string{"deploy", "gate"}, "needs a deployment id"},
		{[]string{"deploy", "gate", "--wait"}, "needs a deployment id"},
		{[]string{"deploy", "gate", "a", "b"}, "takes one id"},
		{[]string{"deploy", "delete"}, "needs a deployment id"},
		{[]string{"deploy", "list", "--since", "-1h"}, "--since must be positive"},
	} {
		_, _, err := runCmd(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.args, err, c.want)
		}
	}
}

// TestDeploymentsAPIErrors: the API's statuses and {"message"} bodies on a
// real server.
func TestDeploymentsAPIErrors(t *testing.T) {
	var offset atomic.Int64
	srv := startDeployServer(t, t.TempDir(), &offset)
	defer srv.Shutdown(context.Background())
	ep := "http://" + srv.HTTPAddr().String() + deploy.Path
	do := func(method, url, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e struct{ Message string }
		json.Unmarshal(b, &e)
		if resp.StatusCode >= 400 && (e.Message == "" || resp.Header.Get("Content-Type") != "application/json") {
			t.Errorf("%s %s: %d without a JSON message: %s", method, url, resp.StatusCode, b)
		}
		if e.Message != "" {
			return resp.StatusCode, e.Message
		}
		return resp.StatusCode, string(b)
	}
	check := func(method, path, body string, status int, want string) {
		t.Helper()
		got, msg := do(method, ep+path, body)
		if got != status || !strings.Contains(msg, want) {
			t.Errorf("%s %s %s: %d %q, want %d containing %q", method, path, body, got, msg, status, want)
		}
	}
	check("POST", "", `{"service":"api","version":"1","id":"api-one","url":"https://ci.example.com/1"}`, 201, `"id":"api-one"`)
	check("POST", "", `{"service":"api","version":"1","id":"api-one"}`, 409, `a deployment "api-one" exists`)
	check("POST", "", `{"service":"api"}`, 400, "version is required")
	check("POST", "", `{"service":"api","version":"1","time":"yesterday"}`, 400, `time "yesterday" is not an RFC 3339 time`)
	check("POST", "", `{"service":"api","version":"1","colour":"red"}`, 400, `unknown field "colour"`)
	check("POST", "", `{"service":"api","version":"1","url":"javascript:alert(1)"}`, 400, "not an absolute http or https URL")
	check("POST", "", `[1]`, 400, "body is not a deployment")
	check("POST", "", `{"service":"api","version":"1","description":"`+strings.Repeat("x", 20000)+`"}`, 413, "at most 16384 bytes")
	check("GET", "/api-one", "", 200, `"service":"api"`)
	check("GET", "/missing", "", 404, `no deployment "missing"`)
	check("PUT", "/api-one", `{"service":"api","version":"2","id":"other"}`, 400, "differs from the path")
	check("PUT", "/api-one", `{"service":"api","version":"2"}`, 200, `"version":"2"`)
	check("PUT", "/api-two", `{"service":"api","version":"3","time":"2026-01-02T03:04:05+01:00"}`, 201, `"time":"2026-01-02T02:04:05Z"`)
	check("PUT", "/Bad_ID", `{"service":"api","version":"3"}`, 400, "must be 1-64 lower-case")
	check("GET", "?service=api&limit=1", "", 200, `"more":true`)
	check("GET", "?from=2026-01-02T00:00:00Z&to=2026-01-03T00:00:00Z", "", 200, `"id":"api-two"`)
	check("GET", "?from=tomorrow", "", 400, `from: "tomorrow" is neither`)
	check("GET", "?limit=0", "", 400, "limit \"0\" is not an integer from 1 to 1000")
	check("GET", "?sevrice=api", "", 400, `unknown parameter "sevrice"`)
	check("GET", "/api-one/gate?max_p99_increase=x", "", 400, `max_p99_increase "x" is not a number`)
	check("GET", "/api-one/gate?max_fault_rate_increse=1", "", 400, `unknown parameter "max_fault_rate_increse"`)
	check("GET", "/missing/gate", "", 404, `no deployment "missing"`)
	check("GET", "/api-one/gate", "", 200, `"verdict":"insufficient-data"`)
	check("DELETE", "/api-one", "", 204, "")
	check("DELETE", "/api-one", "", 404, `no deployment "api-one"`)
}
