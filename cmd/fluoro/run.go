package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"go.yaml.in/yaml/v3"
)

// newLogger is the text logger of a long-running command (server, daemon),
// with the level given by name, and applies the soft memory limit when
// memLimit is above zero.
func newLogger(level string, w io.Writer, memLimit int64) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	if memLimit > 0 {
		debug.SetMemoryLimit(memLimit)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// serveUntilDone waits for ctx to end (SIGTERM, SIGINT), then calls
// shutdown with a deadline of timeout, logging what it does.
func serveUntilDone(ctx context.Context, log *slog.Logger, doing string, timeout time.Duration, shutdown func(context.Context) error) error {
	<-ctx.Done()
	log.Info("shutting down: " + doing)
	stopCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := shutdown(stopCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	log.Info("stopped cleanly")
	return nil
}

// loadYAML reads a YAML configuration file (the server's or the
// daemon's) over v; keys it does not name keep their
// values, unknown keys are an error.
func loadYAML(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && err != io.EOF {
		return fmt.Errorf("read config %s: %w", path, err)
	}
	return nil
}
