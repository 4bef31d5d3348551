package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/server"
	"github.com/fluoro-dev/fluoro/internal/server/servertest"
)

// TestAnalyticsCommand sends demo traffic, then prints latency percentiles
// and root causes as a user would.
func TestAnalyticsCommand(t *testing.T) {
	cfg := servertest.Config()
	cfg.Data = t.TempDir()
	cfg.UDP, cfg.HTTP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Ingest.TraceIdle = 200 * time.Millisecond
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	endpoint := "http://" + srv.HTTPAddr().String()
	if out, _, err := runCmd(t, "demo", "--udp", srv.UDPAddr().String(), "--traces", "40", "--rate", "0", "--seed", "5"); err != nil {
		t.Fatalf("demo: %q, %v", out, err)
	}
	var out string
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _, err = runCmd(t, "analytics", "latency", "--since", "10m", "--endpoint", endpoint)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "over 40 traces") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("analytics latency:\n%s", out)
	for _, want := range []string{"over 40 traces", "NODE", "P99.9", "api-gateway", "EDGE", "URL", "ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("analytics latency lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runCmd(t, "analytics", "annotations", "key=order_items", "--endpoint", endpoint)
	if err == nil {
		t.Errorf("flags after NAME=VALUE were accepted: %s", out)
	}
	out, _, err = runCmd(t, "analytics", "annotations", "--endpoint", endpoint, "key=order_items")
	if err != nil || !strings.Contains(out, `"key": "order_items"`) || !strings.Contains(out, `"p99"`) {
		t.Errorf("analytics annotations: %v\n%s", err, out)
	}
	if _, _, err := runCmd(t, "analytics", "latency", "--filter", "fault AND", "--endpoint", endpoint); err == nil || !strings.Contains(err.Error(), "1:10") {
		t.Errorf("analytics latency with a syntax error: %v, want it at 1:10", err)
	}
	if _, _, err := runCmd(t, "analytics"); err == nil || !strings.Contains(err.Error(), "needs a verb") {
		t.Errorf("analytics without a verb: %v", err)
	}
}
