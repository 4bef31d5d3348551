package tailsample

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// Sink receives the spans of kept traces: the server's ingest pipeline
// (which stores them and records the policy on the trace's summary) or the
// daemon's forwarder.
type Sink interface {
	// Write takes the spans of one or more kept traces, all kept by policy.
	// It must not retain the slice after returning; the spans' Doc bytes
	// are not modified later. An error is counted and logged by the
	// sampler; the spans are not retried.
	Write(ctx context.Context, policy string, spans []model.Span) error
}

// Options are the sampler's collaborators.
type Options struct {
	// Objects persists boosts; nil keeps them in memory only.
	Objects store.Objects
	// Now is the clock (time.Now when nil).
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Sampler is the tail sampler. Offer, Poll, the boost methods and Close are
// safe for concurrent use.
type Sampler struct {
	cfg   Config
	comp  compiled
	sink  Sink
	now   func() time.Time
	log   *slog.Logger
	ctl   *controller
	boost *boosts

	mu      sync.Mutex
	buf     map[model.TraceID]*pending
	head    *pending // idle longest; decided first
	tail    *pending
	bytes   int64
	decided *simplelru.LRU[model.TraceID, string] // policy, "" for dropped
	closed  bool

	evalMu sync.Mutex // one evaluator at a time
	ev     evaluator

	stop chan struct{}
	done chan struct{}

	m metrics
}

// pending is a trace awaiting its decision. While deciding is true it is
// out of the idle list and its spans are being evaluated: spans arriving
// meanwhile go to late.
type pending struct {
	id         model.TraceID
	spans      []model.Span
	late       []model.Span
	bytes      int64
	last       time.Time
	prev, next *pending
	deciding   bool
}

// New builds a sampler writing to sink. It loads the persisted boosts.
// Call Start to decide traces as they go idle, and Close at the end.
func New(ctx context.Context, cfg Config, sink Sink, opts Options) (*Sampler, error) {
	cfg.setDefaults()
	comp, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	cache, err := simplelru.NewLRU[model.TraceID, string](cfg.DecisionCache, nil)
	if err != nil {
		return nil, err
	}
	bs, err := loadBoosts(ctx, opts.Objects, opts.Now)
	if err != nil {
		return nil, err
	}
	s := &Sampler{cfg: cfg, comp: comp, sink: sink, now: opts.Now, log: opts.Logger, boost: bs,
		ctl: newController(&cfg, opts.Now()), buf: make(map[model.TraceID]*pending), decided: cache}
	s.ev = evaluator{cfg: &s.cfg, filters: comp.filters}
	if err := s.m.register(opts.Registerer, s, &cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// Start decides idle traces in the background, about ten times per
// DecisionWait (at most once a second), and prunes expired boosts.
func (s *Sampler) Start() {
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	period := min(max(s.cfg.DecisionWait/10, 10*time.Millisecond), time.Second)
	go func() {
		defer close(s.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.Poll(context.Background())
			case <-s.stop:
				return
			}
		}
	}()
}

// Offer buffers spans, or passes them on at once when their trace was
// decided already. It copies the Span values it keeps. When a cap is
// exceeded, the traces idle longest are decided before Offer returns.
func (s *Sampler) Offer(spans []model.Span) {
	now := s.now()
	var lateKept map[string][]model.Span
	var forced []*pending
	droppedSpans := 0
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.log.Error("tail sampler: spans offered after Close were dropped", "spans", len(spans))
		s.m.spans.WithLabelValues("dropped").Add(float64(len(spans)))
		return
	}
	for i := range spans {
		sp := &spans[i]
		p := s.buf[sp.TraceID]
		if p == nil {
			if policy, ok := s.decided.Get(sp.TraceID); ok {
				if policy == "" {
					droppedSpans++
				} else {
					if lateKept == nil {
						lateKept = map[string][]model.Span{}
					}
					lateKept[policy] = append(lateKept[policy], *sp)
				}
				continue
			}
			p = &pending{id: sp.TraceID, spans: make([]model.Span, 0, 4)} // most traces have a few documents
			s.buf[sp.TraceID] = p
		} else if !p.deciding {
			s.unlink(p)
		}
		n := spanBytes(sp)
		p.bytes += n
		s.bytes += n
		if p.deciding {
			p.late = append(p.late, *sp)
			continue
		}
		p.spans = append(p.spans, *sp)
		p.last = now
		s.pushBack(p)
	}
	for (len(s.buf) > s.cfg.MaxTraces || s.bytes > s.cfg.MaxBytes) && s.head != nil {
		p := s.head
		s.unlink(p)
		p.deciding = true
		forced = append(forced, p)
	}
	s.mu.Unlock()

	if droppedSpans > 0 {
		s.m.spans.WithLabelValues("dropped").Add(float64(droppedSpans))
	}
	for policy, spans := range lateKept {
		s.m.spans.WithLabelValues("kept").Add(float64(len(spans)))
		s.write(context.Background(), policy, spans)
	}
	if len(forced) > 0 {
		s.m.forced.Add(float64(len(forced)))
		s.decide(context.Background(), forced)
	}
}

// Poll decides the traces that have gone DecisionWait without a new span,
// adjusts the budget's rate when an interval has passed, and writes what
// is kept. Start calls it periodically; tests call it with a fake clock.
func (s *Sampler) Poll(ctx context.Context) {
	now := s.now()
	s.ctl.tick(now)
	s.decide(ctx, s.take(func(p *pending) bool { return now.Sub(p.last) >= s.cfg.DecisionWait }))
}

// take unlinks the traces from the head of the idle list while due says
// so, marking them as being decided.
func (s *Sampler) take(due func(*pending) bool) []*pending {
	var out []*pending
	s.mu.Lock()
	for s.head != nil && due(s.head) {
		p := s.head
		s.unlink(p)
		p.deciding = true
		out = append(out, p)
	}
	s.mu.Unlock()
	return out
}

// decide evaluates traces marked deciding, records the decisions, and
// writes the kept spans (with any that arrived during the evaluation).
func (s *Sampler) decide(ctx context.Context, traces []*pending) {
	if len(traces) == 0 {
		return
	}
	policies := make([]string, len(traces))
	sums := make([]*model.Summary, len(traces))
	always, left := 0, 0
	s.evalMu.Lock()
	rate := s.ctl.current()
	boosts := s.boost.active(nil)
	for i, p := range traces {
		var rated bool
		policies[i], rated = s.ev.decide(p.id, p.spans, rate, boosts)
		if s.ev.haveSum && policies[i] != "" {
			sum := s.ev.sum
			sums[i] = &sum
		}
		if rated {
			left++
		} else {
			always++
		}
	}
	s.evalMu.Unlock()
	s.ctl.observe(always, left)

	kept := map[string][]model.Span{}
	keptSpans, droppedSpans := 0, 0
	nspans := make([]int, len(traces))
	s.mu.Lock()
	for i, p := range traces {
		if len(p.late) > 0 {
			sums[i] = nil // the summary does not cover the spans that came late
		}
		nspans[i] = len(p.spans)
		delete(s.buf, p.id)
		s.bytes -= p.bytes
		s.decided.Add(p.id, policies[i])
		if policies[i] == "" {
			droppedSpans += len(p.spans) + len(p.late)
			continue
		}
		kept[policies[i]] = append(append(kept[policies[i]], p.spans...), p.late...)
	}
	s.mu.Unlock()

	for i, p := range traces {
		if policies[i] == "" {
			s.m.dropped.Inc()
		} else {
			s.m.kept(policies[i]).Inc()
		}
		p.spans, p.late = nil, nil
	}
	for policy, spans := range kept {
		keptSpans += len(spans)
		s.write(ctx, policy, spans)
	}
	if h, ok := s.sink.(SummaryHinter); ok {
		for i, p := range traces {
			if sums[i] != nil {
				h.HintSummary(p.id, sums[i], nspans[i])
			}
		}
	}
	s.m.spans.WithLabelValues("kept").Add(float64(keptSpans))
	s.m.spans.WithLabelValues("dropped").Add(float64(droppedSpans))
}

func (s *Sampler) write(ctx context.Context, policy string, spans []model.Span) {
	if err := s.sink.Write(ctx, policy, spans); err != nil {
		s.m.sinkErrors.Inc()
		s.log.Error("tail sampler: write kept spans", "policy", policy, "spans", len(spans), "err", err)
	}
}

// Close stops the background decisions and decides every buffered trace
// now, writing the kept ones. Offer must not be called after Close.
func (s *Sampler) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.decide(ctx, s.take(func(*pending) bool { return true }))
	return ctx.Err()
}

// Rate is the current probabilistic rate (the budget controller's, or the
// configured one).
func (s *Sampler) Rate() float64 { return s.ctl.current() }

// Buffered reports the traces and estimated bytes awaiting a decision.
func (s *Sampler) Buffered() (traces int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf), s.bytes
}

// AddBoost starts a boost, persisted until it expires.
func (s *Sampler) AddBoost(ctx context.Context, r BoostRequest) (Boost, error) {
	return s.boost.add(ctx, r)
}

// Boosts lists the boosts in force, oldest first, forgetting expired ones.
func (s *Sampler) Boosts(ctx context.Context) []Boost {
	s.boost.prune(ctx)
	return s.boost.active(nil)
}

// RemoveBoost ends a boost early. It returns an error wrapping ErrNotFound
// for an unknown id.
func (s *Sampler) RemoveBoost(ctx context.Context, id string) (Boost, error) {
	return s.boost.remove(ctx, id)
}

// pushBack appends p to the idle list (most recently updated last).
func (s *Sampler) pushBack(p *pending) {
	p.prev, p.next = s.tail, nil
	if s.tail != nil {
		s.tail.next = p
	} else {
		s.head = p
	}
	s.tail = p
}

// unlink removes p from the idle list, if it is in it.
func (s *Sampler) unlink(p *pending) {
	if p.prev != nil {
		p.prev.next = p.next
	} else if s.head == p {
		s.head = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	} else if s.tail == p {
		s.tail = p.prev
	}
	p.prev, p.next = nil, nil
}

type metrics struct {
	traces     *prometheus.CounterVec
	keptBy     sync.Map // policy → prometheus.Counter
	dropped    prometheus.Counter
	spans      *prometheus.CounterVec
	forced     prometheus.Counter
	sinkErrors prometheus.Counter
}

func (m *metrics) kept(policy string) prometheus.Counter {
	if c, ok := m.keptBy.Load(policy); ok {
		return c.(prometheus.Counter)
	}
	c := m.traces.WithLabelValues(policy, "kept")
	m.keptBy.Store(policy, c)
	return c
}

func (m *metrics) register(reg prometheus.Registerer, s *Sampler, cfg *Config) error {
	m.traces = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fluoro_tailsample_traces_total",
		Help: "Traces decided by the tail sampler, by the policy that decided and the decision (kept or dropped)."},
		[]string{"policy", "decision"})
	m.dropped = m.traces.WithLabelValues(PolicyRate, "dropped")
	for _, p := range []string{PolicyError, PolicyLatency, PolicyRate, PolicyBoost} {
		m.kept(p)
	}
	for _, f := range s.comp.filters {
		m.kept(f.policy)
	}
	m.spans = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fluoro_tailsample_spans_total",
		Help: "Span documents the tail sampler passed on (kept) or discarded (dropped)."}, []string{"decision"})
	m.spans.WithLabelValues("kept")
	m.spans.WithLabelValues("dropped")
	m.forced = prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_tailsample_forced_decisions_total",
		Help: "Traces decided before DecisionWait because the buffered-trace or buffered-byte cap was reached."})
	m.sinkErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_tailsample_sink_errors_total",
		Help: "Writes of kept spans that failed."})
	for _, c := range []prometheus.Collector{m.traces, m.spans, m.forced, m.sinkErrors,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fluoro_tailsample_buffered_traces",
			Help: "Traces buffered awaiting a decision."}, func() float64 { n, _ := s.Buffered(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fluoro_tailsample_buffered_bytes",
			Help: "Estimated bytes of the spans buffered awaiting a decision."}, func() float64 { _, b := s.Buffered(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fluoro_tailsample_buffered_bytes_limit",
			Help: "The cap on buffered bytes (max_bytes)."}, func() float64 { return float64(cfg.MaxBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fluoro_tailsample_rate",
			Help: "The probabilistic rate applied to traces no always-keep policy kept."}, func() float64 { return s.Rate() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fluoro_tailsample_boosts",
			Help: "Boosts in force."}, func() float64 { return float64(len(s.boost.active(nil))) }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register tail sampling metrics: %w", err)
		}
	}
	return nil
}

// SummaryHinter is implemented by a Sink that can use the summaries the
// sampler computed to evaluate filter policies. After writing a kept trace,
// the sampler calls HintSummary with the trace's summary (TraceID set,
// computed from exactly the spans spans written) so that it need not be
// computed again; the sink must ignore the hint if it has seen other spans
// of the trace since. sum is the sink's to keep.
type SummaryHinter interface {
	HintSummary(id model.TraceID, sum *model.Summary, spans int)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, policy string, spans []model.Span) error

// Write calls f.
func (f SinkFunc) Write(ctx context.Context, policy string, spans []model.Span) error {
	return f(ctx, policy, spans)
}
