package main

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/server"
	"github.com/fluoro-dev/fluoro/internal/server/servertest"
)

// TestMap: the demo's traffic, then `fluoro map` prints its nodes (inferred
// ones included) and edges with counts and a p99.
func TestMap(t *testing.T) {
	cfg := servertest.Config()
	cfg.Data = t.TempDir()
	cfg.UDP, cfg.HTTP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.OTLPGRPC, cfg.OTLPHTTP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Ingest.TraceIdle = 200 * time.Millisecond
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	endpoint := "http://" + srv.HTTPAddr().String()

	out, _, err := runCmd(t, "map", "--since", "10m", "--endpoint", endpoint)
	if err != nil || !strings.Contains(out, "no traces") {
		t.Fatalf("map before any traffic: %q, %v", out, err)
	}
	if out, _, err := runCmd(t, "demo", "--udp", srv.UDPAddr().String(), "--traces", "40", "--rate", "0", "--seed", "5"); err != nil ||
		!strings.Contains(out, "sent 40 traces") {
		t.Fatalf("demo: %q, %v", out, err)
	}
	gateway := regexp.MustCompile(`(?m)^\(client\) -> api-gateway\s+(\d+)\s`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _, err = runCmd(t, "map", "--since", "10m", "--endpoint", endpoint)
		if err != nil {
			t.Fatal(err)
		}
		if m := gateway.FindStringSubmatch(out); (m != nil && m[1] == "40") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if m := gateway.FindStringSubmatch(out); m == nil || m[1] != "40" {
		t.Fatalf("map does not show 40 requests from clients to api-gateway:\n%s", out)
	}
	for _, want := range []string{"NODE", "EDGE", "api-gateway", "Database::SQL", "AWS::DynamoDB::Table", "api-gateway -> orders"} {
		if !strings.Contains(out, want) {
			t.Errorf("map lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`\d+(\.\d+)?(ms|s|µs)\n`).MatchString(out) {
		t.Errorf("map shows no p99 durations:\n%s", out)
	}
	t.Logf("fluoro map:\n%s", out)
	if _, _, err := runCmd(t, "map", "--group", "nope", "--endpoint", endpoint); err == nil || !strings.Contains(err.Error(), "InvalidRequestException") {
		t.Errorf("map of an unknown group: %v, want InvalidRequestException", err)
	}
}
