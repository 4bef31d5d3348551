package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/server"
	"github.com/fluoro-dev/fluoro/internal/server/servertest"
)

func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// TestNewcomerFlow is the README's first minute: the demo sends traces over
// UDP, `traces list` shows them, `traces get` draws one.
func TestNewcomerFlow(t *testing.T) {
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

	out, _, err := runCmd(t, "demo", "--udp", srv.UDPAddr().String(), "--traces", "30", "--rate", "0", "--seed", "3")
	if err != nil || !strings.Contains(out, "sent 30 traces") {
		t.Fatalf("demo: %q, %v", out, err)
	}
	var list string
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, _, err = runCmd(t, "traces", "list", "--since", "5m", "--limit", "0", "--endpoint", endpoint)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(list, "\n") == 31 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := strings.Count(list, "\n"); n != 31 {
		t.Fatalf("traces list printed %d lines, want a header and 30 traces:\n%s", n, list)
	}
	if !strings.Contains(list, "api-gateway") || !strings.Contains(list, "TRACE ID") {
		t.Errorf("traces list lacks the gateway service or the header:\n%s", list)
	}
	id := regexp.MustCompile(`1-[0-9a-f]{8}-[0-9a-f]{24}`).FindString(list)
	out, _, err = runCmd(t, "traces", "get", id, "--endpoint", endpoint, "--width", "100")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "trace "+id) || !strings.Contains(out, "api-gateway") || !strings.Contains(out, "█") {
		t.Errorf("traces get %s drew:\n%s", id, out)
	}
	if _, _, err := runCmd(t, "traces", "get", "1-00000001-000000000000000000000001", "--endpoint", endpoint); err == nil ||
		!strings.Contains(err.Error(), "not found") {
		t.Errorf("traces get of an unknown id: %v, want not found", err)
	}
	filtered, _, err := runCmd(t, "traces", "list", "--since", "5m", "--filter", `service("api-gateway") AND http.method = "GET"`, "--endpoint", endpoint)
	if err != nil || strings.Contains(filtered, "POST") || !strings.Contains(filtered, "GET") {
		t.Errorf("traces list --filter: %v\n%s", err, filtered)
	}
	if _, _, err := runCmd(t, "traces", "list", "--filter", "fault AND", "--endpoint", endpoint); err == nil ||
		!strings.Contains(err.Error(), "InvalidRequestException") || !strings.Contains(err.Error(), "1:10") {
		t.Errorf("traces list with a syntax error: %v, want the API's InvalidRequestException at 1:10", err)
	}
}

func TestCommands(t *testing.T) {
	check := func(args []string, wantOut, wantErr string) {
		t.Helper()
		out, stderr, err := runCmd(t, args...)
		if wantErr == "" && err != nil {
			t.Errorf("fluoro %v: %v (%s)", args, err, stderr)
		}
		if wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("fluoro %v: error %v, want one containing %q", args, err, wantErr)
		}
		if !strings.Contains(out, wantOut) {
			t.Errorf("fluoro %v printed %q, want it to contain %q", args, out, wantOut)
		}
	}
	check([]string{"version"}, "fluoro "+version, "")
	check([]string{"help"}, "fluoro server", "")
	check(nil, "", "no command")
	check([]string{"frobnicate"}, "", `unknown command "frobnicate"`)
	check([]string{"traces"}, "", "needs a verb")
	check([]string{"traces", "get"}, "", "needs a trace id")
	check([]string{"server", "--retention", "5m", "--data", t.TempDir()}, "", "retention")
	check([]string{"server", "--udp", "nonsense", "--data", t.TempDir()}, "", "udp address")
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := server.Default()
	if err := loadYAML(write("ok.yaml", "data: /var/lib/fluoro\nretention: 168h\ningest:\n  trace_idle: 5s\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Data != "/var/lib/fluoro" || cfg.Retention != 168*time.Hour || cfg.Ingest.TraceIdle != 5*time.Second || cfg.UDP != "127.0.0.1:2000" {
		t.Errorf("loaded %+v", cfg)
	}
	if err := loadYAML(write("typo.yaml", "retension: 1h\n"), &cfg); err == nil || !strings.Contains(err.Error(), "retension") {
		t.Errorf("a misspelt key: %v, want an error naming it", err)
	}
	if err := loadYAML(filepath.Join(dir, "missing.yaml"), &cfg); err == nil {
		t.Errorf("a missing file loaded")
	}
}
