package main

import (
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

// TestSamplingBoostCommands: boost, boosts and unboost against a server
// with tail sampling on, and their errors.
func TestSamplingBoostCommands(t *testing.T) {
	cfg := servertest.Config()
	cfg.Data = t.TempDir()
	cfg.UDP, cfg.HTTP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.TailSampling.Enabled = true
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	ep := "http://" + srv.HTTPAddr().String()

	out, _, err := runCmd(t, "sampling", "boosts", "--endpoint", ep)
	if err != nil || !strings.Contains(out, "no boosts") {
		t.Fatalf("boosts on a new server: %q %v", out, err)
	}
	out, _, err = runCmd(t, "sampling", "boost", "--rate", "0.5", "--for", "30m", "--service", "checkout", "--reason", "deploy 42", "--endpoint", ep)
	m := regexp.MustCompile(`^boost ([0-9a-f]{16}): rate 0.5 for services matching checkout until `).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("boost: %q %v", out, err)
	}
	out, _, err = runCmd(t, "sampling", "boosts", "--endpoint", ep)
	if err != nil || !strings.Contains(out, m[1]) || !strings.Contains(out, "deploy 42") || !strings.Contains(out, "checkout") {
		t.Errorf("boosts: %q %v", out, err)
	}
	if _, _, err := runCmd(t, "sampling", "boost", "--rate", "3", "--for", "1m", "--endpoint", ep); err == nil || !strings.Contains(err.Error(), "InvalidRequestException") {
		t.Errorf("boost --rate 3: %v", err)
	}
	if _, _, err := runCmd(t, "sampling", "boost", "--rate", "0.5", "--endpoint", ep); err == nil || !strings.Contains(err.Error(), "--for") {
		t.Errorf("boost without --for: %v", err)
	}
	out, _, err = runCmd(t, "sampling", "unboost", m[1], "--endpoint", ep)
	if err != nil || !strings.Contains(out, "removed") {
		t.Errorf("unboost: %q %v", out, err)
	}
	if _, _, err := runCmd(t, "sampling", "unboost", m[1], "--endpoint", ep); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("unboost twice: %v", err)
	}
	if _, _, err := runCmd(t, "sampling"); err == nil || !strings.Contains(err.Error(), "needs a verb") {
		t.Errorf("sampling alone: %v", err)
	}
}

// TestLoadTailSamplingConfig: the tail_sampling section keeps the defaults
// of the keys it leaves out, and invalid settings fail validation.
func TestLoadTailSamplingConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tail.yaml")
	os.WriteFile(p, []byte(`
tail_sampling:
  enabled: true
  rate: 0.1
  latency:
    - threshold: 2s
    - threshold: 500ms
      service: checkout
  filters:
    - name: vip
      expression: annotation.tier = "gold"
  budget:
    traces_per_month: 10000000
`), 0o644)
	cfg := servertest.Config()
	if err := loadYAML(p, &cfg); err != nil {
		t.Fatal(err)
	}
	ts := cfg.TailSampling
	if !ts.Enabled || ts.Rate != 0.1 || !ts.KeepErrors || ts.DecisionWait != 10*time.Second || len(ts.Latency) != 2 ||
		ts.Latency[1].Service != "checkout" || ts.Filters[0].Name != "vip" || ts.Budget.TracesPerMonth != 1e7 {
		t.Errorf("loaded %+v", ts)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	cfg.TailSampling.Filters[0].Expression = "annotation.tier ="
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `filter "vip"`) {
		t.Errorf("Validate with a broken filter: %v", err)
	}
}
