package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fluoro-dev/fluoro/internal/daemon"
)

// runDaemon is `fluoro daemon`: the X-Ray daemon's flags where it has them
// (-b, -t, -c, -l, -a; -o and -n are accepted and ignored), and
// AWS_XRAY_DAEMON_ADDRESS as the SDKs read it.
func runDaemon(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg, memLimit, logLevel, err := daemonConfig(args, os.LookupEnv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(logLevel, stderr, memLimit)
	if err != nil {
		return err
	}
	d, err := daemon.Start(cfg, log, version)
	if err != nil {
		return err
	}
	return serveUntilDone(ctx, log, "sending or spooling everything read", 10*time.Second, d.Shutdown)
}

// daemonConfig builds the configuration: defaults, then the YAML file, then
// AWS_XRAY_DAEMON_ADDRESS, AWS_HOSTNAME and AWS_INSTANCE_ID, then flags.
func daemonConfig(args []string, env func(string) (string, bool), stderr io.Writer) (cfg daemon.Config, memLimit int64, logLevel string, err error) {
	cfg = daemon.Default()
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var configPath, udp, tcp string
	for _, n := range []string{"c", "config"} {
		fs.StringVar(&configPath, n, "", "YAML configuration file; the environment and flags override it")
	}
	for _, n := range []string{"b", "bind"} {
		fs.StringVar(&udp, n, cfg.UDP, "UDP address for segments (X-Ray daemon protocol); AWS_XRAY_DAEMON_ADDRESS also sets it")
	}
	for _, n := range []string{"t", "bind-tcp"} {
		fs.StringVar(&tcp, n, cfg.TCP, "TCP address for sampling calls (proxied to the server), /healthz and /metrics")
	}
	otlpGRPC := fs.String("otlp-grpc", cfg.OTLPGRPC, "OTLP/gRPC address; spans are mapped here and relayed (\"\": off)")
	otlpHTTP := fs.String("otlp-http", cfg.OTLPHTTP, "OTLP/HTTP address, path /v1/traces (\"\": off)")
	endpoint := fs.String("endpoint", "", "the Fluoro server's X-Ray API, e.g. http://fluoro:2000 (required)")
	spoolDir := fs.String("spool-dir", cfg.SpoolDir, "directory for batches the server cannot take yet (\"\": no spool)")
	spoolMax := fs.Int64("spool-max-bytes", cfg.SpoolMaxBytes, "cap on the spool; past it the oldest batches are dropped and counted")
	concurrency := fs.Int("concurrency", cfg.Concurrency, "PutTraceSegments calls in flight")
	flush := fs.Duration("flush-interval", cfg.FlushInterval, "longest wait for a batch of 50 to fill")
	var resourceARN string
	for _, n := range []string{"a", "resource-arn"} {
		fs.StringVar(&resourceARN, n, "", "resource ARN reported in telemetry records")
	}
	fs.StringVar(&logLevel, "l", "info", "log level: debug, info, warn or error")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	memFlag := fs.Int64("memory-limit", 40<<20, "soft limit on the Go heap in bytes (0: none, or GOMEMLIMIT)")
	var ignored string
	var ignoredBool bool
	for _, n := range []string{"o", "local-mode"} {
		fs.BoolVar(&ignoredBool, n, false, "accepted for the X-Ray daemon's command lines; has no effect")
	}
	for _, n := range []string{"n", "region"} {
		fs.StringVar(&ignored, n, "", "accepted for the X-Ray daemon's command lines; has no effect")
	}
	if err = fs.Parse(args); err != nil {
		return cfg, 0, "", err
	}
	if fs.NArg() > 0 {
		return cfg, 0, "", fmt.Errorf("daemon takes no arguments, got %q", fs.Args())
	}
	if configPath != "" {
		if err = loadYAML(configPath, &cfg); err != nil {
			return cfg, 0, "", err
		}
	}
	if v, ok := env("AWS_XRAY_DAEMON_ADDRESS"); ok && v != "" {
		if cfg.UDP, cfg.TCP, err = daemon.ParseDaemonAddress(v); err != nil {
			return cfg, 0, "", fmt.Errorf("AWS_XRAY_DAEMON_ADDRESS: %w", err)
		}
	}
	if v, ok := env("AWS_HOSTNAME"); ok && v != "" {
		cfg.Hostname = v
	}
	if v, ok := env("AWS_INSTANCE_ID"); ok && v != "" {
		cfg.InstanceID = v
	}
	memLimit = *memFlag
	if _, ok := env("GOMEMLIMIT"); ok {
		memLimit = 0 // the runtime already applies it
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "b", "bind":
			cfg.UDP = udp
		case "t", "bind-tcp":
			cfg.TCP = tcp
		case "endpoint":
			cfg.Endpoint = *endpoint
		case "otlp-grpc":
			cfg.OTLPGRPC = *otlpGRPC
		case "otlp-http":
			cfg.OTLPHTTP = *otlpHTTP
		case "spool-dir":
			cfg.SpoolDir = *spoolDir
		case "spool-max-bytes":
			cfg.SpoolMaxBytes = *spoolMax
		case "concurrency":
			cfg.Concurrency = *concurrency
		case "flush-interval":
			cfg.FlushInterval = *flush
		case "a", "resource-arn":
			cfg.ResourceARN = resourceARN
		case "memory-limit":
			memLimit = *memFlag
		}
	})
	return cfg, memLimit, logLevel, cfg.Validate()
}
