package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"

	"github.com/fluoro-dev/fluoro/internal/alert"
	"github.com/fluoro-dev/fluoro/internal/server"
	"github.com/fluoro-dev/fluoro/internal/server/servertest"
)

// TestAlertsEndToEnd: a service instrumented with the official Go X-Ray
// SDK sends over UDP to a real server; an alert rule on the service's fault
// rate fires when half its requests fail, POSTing exactly one firing
// notification to a webhook on loopback; the server restarts while the
// alert fires (no second notification); healthy traffic then dilutes the
// faults below the threshold and exactly one resolved notification
// follows. The rule, its state and its history survive the restart, and
// /metrics counts the notification.
func TestAlertsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := servertest.Config()
	cfg.Data = dir
	cfg.Ingest.TraceIdle = 200 * time.Millisecond
	cfg.Alerts.Interval = 200 * time.Millisecond
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := server.Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Shutdown(context.Background()) }()
	base := "http://" + s.HTTPAddr().String()

	var mu sync.Mutex
	var got []alert.Notification
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n alert.Notification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
	}))
	defer hook.Close()
	notes := func() []alert.Notification {
		mu.Lock()
		defer mu.Unlock()
		return append([]alert.Notification(nil), got...)
	}

	rules, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2, "default": {"fixed_target": 0, "rate": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := xray.Configure(xray.Config{DaemonAddr: s.UDPAddr().String(), SamplingStrategy: rules}); err != nil {
		t.Fatal(err)
	}
	checkout := httptest.NewServer(xray.Handler(xray.NewFixedSegmentNamer("checkout"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "payment backend down", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})))
	defer checkout.Close()
	hit := func(path string, n int) {
		for range n {
			resp, err := http.Get(checkout.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	api := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	waitFor := func(what string, d time.Duration, fn func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !fn() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after %v; notifications %+v", what, d, notes())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Validation errors come back as 400 with the filter's position.
	if code, out := api("POST", "/api/alerts", `{"name":"bad","filter":"service(\"checkout\") { fault","metric":"fault_rate","threshold":0.3}`); code != 400 ||
		!strings.Contains(fmt.Sprint(out["message"]), "filter: 1:") {
		t.Fatalf("invalid filter: %d %v", code, out)
	}
	rule := fmt.Sprintf(`{"name":"checkout-faults","description":"checkout fails","service":{"name":"checkout"},"metric":"fault_rate",`+
		`"comparator":">","threshold":0.3,"window":"1m","min_requests":5,"notify":[%q]}`, hook.URL+"/alerts")
	if code, out := api("POST", "/api/alerts", rule); code != 201 {
		t.Fatalf("create rule: %d %v", code, out)
	}

	hit("/ok", 10)
	hit("/fail", 10)
	waitFor("firing notification", 30*time.Second, func() bool { return len(notes()) >= 1 })
	first := notes()[0]
	if first.State != "firing" || first.Rule != "checkout-faults" || first.Value == nil || *first.Value <= 0.3 || first.Requests < 5 {
		t.Fatalf("firing notification %+v", first)
	}

	// Restart while firing, on the same addresses.
	cfg.UDP, cfg.HTTP = s.UDPAddr().String(), s.HTTPAddr().String()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s, err = server.Start(context.Background(), cfg, log); err != nil {
		t.Fatal(err)
	}
	if _, out := api("GET", "/api/alerts/checkout-faults", ""); out["status"].(map[string]any)["state"] != "firing" {
		t.Fatalf("after restart: %v", out)
	}

	// Healthy traffic until the fault rate falls under 0.3.
	waitFor("resolved notification", 60*time.Second, func() bool {
		hit("/ok", 5)
		return len(notes()) >= 2
	})
	waitFor("/metrics counts the resolved notification", 10*time.Second, func() bool {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// The counters started at the restart: only the resolved one since.
		return strings.Contains(string(b), "fluoro_alert_notifications_sent_total 1") &&
			strings.Contains(string(b), `fluoro_alert_rules{state="ok"} 1`) && strings.Contains(string(b), "fluoro_alert_evaluations_total")
	})
	if err := s.Shutdown(context.Background()); err != nil { // drains the webhook queue
		t.Fatal(err)
	}
	all := notes()
	if len(all) != 2 || all[1].State != "resolved" || all[1].Reason != "condition cleared" || all[1].ID != first.ID ||
		all[1].ResolvedAt == nil || !all[1].StartedAt.Equal(first.StartedAt) {
		t.Fatalf("want exactly one firing then one resolved notification, got %+v", all)
	}

	cfg.UDP, cfg.HTTP = "127.0.0.1:0", "127.0.0.1:0"
	if s, err = server.Start(context.Background(), cfg, log); err != nil {
		t.Fatal(err)
	}
	base = "http://" + s.HTTPAddr().String()
	_, out := api("GET", "/api/alerts/checkout-faults/events", "")
	var path []string
	for _, ev := range out["events"].([]any) {
		e := ev.(map[string]any)
		path = append([]string{fmt.Sprint(e["from"], ">", e["to"])}, path...)
	}
	// The first evaluations may have seen no traffic yet (nodata).
	if p := strings.Join(path, " "); strings.Count(p, ">firing") != 1 || !strings.HasSuffix(p, ">firing firing>ok") {
		t.Fatalf("events after restarts: %v", path)
	}
	if _, out := api("GET", "/api/alerts", ""); len(out["alerts"].([]any)) != 1 {
		t.Fatalf("rules after restarts: %v", out)
	}
}
