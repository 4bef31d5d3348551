package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDaemonConfig: defaults, then the YAML file, then the environment
// (AWS_XRAY_DAEMON_ADDRESS), then flags; the X-Ray daemon's short flags.
func TestDaemonConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.yaml")
	os.WriteFile(path, []byte("endpoint: http://fluoro:2000\nudp: 0.0.0.0:3000\nflush_interval: 50ms\nspool_max_bytes: 2097152\n"), 0o644)
	env := map[string]string{}
	get := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	cfg, mem, level, err := daemonConfig([]string{"-c", path}, get, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Endpoint != "http://fluoro:2000" || cfg.UDP != "0.0.0.0:3000" || cfg.TCP != "127.0.0.1:2000" ||
		cfg.FlushInterval != 50*time.Millisecond || cfg.SpoolMaxBytes != 2<<20 || mem != 40<<20 || level != "info" {
		t.Fatalf("from YAML: %+v mem %d level %s", cfg, mem, level)
	}

	env["AWS_XRAY_DAEMON_ADDRESS"] = "tcp:0.0.0.0:2001 udp:0.0.0.0:2002"
	env["AWS_HOSTNAME"] = "node-1"
	cfg, _, _, err = daemonConfig([]string{"--config", path}, get, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UDP != "0.0.0.0:2002" || cfg.TCP != "0.0.0.0:2001" || cfg.Hostname != "node-1" {
		t.Fatalf("environment over YAML: udp %s tcp %s host %s", cfg.UDP, cfg.TCP, cfg.Hostname)
	}

	env["GOMEMLIMIT"] = "30MiB"
	cfg, mem, level, err = daemonConfig([]string{"-c", path, "-b", "127.0.0.1:4000", "--bind-tcp", "127.0.0.1:4001",
		"--endpoint", "https://fluoro.example", "-o", "-n", "eu-west-1", "-l", "debug", "-a", "arn:aws:ecs:task/x"}, get, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UDP != "127.0.0.1:4000" || cfg.TCP != "127.0.0.1:4001" || cfg.Endpoint != "https://fluoro.example" ||
		level != "debug" || cfg.ResourceARN != "arn:aws:ecs:task/x" || mem != 0 {
		t.Fatalf("flags over the environment: %+v mem %d level %s", cfg, mem, level)
	}

	for _, bad := range [][]string{{}, {"--endpoint", "fluoro:2000"}, {"--endpoint", "http://x:1", "extra"}} {
		if _, _, _, err := daemonConfig(bad, func(string) (string, bool) { return "", false }, io.Discard); err == nil {
			t.Errorf("daemonConfig(%q) accepted", bad)
		}
	}
	env = map[string]string{"AWS_XRAY_DAEMON_ADDRESS": "udp:only:2000"}
	if _, _, _, err := daemonConfig([]string{"--endpoint", "http://x:1"}, get, io.Discard); err == nil {
		t.Error("a half AWS_XRAY_DAEMON_ADDRESS was accepted")
	}
}
