// Package servicegraph builds X-Ray's service map: nodes for the services a
// trace passes through (and inferred nodes for the AWS services, databases
// and HTTP hosts they call that send no segments, and a client node for the
// uninstrumented callers of entry points), edges for the calls between them,
// each with request statistics and response-time histograms.
//
// Graphs are pre-aggregated at ingest: every completed trace is added to the
// one-minute bucket of its start, for the Default group and for each group
// whose filter expression it satisfies. Buckets are kept in memory while
// they change, written to the store periodically and on Close, and merged at
// query time, so a graph over hours never reads a trace. See
// docs/service-map.md.
package servicegraph

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/query"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/trace"
)

// BucketSeconds is the time span of one pre-aggregated bucket: the finest
// resolution of graphs and time series.
const BucketSeconds = 60

// HourSeconds is the span of the hourly roll-ups kept beside the minute
// buckets, under the group id with hourSuffix: a graph over a day reads 24
// of them and at most 118 minute buckets at its ragged ends, not 1,440.
const (
	HourSeconds = 3600
	hourSuffix  = "/h"
)

// Config configures a Service. Zero fields take the defaults in
// parentheses.
type Config struct {
	Store store.Store
	// Region and Account go into group ARNs ("us-east-1", "000000000000").
	Region, Account string
	// FlushInterval is how often changed buckets are written to the store
	// (500 ms; the store makes them durable at its next Sync).
	FlushInterval time.Duration
	// Now is the clock (time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Service aggregates completed traces into service-graph buckets, answers
// graph and time-series queries from them, and keeps the groups.
type Service struct {
	cfg    Config
	groups atomic.Pointer[[]*liveGroup]
	// groupMu serialises group changes (read, modify, write).
	groupMu sync.Mutex

	mu  sync.Mutex // guards mem
	mem map[bucketKey]*memBucket
	// flushMu serialises flushes, so a slow one never overwrites a newer.
	flushMu sync.Mutex

	skipped atomic.Int64 // reopened traces not counted again
	corrupt atomic.Int64 // stored buckets that did not decode

	stop chan struct{}
	done chan struct{}
}

type bucketKey struct {
	start uint32
	group string // group id
}

type memBucket struct {
	b       *Bucket
	dirty   bool
	touched time.Time
}

// New loads the groups and returns a Service. Call Start to flush
// periodically and Close to flush a last time.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("servicegraph: no store")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Account == "" {
		cfg.Account = "000000000000"
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 500 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{cfg: cfg, mem: map[bucketKey]*memBucket{}}
	if err := s.loadGroups(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Start flushes changed buckets every FlushInterval until Close.
func (s *Service) Start() {
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.cfg.FlushInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if err := s.Flush(context.Background()); err != nil {
					s.cfg.Logger.Error("flush service graph", "err", err)
				}
			case <-s.stop:
				return
			}
		}
	}()
}

// Close stops the periodic flush and writes every changed bucket. Call it
// after the ingest pipeline has completed its last traces and before the
// store closes.
func (s *Service) Close(ctx context.Context) error {
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	return s.Flush(ctx)
}

// Skipped counts the reopened traces (Revision > 0) not counted again.
func (s *Service) Skipped() int64 { return s.skipped.Load() }

// Corrupt counts the stored buckets that did not decode and were skipped.
func (s *Service) Corrupt() int64 { return s.corrupt.Load() }

// OnComplete adds a completed trace to the buckets of the Default group and
// of every group whose filter it satisfies; it is ingest.Config.OnComplete.
//
// A trace is counted once, when first summarised (sum.Revision == 0). A
// trace reopened by late spans (Revision > 0) was counted already, with the
// spans it had then; it is not counted again, so the late spans' segments
// and calls are missing from the map (counted in Skipped). Counting only the
// difference would need the earlier graph of every recent trace kept.
func (s *Service) OnComplete(ctx context.Context, sum *model.Summary, spans []*model.Span) {
	if sum.Revision > 0 {
		s.skipped.Add(1)
		return
	}
	if sum.Start <= 0 || sum.Start >= math.MaxUint32 || len(spans) == 0 {
		return
	}
	start := uint32(sum.Start) / BucketSeconds * BucketSeconds
	hour := uint32(sum.Start) / HourSeconds * HourSeconds
	g := trace.BuildGraph(spans)
	contrib := Contributions(g, sum.Duration())
	groups := *s.groups.Load()
	var in []string
	in = append(in, DefaultGroupID)
	var qt *query.Trace
	for _, lg := range groups {
		if lg.broken {
			continue
		}
		if lg.expr == nil {
			in = append(in, lg.g.ID)
			continue
		}
		if qt == nil {
			qt = &query.Trace{Summary: sum, Spans: spans}
			qt.SetGraph(g)
		}
		if query.Match(lg.expr, qt) {
			in = append(in, lg.g.ID)
		}
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range in {
		for _, k := range [2]bucketKey{{start, id}, {hour, id + hourSuffix}} {
			mb, err := s.memBucket(ctx, k, now)
			if err != nil {
				s.cfg.Logger.Error("read service graph bucket", "err", err)
				continue
			}
			mb.b.Apply(contrib)
			mb.dirty = true
			mb.touched = now
		}
	}
}

// memBucket returns the in-memory bucket of k, seeded from the store the
// first time (after a restart, or for a trace of a minute already flushed
// and evicted). s.mu is held.
func (s *Service) memBucket(ctx context.Context, k bucketKey, now time.Time) (*memBucket, error) {
	if mb := s.mem[k]; mb != nil {
		return mb, nil
	}
	b := NewBucket()
	var derr error
	err := s.cfg.Store.GraphBuckets(ctx, k.group, k.start, k.start+1, func(gb store.GraphBucket) bool {
		derr = b.DecodeMerge(gb.Data)
		return false
	})
	if err == nil && derr != nil {
		// A bucket that no longer decodes is replaced rather than blocking
		// every later trace of its minute.
		s.cfg.Logger.Error("discard corrupt service graph bucket", "start", k.start, "group", k.group, "err", derr)
		b = NewBucket()
	}
	if err != nil {
		return nil, err
	}
	mb := &memBucket{b: b, touched: now}
	s.mem[k] = mb
	return mb, nil
}

// evictAfter is how long a clean bucket stays in memory after its last
// change; a later trace of its minute reads it back from the store.
const evictAfter = 2 * time.Minute

// Flush writes every bucket changed since the last flush to the store
// (durable at the store's next Sync) and drops from memory the buckets
// unchanged for a while.
func (s *Service) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	now := s.cfg.Now()
	var out []store.GraphBucket
	var keys []bucketKey
	s.mu.Lock()
	for k, mb := range s.mem {
		if mb.dirty {
			out = append(out, store.GraphBucket{Start: k.start, Group: k.group, Data: mb.b.Encode(nil)})
			keys = append(keys, k)
			mb.dirty = false
		} else if now.Sub(mb.touched) > evictAfter {
			delete(s.mem, k)
		}
	}
	s.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	if err := s.cfg.Store.PutGraphBuckets(ctx, out); err != nil {
		s.mu.Lock()
		for _, k := range keys {
			if mb := s.mem[k]; mb != nil {
				mb.dirty = true
			}
		}
		s.mu.Unlock()
		return fmt.Errorf("write service graph buckets: %w", err)
	}
	return nil
}

// bucketRange is the minute buckets overlapping [from, to): those
// starting in [lo, hi), both multiples of BucketSeconds.
func bucketRange(from, to float64) (uint32, uint32) {
	f := math.Max(0, math.Floor(from))
	t := math.Min(math.MaxUint32-BucketSeconds, math.Ceil(to))
	lo := uint32(f) / BucketSeconds * BucketSeconds
	hi := (uint32(t) + BucketSeconds - 1) / BucketSeconds * BucketSeconds
	return lo, hi
}

// HourGroup is the store group under which the hourly roll-ups of group id
// are kept.
func HourGroup(id string) string { return id + hourSuffix }

// Graph returns the merged graph of group's minute buckets overlapping
// [from, to) (epoch seconds): every trace that started in those minutes.
// Whole hours inside the range are read from the hourly roll-ups.
func (s *Service) Graph(ctx context.Context, groupID string, from, to float64) (*Bucket, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	lo, hi := bucketRange(from, to)
	acc := NewBucket()
	merge := func(gb store.GraphBucket) bool {
		s.decodeMerge(acc, gb)
		return true
	}
	h0 := (lo + HourSeconds - 1) / HourSeconds * HourSeconds
	h1 := hi / HourSeconds * HourSeconds
	type part struct {
		group  string
		lo, hi uint32
	}
	parts := []part{{groupID, lo, hi}}
	if h0 < h1 {
		parts = []part{{groupID, lo, h0}, {groupID + hourSuffix, h0, h1}, {groupID, h1, hi}}
	}
	for _, p := range parts {
		if p.lo >= p.hi {
			continue
		}
		if err := s.cfg.Store.GraphBuckets(ctx, p.group, p.lo, p.hi, merge); err != nil {
			return nil, fmt.Errorf("read service graph: %w", err)
		}
	}
	return acc, nil
}

// Point is one period of a time series.
type Point struct {
	Start  float64
	Bucket *Bucket
}

// Series returns group's graph per period (a multiple of BucketSeconds)
// over [from, to): one point per period that saw traffic, in time order.
func (s *Service) Series(ctx context.Context, groupID string, from, to float64, period int) ([]Point, error) {
	if period <= 0 || period%BucketSeconds != 0 {
		return nil, fmt.Errorf("period %d is not a positive multiple of %d", period, BucketSeconds)
	}
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	lo, hi := bucketRange(from, to)
	lo = lo / uint32(period) * uint32(period)
	var pts []Point
	err := s.cfg.Store.GraphBuckets(ctx, groupID, lo, hi, func(gb store.GraphBucket) bool {
		p := float64(gb.Start / uint32(period) * uint32(period))
		if len(pts) == 0 || pts[len(pts)-1].Start != p {
			pts = append(pts, Point{Start: p, Bucket: NewBucket()})
		}
		s.decodeMerge(pts[len(pts)-1].Bucket, gb)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("read service graph: %w", err)
	}
	return pts, nil
}

// decodeMerge merges a stored bucket into acc. A bucket that does not
// decode (damaged on disk) is logged and skipped, so that it does not fail
// every query over its minute; acc may keep the part read before the damage.
func (s *Service) decodeMerge(acc *Bucket, gb store.GraphBucket) {
	if err := acc.DecodeMerge(gb.Data); err != nil {
		s.corrupt.Add(1)
		s.cfg.Logger.Error("skip corrupt service graph bucket", "start", gb.Start, "group", gb.Group, "err", err)
	}
}

// TraceGraph builds the graph of the given traces from their stored spans
// (GetTraceGraph). Unknown traces add nothing.
func TraceGraph(ctx context.Context, st store.Store, ids []model.TraceID) (*Bucket, error) {
	b := NewBucket()
	for _, id := range ids {
		spans, err := trace.Load(ctx, st, id)
		if err != nil {
			return nil, err
		}
		if len(spans) == 0 {
			continue
		}
		start, end := math.Inf(1), 0.0
		for _, sp := range spans {
			start = math.Min(start, sp.Root.Start)
			end = math.Max(end, sp.Root.End)
		}
		b.AddTrace(trace.BuildGraph(spans), math.Max(0, end-start))
	}
	return b, nil
}
