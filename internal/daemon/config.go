// Package daemon is `fluoro daemon`: a drop-in for the AWS X-Ray daemon. It
// reads segment documents from the daemon UDP protocol, batches them into
// PutTraceSegments calls to a Fluoro server, spools batches to disk while the
// server cannot be reached and replays them when it can, forwards the SDKs'
// sampling calls (and every other X-Ray API path) to the server over TCP, and
// reports its own health with PutTelemetryRecords and /metrics.
package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fluoro-dev/fluoro/internal/redact"
	"github.com/fluoro-dev/fluoro/internal/tailsample"
)

// DefaultAddress is where the X-Ray daemon and the SDKs meet: UDP and TCP on
// the same port.
const DefaultAddress = "127.0.0.1:2000"

// MaxBatchDocuments is how many documents the X-Ray daemon puts in one
// PutTraceSegments call; Fluoro's daemon does the same.
const MaxBatchDocuments = 50

// Config is the daemon's configuration; cmd/fluoro fills it from flags, the
// environment (AWS_XRAY_DAEMON_ADDRESS) and the YAML file given with --config.
type Config struct {
	// UDP is the daemon-protocol address the SDKs send segments to.
	UDP string `yaml:"udp"`
	// TCP serves the sampling proxy, /healthz and /metrics.
	TCP string `yaml:"tcp"`
	// Endpoint is the Fluoro server's X-Ray API, e.g. http://fluoro:2000.
	Endpoint string `yaml:"endpoint"`
	// SpoolDir holds batches the server could not take; "" disables spooling
	// (batches are then dropped, and counted, after their retries).
	SpoolDir string `yaml:"spool_dir"`
	// SpoolMaxBytes caps the spool on disk; past it the oldest batches are
	// dropped and counted.
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
	// BatchDocuments is how many documents go in one PutTraceSegments call
	// (at most MaxBatchDocuments).
	BatchDocuments int `yaml:"batch_documents"`
	// FlushInterval bounds how long a document waits for its batch to fill.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Concurrency is how many PutTraceSegments calls may be in flight.
	Concurrency int `yaml:"concurrency"`
	// QueueBatches bounds the batches waiting for a sender; past it batches
	// go to the spool (or are dropped without one).
	QueueBatches int `yaml:"queue_batches"`
	// RequestTimeout bounds one HTTP call to the server.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// Attempts is how many times a batch is tried before it is spooled.
	Attempts int `yaml:"attempts"`
	// BackoffBase and BackoffMax shape the exponential backoff with full
	// jitter between attempts and between replay probes.
	BackoffBase time.Duration `yaml:"backoff_base"`
	BackoffMax  time.Duration `yaml:"backoff_max"`
	// TelemetryInterval is how often a TelemetryRecord is made (X-Ray: 60s);
	// 0 disables PutTelemetryRecords.
	TelemetryInterval time.Duration `yaml:"telemetry_interval"`
	// Hostname, InstanceID and ResourceARN identify this daemon in its
	// telemetry records (AWS_HOSTNAME, AWS_INSTANCE_ID and -a in X-Ray's).
	Hostname    string `yaml:"hostname"`
	InstanceID  string `yaml:"instance_id"`
	ResourceARN string `yaml:"resource_arn"`
	// UDPReaders is how many goroutines read the UDP socket.
	UDPReaders int `yaml:"udp_readers"`
	// OTLPGRPC and OTLPHTTP are the OTLP/gRPC and OTLP/HTTP (/v1/traces)
	// addresses; spans are mapped to X-Ray documents here, at the edge, and
	// relayed like the SDKs' segments. Empty disables one.
	OTLPGRPC string `yaml:"otlp_grpc"`
	OTLPHTTP string `yaml:"otlp_http"`
	// TailSampling, when enabled, decides at the edge which traces are
	// relayed (docs/tail-sampling.md); off by default.
	TailSampling tailsample.Config `yaml:"tail_sampling"`
	// Redact drops and masks sensitive data before documents leave the
	// host (internal/redact); off by default.
	Redact redact.Config `yaml:"redact"`
	// UDPBufferBytes is the kernel receive buffer asked for the UDP socket.
	UDPBufferBytes int `yaml:"udp_buffer_bytes"`
}

// Default is the configuration `fluoro daemon` runs with when given nothing
// but the endpoint, which has no default: the daemon usually runs beside the
// application and the server elsewhere, and on one host both cannot have
// port 2000.
func Default() Config {
	return Config{
		UDP:               DefaultAddress,
		TCP:               DefaultAddress,
		SpoolDir:          filepath.Join(os.TempDir(), "fluoro-daemon-spool"),
		SpoolMaxBytes:     512 << 20,
		BatchDocuments:    MaxBatchDocuments,
		FlushInterval:     100 * time.Millisecond,
		Concurrency:       8,
		QueueBatches:      32,
		RequestTimeout:    5 * time.Second,
		Attempts:          3,
		BackoffBase:       50 * time.Millisecond,
		BackoffMax:        2 * time.Second,
		TelemetryInterval: 60 * time.Second,
		UDPReaders:        2,
		UDPBufferBytes:    8 << 20,
		OTLPGRPC:          "127.0.0.1:4317",
		OTLPHTTP:          "127.0.0.1:4318",
	}
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.UDP); err != nil {
		return fmt.Errorf("udp address %q: %w", c.UDP, err)
	}
	if _, _, err := net.SplitHostPort(c.TCP); err != nil {
		return fmt.Errorf("tcp address %q: %w", c.TCP, err)
	}
	for name, addr := range map[string]string{"otlp_grpc": c.OTLPGRPC, "otlp_http": c.OTLPHTTP} {
		if _, _, err := net.SplitHostPort(addr); addr != "" && err != nil {
			return fmt.Errorf("%s address %q: %w", name, addr, err)
		}
	}
	if c.Redact.Enabled {
		if _, err := redact.New(c.Redact); err != nil {
			return err
		}
	}
	if c.TailSampling.Enabled {
		if err := c.TailSampling.Validate(); err != nil {
			return fmt.Errorf("tail_sampling: %w", err)
		}
	}
	if c.Endpoint == "" {
		return errors.New("endpoint must be set: the Fluoro server's API, e.g. http://fluoro:2000")
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return fmt.Errorf("endpoint %q: %w", c.Endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("endpoint %q: want http://host:port or https://host:port", c.Endpoint)
	}
	switch {
	case c.SpoolDir != "" && c.SpoolMaxBytes < 1<<20:
		return fmt.Errorf("spool_max_bytes %d is below the minimum of 1 MiB", c.SpoolMaxBytes)
	case c.BatchDocuments < 1 || c.BatchDocuments > MaxBatchDocuments:
		return fmt.Errorf("batch_documents %d: want 1 to %d", c.BatchDocuments, MaxBatchDocuments)
	case c.FlushInterval <= 0 || c.FlushInterval > 10*time.Second:
		return fmt.Errorf("flush_interval %v: want more than 0 and at most 10s", c.FlushInterval)
	case c.Concurrency < 1 || c.Concurrency > 256:
		return fmt.Errorf("concurrency %d: want 1 to 256", c.Concurrency)
	case c.QueueBatches < 1:
		return fmt.Errorf("queue_batches %d: want at least 1", c.QueueBatches)
	case c.RequestTimeout <= 0:
		return fmt.Errorf("request_timeout %v: want more than 0", c.RequestTimeout)
	case c.Attempts < 1:
		return fmt.Errorf("attempts %d: want at least 1", c.Attempts)
	case c.BackoffBase <= 0 || c.BackoffMax < c.BackoffBase:
		return fmt.Errorf("backoff %v..%v: want 0 < backoff_base <= backoff_max", c.BackoffBase, c.BackoffMax)
	case c.TelemetryInterval < 0:
		return fmt.Errorf("telemetry_interval %v: want 0 (off) or more", c.TelemetryInterval)
	case c.UDPReaders < 1:
		return fmt.Errorf("udp_readers %d: want at least 1", c.UDPReaders)
	case len(c.Hostname) > 255 || len(c.InstanceID) > 20 || len(c.ResourceARN) > 500:
		return errors.New("hostname, instance_id or resource_arn is longer than X-Ray allows (255, 20, 500)")
	}
	return nil
}

// ParseDaemonAddress reads AWS_XRAY_DAEMON_ADDRESS as the X-Ray SDKs do:
// "host:port" for both UDP and TCP, or "tcp:host:port udp:host:port" (either
// order, one space) for each on its own.
func ParseDaemonAddress(s string) (udp, tcp string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", errors.New("daemon address is empty")
	}
	parts := strings.Fields(s)
	switch len(parts) {
	case 1:
		if strings.HasPrefix(s, "udp:") || strings.HasPrefix(s, "tcp:") {
			return "", "", fmt.Errorf("daemon address %q: a udp: or tcp: form needs both, as \"tcp:host:port udp:host:port\"", s)
		}
		if err := checkHostPort(s); err != nil {
			return "", "", fmt.Errorf("daemon address %q: %w", s, err)
		}
		return s, s, nil
	case 2:
		for _, p := range parts {
			kind, addr, ok := strings.Cut(p, ":")
			if !ok {
				return "", "", fmt.Errorf("daemon address %q: %q has no udp: or tcp: prefix", s, p)
			}
			if err := checkHostPort(addr); err != nil {
				return "", "", fmt.Errorf("daemon address %q: %w", s, err)
			}
			switch strings.ToLower(kind) {
			case "udp":
				if udp != "" {
					return "", "", fmt.Errorf("daemon address %q: udp given twice", s)
				}
				udp = addr
			case "tcp":
				if tcp != "" {
					return "", "", fmt.Errorf("daemon address %q: tcp given twice", s)
				}
				tcp = addr
			default:
				return "", "", fmt.Errorf("daemon address %q: unknown protocol %q, want udp or tcp", s, kind)
			}
		}
		return udp, tcp, nil
	default:
		return "", "", fmt.Errorf("daemon address %q: want \"host:port\" or \"tcp:host:port udp:host:port\"", s)
	}
}

func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if port == "" {
		return errors.New("no port")
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return fmt.Errorf("port %q is not a number", port)
		}
	}
	return nil
}
