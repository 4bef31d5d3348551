package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"time"

	"github.com/fluoro-dev/fluoro/internal/server"
)

func runServer(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg := server.Default()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file; flags given on the command line override it")
	data := fs.String("data", cfg.Data, "directory of the embedded store")
	udp := fs.String("udp", cfg.UDP, "X-Ray daemon protocol (UDP) address")
	httpAddr := fs.String("http", cfg.HTTP, "X-Ray API, /healthz and /metrics (TCP) address")
	otlpGRPC := fs.String("otlp-grpc", cfg.OTLPGRPC, "OTLP/gRPC address (empty: off)")
	otlpHTTP := fs.String("otlp-http", cfg.OTLPHTTP, "OTLP/HTTP address, path /v1/traces (empty: off)")
	retention := fs.Duration("retention", cfg.Retention, "how long traces are kept")
	blocksAfter := fs.Duration("blocks-after", cfg.BlocksAfter, "move finished traces this long after their start into compact block files")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	memLimit := fs.Int64("memory-limit", 600<<20, "soft limit on the Go heap in bytes, so memory stays bounded under load (0: none)")
	gcPercent := fs.Int("gc-percent", serverGCPercent, "heap growth between collections, as GOGC (the GOGC variable wins); the memory limit still bounds the heap")
	pprofAddr := fs.String("pprof", "", "serve Go's profiler (/debug/pprof/) on this TCP address, for diagnosis (empty: off)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("server takes no arguments, got %q", fs.Args())
	}
	if *configPath != "" {
		if err := loadYAML(*configPath, &cfg); err != nil {
			return err
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "data":
			cfg.Data = *data
		case "udp":
			cfg.UDP = *udp
		case "http":
			cfg.HTTP = *httpAddr
		case "retention":
			cfg.Retention = *retention
		case "blocks-after":
			cfg.BlocksAfter = *blocksAfter
		case "otlp-grpc":
			cfg.OTLPGRPC = *otlpGRPC
		case "otlp-http":
			cfg.OTLPHTTP = *otlpHTTP
		}
	})
	log, err := newLogger(*logLevel, stderr, *memLimit)
	if err != nil {
		return err
	}
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(*gcPercent)
	}
	if *pprofAddr != "" {
		if err := servePprof(*pprofAddr, log); err != nil {
			return err
		}
	}
	srv, err := server.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	return serveUntilDone(ctx, log, "writing everything accepted", 60*time.Second, srv.Shutdown)
}

// servePprof serves net/http/pprof's handlers on their own listener, so the
// profiler is never exposed on the API's address by accident.
func servePprof(addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("profiler listening", "addr", ln.Addr().String())
	go func() { _ = http.Serve(ln, mux) }()
	return nil
}

// serverGCPercent is `fluoro server`'s default GOGC. Ingest allocates
// short-lived buffers at a high rate against a small live heap, so the
// runtime's default of 100 collects very often: BenchmarkOTLPGRPCIngest went
// from 95.9k to 129.7k spans/s (medians) at 200. The soft memory limit
// (--memory-limit) still caps the heap, so RSS stays bounded.
const serverGCPercent = 200
