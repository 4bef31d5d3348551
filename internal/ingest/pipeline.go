// Package ingest moves accepted documents into the store: the daemon-protocol
// UDP listener, a bounded queue that drops the oldest data when the store
// falls behind, store writers, the fsync policy, and the aggregator that
// summarises each trace once it stops receiving spans.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// Config tunes the pipeline. Zero fields take the defaults in parentheses.
type Config struct {
	// QueueItems and QueueBytes bound the queue (100,000 documents, 64 MiB).
	QueueItems int
	QueueBytes int
	// Workers decode and store documents in parallel (2).
	Workers int
	// BatchSize is the most documents written to the store at once (1,000).
	BatchSize int
	// SyncInterval is the fsync period (500 ms): a crash loses at most the
	// documents accepted in the last SyncInterval plus the queue's transit
	// time, which Fluoro documents as one second.
	SyncInterval time.Duration
	// TraceIdle is how long a trace must go without a new span before its
	// summary is written (3 s).
	TraceIdle time.Duration
	// MaxLiveTraces caps the traces held in memory awaiting their summary
	// (20,000: about 10 KB of heap each for SDK-shaped traces of a dozen
	// spans); past it the least recently updated are summarised early, and
	// past a quarter more the store writers wait for room, so the queue
	// takes the excess and drops the oldest. At 30,000, overload (25,000
	// documents/s offered) filled the heap to its limit and GC took the
	// CPU: 8,200 documents/s stored, against 14,600 at 20,000.
	MaxLiveTraces int
	// OnComplete, when set, is called once for every trace whose summary
	// was just stored (including those summarised again after a restart or
	// because late spans reopened them: sum.Revision then counts the
	// reopenings), with the trace's deduplicated spans, whose Doc fields may
	// be nil. It runs on the pipeline's flush goroutine, so it must be quick;
	// neither argument may be retained after it returns.
	OnComplete func(ctx context.Context, sum *model.Summary, spans []*model.Span)
	// Sampler, when set, takes every decoded span in place of the store
	// (tail sampling): it writes the spans of the traces it keeps back
	// through Pipeline.Write.
	Sampler    Sampler
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.QueueItems, 100_000)
	def(&c.QueueBytes, 64<<20)
	def(&c.Workers, 2)
	def(&c.BatchSize, 1000)
	def(&c.MaxLiveTraces, 20_000)
	if c.SyncInterval <= 0 {
		c.SyncInterval = 500 * time.Millisecond
	}
	if c.TraceIdle <= 0 {
		c.TraceIdle = 3 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
}

// Sampler decides which traces are stored (internal/tailsample).
type Sampler interface {
	// Offer takes decoded spans. It must copy what it keeps of the slice,
	// which the caller reuses; the spans' Doc bytes are not modified later.
	Offer(spans []model.Span)
	// Close is called once, after the last Offer: it must decide and write
	// everything it still holds before returning.
	Close(ctx context.Context) error
}

// Pipeline is the path from listeners to the store. Its methods are safe for
// concurrent use.
type Pipeline struct {
	cfg   Config
	st    store.Store
	q     *queue
	agg   *aggregator
	log   *rateLog
	dirty atomic.Bool // written since the last sync

	wg      sync.WaitGroup // workers
	bg      sync.WaitGroup // syncer and flusher
	stopBg  chan struct{}
	closeMu sync.Mutex
	closed  bool

	received  *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	dropped   prometheus.Counter
	stored    prometheus.Counter
	storeErrs prometheus.Counter
	summaries prometheus.Counter
	forced    prometheus.Counter
}

// New builds a pipeline over st. Start must be called before documents flow.
func New(st store.Store, cfg Config) (*Pipeline, error) {
	cfg.setDefaults()
	p := &Pipeline{
		cfg:    cfg,
		st:     st,
		q:      newQueue(cfg.QueueItems, cfg.QueueBytes),
		log:    newRateLog(cfg.Logger, 10*time.Second, cfg.Now),
		stopBg: make(chan struct{}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fluoro_ingest_documents_received_total",
			Help: "Segment documents received, by transport."}, []string{"transport"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fluoro_ingest_documents_rejected_total",
			Help: "Documents or datagrams rejected, by reason (X-Ray error code)."}, []string{"reason"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_ingest_dropped_total",
			Help: "Accepted documents dropped because the queue was full (oldest first)."}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_ingest_spans_stored_total",
			Help: "Span documents written to the store."}),
		storeErrs: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_ingest_store_errors_total",
			Help: "Store writes that failed."}),
		summaries: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_ingest_summaries_total",
			Help: "Trace summaries written."}),
		forced: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_ingest_traces_forced_total",
			Help: "Traces summarised before going idle because the live-trace cap was reached."}),
	}
	p.agg = newAggregator(st, cfg.TraceIdle, cfg.MaxLiveTraces, cfg.Now)
	p.agg.forced = func(n int) { p.forced.Add(float64(n)) }
	p.agg.summarised = func(n int) { p.summaries.Add(float64(n)) }
	if cfg.OnComplete != nil {
		p.agg.complete = cfg.OnComplete
	}
	for _, c := range []prometheus.Collector{p.received, p.rejected, p.dropped, p.stored, p.storeErrs, p.summaries, p.forced,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fluoro_ingest_queue_documents", Help: "Documents waiting in the queue."},
			func() float64 { n, _ := p.q.len(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fluoro_ingest_live_traces", Help: "Traces awaiting their summary."},
			func() float64 { return float64(p.agg.liveCount()) }),
	} {
		if err := cfg.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("register ingest metrics: %w", err)
		}
	}
	return p, nil
}

// Start summarises what a crash left pending, then starts the workers, the
// syncer and the summary flusher.
func (p *Pipeline) Start(ctx context.Context) error {
	n, err := p.agg.recover(ctx)
	if err != nil {
		return fmt.Errorf("recover pending traces: %w", err)
	}
	if n > 0 {
		p.cfg.Logger.Info("summarised traces left pending by an unclean stop", "traces", n)
	}
	for range p.cfg.Workers {
		p.wg.Add(1)
		go p.work()
	}
	p.bg.Add(2)
	go p.every(p.cfg.SyncInterval, p.sync)
	go p.flusher()
	return nil
}

func (p *Pipeline) every(d time.Duration, fn func()) {
	defer p.bg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			fn()
		case <-p.stopBg:
			return
		}
	}
}

// flusher summarises the idle traces every second, and at once when the
// live traces pass their cap.
func (p *Pipeline) flusher() {
	defer p.bg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-p.agg.kick:
		case <-p.stopBg:
			return
		}
		if err := p.agg.flush(context.Background(), false); err != nil {
			p.cfg.Logger.Error("write trace summaries", "err", err)
		}
	}
}

func (p *Pipeline) sync() {
	if !p.dirty.Swap(false) {
		return
	}
	if err := p.st.Sync(); err != nil {
		p.dirty.Store(true)
		p.cfg.Logger.Error("sync store", "err", err)
	}
}

// ErrClosed is returned for documents offered after Close.
var ErrClosed = errors.New("ingest pipeline is closed")

// Raw queues one undecoded document received over UDP. doc must not be
// modified afterwards.
func (p *Pipeline) Raw(doc []byte) error {
	p.received.WithLabelValues("udp").Inc()
	return p.push(item{raw: doc, size: len(doc)})
}

// Spans queues documents decoded and validated by an API handler.
func (p *Pipeline) Spans(spans []model.Span) error {
	size := 0
	for i := range spans {
		size += len(spans[i].Doc) + 256
	}
	return p.push(item{spans: spans, size: size})
}

// CountReceived counts documents received by an API call.
func (p *Pipeline) CountReceived(transport string, n int) {
	p.received.WithLabelValues(transport).Add(float64(n))
}

func (p *Pipeline) push(it item) error {
	dropped, ok := p.q.push(it)
	if !ok {
		return ErrClosed
	}
	if dropped > 0 {
		p.dropped.Add(float64(dropped))
		p.log.warn("queue-full", "ingest queue full: dropping the oldest documents", "dropped", dropped)
	}
	return nil
}

// Reject counts a refused document under reason and logs it at a bounded
// rate.
func (p *Pipeline) Reject(reason, id string, err error) {
	p.rejected.WithLabelValues(reason).Inc()
	p.log.warn(reason, "rejected segment document", "reason", reason, "id", id, "err", err)
}

func (p *Pipeline) work() {
	defer p.wg.Done()
	var items []item
	var spans []model.Span
	for {
		var ok bool
		items, ok = p.q.pop(items[:0], p.cfg.BatchSize)
		if !ok {
			return
		}
		spans = spans[:0]
		for _, it := range items {
			if it.spans != nil {
				spans = append(spans, it.spans...)
				continue
			}
			decoded, err := xray.Decode(it.raw)
			if err != nil {
				var de *xray.DocError
				if errors.As(err, &de) {
					p.Reject(de.Code, de.ID, err)
				} else {
					p.Reject(xray.CodeInvalidSegment, "", err)
				}
				continue
			}
			spans = append(spans, decoded...)
		}
		if len(spans) == 0 {
			continue
		}
		if p.cfg.Sampler != nil {
			p.cfg.Sampler.Offer(spans)
		} else {
			p.Write(context.Background(), "", spans)
		}
		clear(spans) // release documents for the garbage collector
	}
}

// Write stores spans and hands them to the summary aggregator. policy names
// the tail-sampling policy that kept their traces (recorded in the traces'
// summaries as SampledBy), or is empty. It is the Sampler's sink; the error
// is also logged and counted.
func (p *Pipeline) Write(ctx context.Context, policy string, spans []model.Span) error {
	if err := p.st.Append(ctx, spans); err != nil {
		p.storeErrs.Inc()
		p.cfg.Logger.Error("store spans", "spans", len(spans), "err", err)
		return err
	}
	p.dirty.Store(true)
	p.stored.Add(float64(len(spans)))
	p.agg.add(spans, policy)
	return nil
}

// HintSummary hands the aggregator the summary the tail sampler computed for
// the n spans of trace id it has just written, so that the trace is not
// summarised twice (tailsample.SummaryHinter). A hint for a trace that has
// other spans is ignored.
func (p *Pipeline) HintSummary(id model.TraceID, sum *model.Summary, n int) {
	p.agg.hintSummary(id, sum, n)
}

// Close stops accepting documents, writes everything queued, summarises every
// live trace and syncs the store. The store stays open.
func (p *Pipeline) Close(ctx context.Context) error {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	p.q.close()
	p.wg.Wait()
	var serr error
	if p.cfg.Sampler != nil {
		serr = p.cfg.Sampler.Close(ctx)
	}
	close(p.stopBg)
	p.bg.Wait()
	err := p.agg.flush(ctx, true)
	if serr := p.st.Sync(); err == nil {
		err = serr
	}
	return errors.Join(serr, err)
}
