package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/server"
)

// TestOTLPConfig: the OTLP addresses default to the collector's ports, are
// set or turned off (empty) in the YAML file, and bad ones are refused.
func TestOTLPConfig(t *testing.T) {
	cfg := server.Default()
	if cfg.OTLPGRPC != "127.0.0.1:4317" || cfg.OTLPHTTP != "127.0.0.1:4318" {
		t.Errorf("defaults %q %q", cfg.OTLPGRPC, cfg.OTLPHTTP)
	}
	p := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(p, []byte("otlp_grpc: \"\"\notlp_http: 0.0.0.0:14318\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := loadYAML(p, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.OTLPGRPC != "" || cfg.OTLPHTTP != "0.0.0.0:14318" {
		t.Errorf("loaded %q %q", cfg.OTLPGRPC, cfg.OTLPHTTP)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("an empty OTLP address turns the listener off, got %v", err)
	}
	cfg.OTLPHTTP = "4318"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "otlp_http") {
		t.Errorf("bad address: %v, want an error naming otlp_http", err)
	}
}
