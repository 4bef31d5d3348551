package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/server"
	"github.com/fluoro-dev/fluoro/internal/server/servertest"
)

// TestBrowser runs ui/e2e/run.mjs (node's test runner, playwright-core,
// Debian's headless Chromium) against a real server started here on
// kernel-chosen ports over a temporary directory, fed by the demo topology.
// Screenshots and perf.json land in test-artifacts/ui at the repository root.
//
// Without Chromium or ui/node_modules the test is skipped, except under CI
// (CI set), where it fails: .ci/run installs both.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	missing := func(what string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing; .ci/run installs it", what)
		}
		t.Skipf("%s is missing; install it to run the browser tests (see docs/ui.md)", what)
	}
	chrome := os.Getenv("FLUORO_CHROMIUM")
	if chrome == "" {
		chrome = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chrome); err != nil {
		missing("Chromium (" + chrome + ")")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node")
	}
	if _, err := os.Stat(filepath.Join(root, "ui", "node_modules", "playwright-core")); err != nil {
		missing("ui/node_modules (npm ci in ui/)")
	}

	cfg := servertest.Config()
	cfg.Data = t.TempDir()
	cfg.UDP = "127.0.0.1:0"
	cfg.HTTP = "127.0.0.1:0"
	cfg.Ingest.TraceIdle = 200 * time.Millisecond
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	base := "http://" + srv.HTTPAddr().String()

	const traces = 600
	if _, err := demo.Run(context.Background(), demo.Config{Addr: srv.UDPAddr().String(), Rate: 4000, Traces: traces, Seed: 7}); err != nil {
		t.Fatalf("demo: %v", err)
	}
	waitForTraces(t, base, traces*9/10)

	artifacts := filepath.Join(root, "test-artifacts", "ui")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "e2e/run.mjs")
	cmd.Dir = filepath.Join(root, "ui")
	cmd.Env = append(os.Environ(), "FLUORO_URL="+base, "FLUORO_ARTIFACTS="+artifacts, "FLUORO_CHROMIUM="+chrome)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		t.Log(line)
	}
	if err != nil {
		t.Fatalf("browser tests failed (%v); screenshots in %s", err, artifacts)
	}
	if b, err := os.ReadFile(filepath.Join(artifacts, "perf.json")); err == nil {
		t.Logf("perf: %s", bytes.Join(bytes.Fields(b), []byte(" ")))
	}
}

// waitForTraces polls GetTraceSummaries until at least n traces of the last
// hour are summarised, or fails after a deadline.
func waitForTraces(t *testing.T, base string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	got := 0
	for time.Now().Before(deadline) {
		got = 0
		var token string
		for {
			now := float64(time.Now().Unix())
			body := fmt.Sprintf(`{"StartTime":%f,"EndTime":%f`, now-3600, now+60)
			if token != "" {
				body += fmt.Sprintf(`,"NextToken":%q`, token)
			}
			resp, err := http.Post(base+"/TraceSummaries", "application/json", strings.NewReader(body+"}"))
			if err != nil {
				t.Fatal(err)
			}
			var page struct {
				TraceSummaries []json.RawMessage
				NextToken      *string
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			got += len(page.TraceSummaries)
			if page.NextToken == nil || *page.NextToken == "" {
				break
			}
			token = *page.NextToken
		}
		if got >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("only %d of %d traces were summarised in time", got, n)
}
