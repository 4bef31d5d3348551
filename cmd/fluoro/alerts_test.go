package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/server"
	"github.com/fluoro-dev/fluoro/internal/server/servertest"
)

// TestAlertsList: `fluoro alerts list` on a server without rules, then with
// a service rule (not yet evaluated, then evaluated with no traffic) and a
// disabled filter rule.
func TestAlertsList(t *testing.T) {
	cfg := servertest.Config()
	cfg.Data = t.TempDir()
	cfg.Alerts.Interval = 100 * time.Millisecond
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	ep := "http://" + srv.HTTPAddr().String()

	out, _, err := runCmd(t, "alerts", "list", "--endpoint", ep)
	if err != nil || !strings.Contains(out, "no alert rules") {
		t.Fatalf("empty: %q %v", out, err)
	}
	for _, body := range []string{
		`{"name":"checkout-p99","service":{"name":"checkout"},"metric":"p99","threshold":1.5,"window":"15m"}`,
		`{"name":"gold-faults","filter":"annotation.tier = \"gold\"","metric":"fault_rate","threshold":0.05,"enabled":false}`,
	} {
		resp, err := http.Post(ep+"/api/alerts", "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create %s: %v %v", body, resp.Status, err)
		}
		resp.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _, err = runCmd(t, "alerts", "list", "--endpoint", ep)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "nodata") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, re := range []string{
		`(?m)^NAME\s+STATE\s+SINCE\s+VALUE\s+CONDITION\s+WINDOW\s+SCOPE$`,
		`(?m)^checkout-p99\s+nodata\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+-\s+p99 > 1\.500s\s+15m0s\s+service checkout$`,
		`(?m)^gold-faults\s+disabled\s+-\s+-\s+fault_rate > 5\.00%\s+5m0s\s+filter annotation\.tier = "gold"$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", re, out)
		}
	}
	if _, _, err := runCmd(t, "alerts"); err == nil || !strings.Contains(err.Error(), "needs a verb") {
		t.Errorf("alerts alone: %v", err)
	}
}

// TestAlertsConfig: the alerts: section of the server's YAML is read, and
// a bad interval is refused.
func TestAlertsConfig(t *testing.T) {
	cfg := server.Default()
	p := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(p, []byte("alerts:\n  interval: 10s\n  max_scan: 5000\n  notify_timeout: 2s\n  notify_retries: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := loadYAML(p, &cfg); err != nil {
		t.Fatal(err)
	}
	if a := cfg.Alerts; a.Interval != 10*time.Second || a.MaxScan != 5000 || a.NotifyTimeout != 2*time.Second || a.NotifyRetries != 1 {
		t.Fatalf("loaded %+v", a)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Alerts.Interval = time.Millisecond
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "alerts interval") {
		t.Fatalf("1ms interval: %v", err)
	}
}
