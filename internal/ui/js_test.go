package ui_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestJSUnits runs the console's logic tests (ui/test, node's test runner):
// the span tree and critical path, histograms, time ranges. They need Node.js
// and ui/node_modules (scripts/test runs npm ci there); without them the
// test is skipped, except under CI, where it fails.
func TestJSUnits(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("..", "..", "ui", "node_modules", "preact"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node or ui/node_modules is missing: %v", err)
		}
		t.Skipf("node or ui/node_modules is missing (npm ci in ui/): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "test/")
	cmd.Dir = filepath.Join("..", "..", "ui")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("ui/test failed: %v", err)
	}
}
