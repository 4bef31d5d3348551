// Package server assembles `fluoro server`: the embedded store, the ingest
// pipeline, the UDP daemon-protocol listener and the HTTP API, started in
// order and stopped in reverse.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fluoro-dev/fluoro/internal/alert"
	"github.com/fluoro-dev/fluoro/internal/analytics"
	"github.com/fluoro-dev/fluoro/internal/api"
	"github.com/fluoro-dev/fluoro/internal/deploy"
	"github.com/fluoro-dev/fluoro/internal/ingest"
	"github.com/fluoro-dev/fluoro/internal/insight"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/otlp/receiver"
	"github.com/fluoro-dev/fluoro/internal/sampling"
	"github.com/fluoro-dev/fluoro/internal/servicegraph"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/tailsample"
	"github.com/fluoro-dev/fluoro/internal/ui"
)

// Config is the server's configuration; cmd/fluoro fills it from flags and
// the YAML file given with --config.
type Config struct {
	// Data is the embedded store's directory.
	Data string `yaml:"data"`
	// UDP is the X-Ray daemon protocol address.
	UDP string `yaml:"udp"`
	// HTTP is the X-Ray API, /healthz and /metrics address (TCP).
	HTTP string `yaml:"http"`
	// Retention is how long traces are kept.
	Retention time.Duration `yaml:"retention"`
	// BlocksAfter is how long after its start a finished trace moves from
	// the live databases into the compact, columnar block files
	// (docs/storage-format.md). Spans arriving later still join it.
	BlocksAfter time.Duration `yaml:"blocks_after"`
	// BlocksInterval is how often traces are moved (tests shorten it).
	BlocksInterval time.Duration `yaml:"-"`
	// UDPBufferBytes is the kernel receive buffer asked for the UDP socket.
	UDPBufferBytes int `yaml:"udp_buffer_bytes"`
	// UDPReaders is how many goroutines read the UDP socket.
	UDPReaders int `yaml:"udp_readers"`
	// CacheBytes is the store's block cache.
	CacheBytes int64 `yaml:"cache_bytes"`
	// Ingest tunes the pipeline (queue bounds, fsync interval, summary delay).
	Ingest IngestConfig `yaml:"ingest"`
	// Now is the insights' clock (time.Now when nil); tests move it.
	Now func() time.Time `yaml:"-"`
	// Sampling configures centralized sampling rules and targets.
	Sampling SamplingConfig `yaml:"sampling"`
	// TailSampling decides which traces are stored (off by default).
	TailSampling tailsample.Config `yaml:"tail_sampling"`
	// OTLPGRPC and OTLPHTTP are the OTLP/gRPC and OTLP/HTTP (/v1/traces)
	// addresses; empty disables one.
	OTLPGRPC string `yaml:"otlp_grpc"`
	OTLPHTTP string `yaml:"otlp_http"`
	// Alerts tunes the alert evaluator (interval, scan bound, webhooks).
	Alerts alert.Settings `yaml:"alerts"`
}

// SamplingConfig is the YAML form of the sampling.Config settings.
type SamplingConfig struct {
	// Region and Account appear in rule ARNs (us-east-1, 000000000000).
	Region  string `yaml:"region"`
	Account string `yaml:"account"`
	// QuotaTTL is how long a granted reservoir quota lasts (1m; at least 20s).
	QuotaTTL time.Duration `yaml:"quota_ttl"`
}

// IngestConfig is the YAML form of ingest.Config.
type IngestConfig struct {
	QueueItems    int           `yaml:"queue_items"`
	QueueBytes    int           `yaml:"queue_bytes"`
	Workers       int           `yaml:"workers"`
	SyncInterval  time.Duration `yaml:"sync_interval"`
	TraceIdle     time.Duration `yaml:"trace_idle"`
	MaxLiveTraces int           `yaml:"max_live_traces"`
}

// Default returns the configuration `fluoro server` runs with when given
// nothing.
func Default() Config {
	return Config{
		Data:           "./fluoro-data",
		UDP:            "127.0.0.1:2000",
		HTTP:           "127.0.0.1:2000",
		Retention:      720 * time.Hour,
		BlocksAfter:    15 * time.Minute,
		UDPBufferBytes: 32 << 20,
		UDPReaders:     2,
		CacheBytes:     128 << 20,
		OTLPGRPC:       "127.0.0.1:4317",
		OTLPHTTP:       "127.0.0.1:4318",
		Ingest: IngestConfig{
			SyncInterval: 500 * time.Millisecond,
			TraceIdle:    3 * time.Second,
		},
		TailSampling: tailsample.Default(),
	}
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	if c.Data == "" {
		return errors.New("data directory must be set")
	}
	if _, _, err := net.SplitHostPort(c.UDP); err != nil {
		return fmt.Errorf("udp address %q: %w", c.UDP, err)
	}
	if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
		return fmt.Errorf("http address %q: %w", c.HTTP, err)
	}
	for name, addr := range map[string]string{"otlp_grpc": c.OTLPGRPC, "otlp_http": c.OTLPHTTP} {
		if _, _, err := net.SplitHostPort(addr); addr != "" && err != nil {
			return fmt.Errorf("%s address %q: %w", name, addr, err)
		}
	}
	if c.BlocksAfter < time.Minute || c.BlocksAfter <= c.Ingest.TraceIdle {
		return fmt.Errorf("blocks_after %v must be at least 1m and longer than trace_idle", c.BlocksAfter)
	}
	if c.Retention < time.Hour {
		return fmt.Errorf("retention %v is shorter than the minimum of 1h", c.Retention)
	}
	if c.Ingest.SyncInterval > time.Second {
		return fmt.Errorf("ingest sync_interval %v is longer than 1s, the documented bound on what a crash loses", c.Ingest.SyncInterval)
	}
	if err := c.TailSampling.Validate(); err != nil {
		return err
	}
	if err := c.Alerts.Validate(); err != nil {
		return err
	}
	return nil
}

// Server is a running `fluoro server`.
type Server struct {
	cfg      Config
	log      *slog.Logger
	st       *embedded.Store
	insights *insight.Engine
	pipe     *ingest.Pipeline
	graph    *servicegraph.Service
	tail     *tailsample.Sampler // nil when tail sampling is off
	alerts   *alert.Manager
	udp      *ingest.UDP
	otlp     *receiver.Receiver
	http     *http.Server
	httpLn   net.Listener
	stopOnce sync.Once
	stop     chan struct{}
	bg       sync.WaitGroup

	blocksMoved prometheus.Counter
}

// Start opens the store, summarises what an unclean stop left pending, and
// starts the listeners. /healthz answers 200 once Start returns.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, log: log, stop: make(chan struct{}),
		blocksMoved: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_blocks_moved_documents_total",
			Help: "Span documents moved from the live store to block files."})}
	defer func() {
		if err != nil {
			s.closeAll(context.Background())
		}
	}()
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if s.st, err = embedded.Open(cfg.Data, embedded.Options{CacheBytes: cfg.CacheBytes}); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fluoro_store_disk_bytes", Help: "Bytes the store uses on disk."},
			func() float64 { return float64(s.st.Stats().DiskBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fluoro_blocks_lag_seconds",
			Help: "How far moving finished traces to blocks is behind --blocks-after (0: keeping up)."},
			func() float64 {
				oldest, ok := s.st.OldestUnmoved()
				due := time.Now().Add(-cfg.BlocksAfter).Unix()
				if !ok || due <= int64(oldest) {
					return 0
				}
				return float64(due - int64(oldest))
			}),
		s.blocksMoved)
	if s.insights, err = insight.New(ctx, insight.Config{Objects: s.st.Objects(), Now: cfg.Now, Logger: log}); err != nil {
		return nil, err
	}
	if s.graph, err = servicegraph.New(ctx, servicegraph.Config{Store: s.st, FlushInterval: cfg.Ingest.SyncInterval, Logger: log}); err != nil {
		return nil, err
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fluoro_servicegraph_reopened_traces_skipped_total",
			Help: "Traces reopened by late spans whose late segments the service map does not count."},
			func() float64 { return float64(s.graph.Skipped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fluoro_servicegraph_corrupt_buckets_total",
			Help: "Stored service-graph buckets that did not decode and were skipped."},
			func() float64 { return float64(s.graph.Corrupt()) }))
	icfg := ingest.Config{
		QueueItems: cfg.Ingest.QueueItems, QueueBytes: cfg.Ingest.QueueBytes, Workers: cfg.Ingest.Workers,
		SyncInterval: cfg.Ingest.SyncInterval, TraceIdle: cfg.Ingest.TraceIdle, MaxLiveTraces: cfg.Ingest.MaxLiveTraces,
		Logger: log, Registerer: reg,
		OnComplete: func(ctx context.Context, sum *model.Summary, spans []*model.Span) {
			s.graph.OnComplete(ctx, sum, spans)
			s.insights.Observe(ctx, sum, spans)
		},
	}
	if cfg.TailSampling.Enabled {
		sink := pipeSink{s}
		if s.tail, err = tailsample.New(ctx, cfg.TailSampling, sink, tailsample.Options{Objects: s.st.Objects(), Logger: log, Registerer: reg}); err != nil {
			return nil, err
		}
		icfg.Sampler = s.tail
	}
	if s.pipe, err = ingest.New(s.st, icfg); err != nil {
		return nil, err
	}
	s.expire(ctx)
	if err := s.pipe.Start(ctx); err != nil {
		return nil, err
	}
	s.graph.Start()
	samp, err := sampling.Open(ctx, sampling.Config{Objects: s.st.Objects(), Region: cfg.Sampling.Region,
		Account: cfg.Sampling.Account, QuotaTTL: cfg.Sampling.QuotaTTL})
	if err != nil {
		return nil, fmt.Errorf("open sampling rules: %w", err)
	}
	handler := api.New(api.Config{Store: s.st, Ingest: s.pipe, Gatherer: reg, Logger: log, ServiceGraph: s.graph,
		Sampling: samp, Registerer: reg, Insights: s.insights, Analytics: analytics.NewHandler(s.st, nil, log)})
	if s.tail != nil {
		s.tail.Start()
	}
	if s.udp, err = ingest.ListenUDP(cfg.UDP, cfg.UDPBufferBytes, cfg.UDPReaders, s.pipe); err != nil {
		return nil, err
	}
	if s.otlp, err = receiver.Start(receiver.Config{GRPC: cfg.OTLPGRPC, HTTP: cfg.OTLPHTTP, Sink: s.pipe, Logger: log}); err != nil {
		return nil, err
	}
	log.Info("otlp listeners", "grpc", cfg.OTLPGRPC, "http", cfg.OTLPHTTP)
	if s.httpLn, err = net.Listen("tcp", cfg.HTTP); err != nil {
		return nil, fmt.Errorf("listen http: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(tailsample.BoostsPath, tailsample.Handler(s.tail))
	mux.Handle(tailsample.BoostsPath+"/", tailsample.Handler(s.tail))
	deploys, err := deploy.New(deploy.Config{Objects: s.st.Objects(), Graph: s.graph, Now: cfg.Now, Logger: log,
		Settle: max(cfg.Ingest.TraceIdle, 3*time.Second) + 2*max(cfg.Ingest.SyncInterval, time.Second)})
	if err != nil {
		return nil, err
	}
	dh := deploys.Handler() // deployment markers and their gates (docs/deployments.md)
	mux.Handle(deploy.Path, dh)
	mux.Handle(deploy.Path+"/", dh)
	if s.alerts, err = alert.Open(ctx, alert.Config{Settings: cfg.Alerts, Objects: s.st.Objects(), Store: s.st,
		Graph: s.graph, Now: cfg.Now, Logger: log, Registerer: reg}); err != nil {
		return nil, err
	}
	alertsAPI := s.alerts.Handler()
	mux.Handle(alert.Path, alertsAPI)
	mux.Handle(alert.Path+"/", alertsAPI)
	mux.Handle("/", ui.New(ui.Config{Objects: s.st.Objects(), Next: handler, Logger: log})) // the web console at /, then the API
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.bg.Add(3)
	go func() {
		defer s.bg.Done()
		ictx, cancel := context.WithCancel(context.Background())
		go func() { <-s.stop; cancel() }()
		s.insights.Run(ictx, 10*time.Second)
	}()
	go func() {
		defer s.bg.Done()
		if err := s.http.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	go s.retentionLoop()
	s.bg.Add(1)
	go s.blockLoop()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		actx, cancel := context.WithCancel(context.Background())
		go func() { <-s.stop; cancel() }()
		s.alerts.Run(actx)
	}()
	handler.SetReady()
	log.Info("fluoro server ready", "udp", s.udp.Addr().String(), "http", s.httpLn.Addr().String(), "data", cfg.Data,
		"retention", cfg.Retention.String())
	return s, nil
}

// UDPAddr and HTTPAddr are the bound listener addresses.
func (s *Server) UDPAddr() net.Addr  { return s.udp.Addr() }
func (s *Server) HTTPAddr() net.Addr { return s.httpLn.Addr() }

// OTLPGRPCAddr and OTLPHTTPAddr are the bound OTLP addresses, nil when
// disabled.
func (s *Server) OTLPGRPCAddr() net.Addr { return s.otlp.GRPCAddr() }
func (s *Server) OTLPHTTPAddr() net.Addr { return s.otlp.HTTPAddr() }

// Insights is the insight engine, for tests that move its clock and call
// Tick.
func (s *Server) Insights() *insight.Engine { return s.insights }

// Store is the server's store, for tests.
func (s *Server) Store() store.Store { return s.st }

func (s *Server) retentionLoop() {
	defer s.bg.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.expire(context.Background())
		case <-s.stop:
			return
		}
	}
}

// blockLoop moves finished traces into block files every minute.
func (s *Server) blockLoop() {
	defer s.bg.Done()
	mover := s.st
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stop; cancel() }()
	every := s.cfg.BlocksInterval
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		now := time.Now()
		if s.cfg.Now != nil {
			now = s.cfg.Now()
		}
		before := now.Add(-s.cfg.BlocksAfter).Unix()
		// One block at a time, then a pause twice as long as the work: moving
		// takes at most a third of a core, and ingest keeps the rest.
		for more := before > 0; more && ctx.Err() == nil; {
			start := time.Now()
			var st embedded.MoveStats
			var err error
			st, more, err = mover.MoveBlock(ctx, uint32(before))
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Error("move finished traces to blocks", "err", err)
			case st.Traces > 0:
				s.blocksMoved.Add(float64(st.Documents))
				s.log.Debug("moved finished traces to blocks", "traces", st.Traces, "documents", st.Documents,
					"blocks", st.Blocks, "bytes", st.Bytes)
			}
			if more {
				select {
				case <-time.After(2 * time.Since(start)):
				case <-s.stop:
					return
				}
			}
		}
		select {
		case <-t.C:
		case <-s.stop:
			return
		}
	}
}

// expire deletes traces older than the retention period.
func (s *Server) expire(ctx context.Context) {
	cutoff := time.Now().Add(-s.cfg.Retention).Unix()
	if cutoff <= 0 {
		return
	}
	if err := s.st.DeleteBefore(ctx, uint32(cutoff)); err != nil {
		s.log.Error("delete expired traces", "err", err)
	}
}

// Shutdown stops accepting data, writes everything accepted, and closes the
// store: after it returns, every accepted document is on disk.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.closeAll(ctx)
}

func (s *Server) closeAll(ctx context.Context) error {
	var errs []error
	s.stopOnce.Do(func() {
		close(s.stop)
		if s.udp != nil {
			errs = append(errs, s.udp.Close())
		}
		if s.otlp != nil {
			errs = append(errs, s.otlp.Close(ctx))
		}
		if s.http != nil {
			errs = append(errs, s.http.Shutdown(ctx))
		} else if s.httpLn != nil {
			s.httpLn.Close()
		}
		s.bg.Wait()
		if s.alerts != nil {
			errs = append(errs, s.alerts.Close(ctx))
		}
		if s.pipe != nil {
			errs = append(errs, s.pipe.Close(ctx))
		}
		if s.graph != nil {
			errs = append(errs, s.graph.Close(ctx)) // after the last traces completed
		}
		if s.st != nil {
			errs = append(errs, s.st.Close())
		}
	})
	return errors.Join(errs...)
}

// pipeSink hands the tail sampler's kept spans, and the summaries it
// computed for them, to the ingest pipeline.
type pipeSink struct{ s *Server }

func (p pipeSink) Write(ctx context.Context, policy string, spans []model.Span) error {
	return p.s.pipe.Write(ctx, policy, spans)
}

func (p pipeSink) HintSummary(id model.TraceID, sum *model.Summary, n int) {
	p.s.pipe.HintSummary(id, sum, n)
}
