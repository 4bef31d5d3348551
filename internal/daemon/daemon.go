package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fluoro-dev/fluoro/internal/otlp/receiver"
	"github.com/fluoro-dev/fluoro/internal/redact"
)

// Daemon is a running `fluoro daemon`.
type Daemon struct {
	cfg    Config
	log    *slog.Logger
	reg    *prometheus.Registry
	m      *metrics
	sp     *spool
	up     *upstream
	relay  *relay
	udp    *listener
	otlp   *receiver.Receiver // nil when both OTLP listeners are off
	edge   *edgeSampler       // nil without tail sampling at the edge
	redact *redactor          // nil without redaction
	tcpLn  net.Listener
	http   *http.Server
	tele   *telemetry
	ready  atomic.Bool
	httpWG sync.WaitGroup
	once   sync.Once
}

// Start opens the spool (replaying what an earlier process left in it),
// starts the relay, and binds the UDP and TCP listeners. version goes in the
// User-Agent of calls to the server.
func Start(cfg Config, log *slog.Logger, version string) (_ *Daemon, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	d := &Daemon{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			d.Shutdown(context.Background())
		}
	}()
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.m = newMetrics(d.reg)
	if cfg.SpoolDir != "" {
		if d.sp, err = openSpool(cfg.SpoolDir, cfg.SpoolMaxBytes, d.m.spoolDrop); err != nil {
			return nil, err
		}
		registerSpool(d.reg, d.sp)
		if st := d.sp.stats(); st.records > 0 {
			log.Info("replaying the spool left by an earlier run", "batches", st.records, "documents", st.segments, "bytes", st.bytes)
		}
	}
	d.up = newUpstream(cfg, d.m, log, version)
	d.relay = newRelay(cfg, d.m, d.sp, d.up, log)
	d.relay.start()
	var docs adder = d.relay
	if cfg.TailSampling.Enabled {
		if d.edge, err = newEdgeSampler(cfg.TailSampling, d.relay, d.reg, log); err != nil {
			return nil, fmt.Errorf("tail sampling: %w", err)
		}
		docs = d.edge
	}
	if cfg.Redact.Enabled {
		r, err := redact.New(cfg.Redact)
		if err != nil {
			return nil, fmt.Errorf("redact: %w", err)
		}
		d.redact = &redactor{r: r, next: docs, m: d.m}
		docs = d.redact
	}
	if d.udp, err = listenUDP(cfg.UDP, cfg.UDPBufferBytes, cfg.UDPReaders, docs, d.m); err != nil {
		return nil, err
	}
	if cfg.OTLPGRPC != "" || cfg.OTLPHTTP != "" {
		if d.otlp, err = receiver.Start(receiver.Config{GRPC: cfg.OTLPGRPC, HTTP: cfg.OTLPHTTP,
			Sink: &otlpSink{relay: d.relay, edge: d.edge, redact: d.redact, m: d.m}, Logger: log}); err != nil {
			return nil, err
		}
	}
	if d.tcpLn, err = net.Listen("tcp", cfg.TCP); err != nil {
		return nil, fmt.Errorf("listen tcp: %w", err)
	}
	target, _ := url.Parse(cfg.Endpoint) // checked by Validate
	d.http = &http.Server{
		Handler:           newHandler(target, d.up.client.Transport, d.reg, d.reg, d.ready.Load),
		ReadHeaderTimeout: 10 * time.Second,
	}
	d.httpWG.Add(1)
	go func() {
		defer d.httpWG.Done()
		if err := d.http.Serve(d.tcpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("tcp server stopped", "err", err)
		}
	}()
	if cfg.TelemetryInterval > 0 {
		d.tele = newTelemetry(cfg, d.m, d.up, log)
		d.tele.start()
	}
	d.ready.Store(true)
	log.Info("fluoro daemon ready", "udp", d.udp.addr().String(), "tcp", d.tcpLn.Addr().String(),
		"endpoint", cfg.Endpoint, "spool", cfg.SpoolDir)
	return d, nil
}

// Sink is where other sources (OTLP) hand documents to the relay.
func (d *Daemon) Sink() Sink { return d.relay }

// OTLPGRPCAddr and OTLPHTTPAddr are the bound OTLP addresses, nil when
// disabled.
func (d *Daemon) OTLPGRPCAddr() net.Addr {
	if d.otlp == nil {
		return nil
	}
	return d.otlp.GRPCAddr()
}

func (d *Daemon) OTLPHTTPAddr() net.Addr {
	if d.otlp == nil {
		return nil
	}
	return d.otlp.HTTPAddr()
}

// UDPAddr and TCPAddr are the bound listener addresses.
func (d *Daemon) UDPAddr() net.Addr { return d.udp.addr() }
func (d *Daemon) TCPAddr() net.Addr { return d.tcpLn.Addr() }

// Gatherer is the daemon's metrics registry, for tests and embedding.
func (d *Daemon) Gatherer() prometheus.Gatherer { return d.reg }

// Shutdown stops reading, sends what was read, and spools what the server
// does not take before ctx ends. After it returns nothing read is lost
// unless it was counted as dropped.
func (d *Daemon) Shutdown(ctx context.Context) error {
	var errs []error
	d.once.Do(func() {
		d.ready.Store(false)
		if d.udp != nil {
			errs = append(errs, d.udp.close())
		}
		if d.otlp != nil {
			errs = append(errs, d.otlp.Close(ctx))
		}
		if d.edge != nil {
			errs = append(errs, d.edge.close(ctx))
		}
		if d.http != nil {
			errs = append(errs, d.http.Shutdown(ctx))
			d.httpWG.Wait()
		} else if d.tcpLn != nil {
			d.tcpLn.Close()
		}
		if d.relay != nil {
			if err := d.relay.close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("deliver before shutdown: %w", err))
			}
		}
		if d.tele != nil {
			d.tele.close()
		}
		if d.sp != nil {
			errs = append(errs, d.sp.close())
		}
	})
	return errors.Join(errs...)
}

// Counts are running totals of documents, the ones PutTelemetryRecords
// reports: read from the socket (or given to the Sink), accepted by the
// server, and refused by it or for their framing.
type Counts struct {
	Received, Sent, Rejected, Spillover int64
}

// Counts returns the totals since Start.
func (d *Daemon) Counts() Counts {
	return Counts{Received: d.m.teleReceived.Load(), Sent: d.m.teleSent.Load(),
		Rejected: d.m.teleRejected.Load(), Spillover: d.m.teleSpillover.Load()}
}
