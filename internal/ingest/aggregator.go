package ingest

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/trace"
)

const shards = 16

// aggregator holds the traces still receiving spans. A trace that has had no
// new span for the idle time is complete: its summary is computed and stored.
// A span arriving for a trace already summarised reopens it, and its summary
// is then recomputed from everything stored (with Revision incremented).
//
// The live traces are capped (maxLive): past the cap, add asks the flusher to
// run at once (kick), and the flush summarises the least recently updated
// early. Past a quarter more, add waits for the flush to make room, so the
// store writers slow down, the queue fills, and the queue drops the oldest
// documents: memory stays bounded even when summarising falls behind.
type aggregator struct {
	st         store.Store
	idle       time.Duration
	maxLive    int
	now        func() time.Time
	live       atomic.Int64  // traces in the shards or being summarised
	kick       chan struct{} // buffered: asks the flusher to run now
	roomMu     sync.Mutex
	room       chan struct{} // closed, and replaced, when a flush removed traces
	shards     [shards]aggShard
	forced     func(n int) // counts traces completed early because of the cap
	summarised func(n int) // counts summaries written
	complete   func(ctx context.Context, sum *model.Summary, spans []*model.Span)
}

type aggShard struct {
	mu   sync.Mutex
	live map[model.TraceID]*liveTrace
}

type liveTrace struct {
	spans  []*model.Span
	last   time.Time
	policy string // the tail-sampling policy that kept the trace, if any
	// hint is the tail sampler's summary of exactly these spans, used
	// instead of summarising them again; any later span clears it.
	hint *model.Summary
}

func newAggregator(st store.Store, idle time.Duration, maxLive int, now func() time.Time) *aggregator {
	a := &aggregator{st: st, idle: idle, maxLive: maxLive, now: now, forced: func(int) {}, summarised: func(int) {},
		complete: func(context.Context, *model.Summary, []*model.Span) {},
		kick:     make(chan struct{}, 1), room: make(chan struct{})}
	for i := range a.shards {
		a.shards[i].live = make(map[model.TraceID]*liveTrace)
	}
	return a
}

// add records spans that were just stored, kept by the tail-sampling policy
// named (or ""). Doc fields are dropped: the aggregator keeps only decoded
// fields.
func (a *aggregator) add(spans []model.Span, policy string) {
	now := a.now()
	for i := range spans {
		sp := spans[i]
		sp.Doc = nil
		sh := &a.shards[sp.TraceID[15]%shards]
		sh.mu.Lock()
		lt := sh.live[sp.TraceID]
		if lt == nil {
			lt = &liveTrace{}
			sh.live[sp.TraceID] = lt
			a.live.Add(1)
		}
		lt.spans = append(lt.spans, &sp)
		lt.hint = nil
		lt.last = now
		if policy != "" {
			lt.policy = policy
		}
		sh.mu.Unlock()
	}
	if a.maxLive <= 0 {
		return
	}
	if n := a.live.Load(); n > int64(a.maxLive) {
		a.askFlush()
		for n > int64(a.maxLive)+int64(a.maxLive)/4 {
			a.waitRoom(ctxWait)
			n = a.live.Load()
		}
	}
}

// ctxWait bounds one wait for room, after which add asks again: a flush
// that found nothing to remove (all traces just updated) must not strand it.
const ctxWait = 50 * time.Millisecond

func (a *aggregator) askFlush() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// waitRoom waits until a flush removes traces, or d passes.
func (a *aggregator) waitRoom(d time.Duration) {
	a.roomMu.Lock()
	ch := a.room
	a.roomMu.Unlock()
	a.askFlush()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// madeRoom wakes the adds waiting for room.
func (a *aggregator) madeRoom() {
	a.roomMu.Lock()
	close(a.room)
	a.room = make(chan struct{})
	a.roomMu.Unlock()
}

// hintSummary records sum, computed by the tail sampler from the n spans of
// trace id just added, if the live trace holds exactly those.
func (a *aggregator) hintSummary(id model.TraceID, sum *model.Summary, n int) {
	sh := &a.shards[id[15]%shards]
	sh.mu.Lock()
	if lt := sh.live[id]; lt != nil && len(lt.spans) == n {
		lt.hint = sum
	}
	sh.mu.Unlock()
}

func (a *aggregator) liveCount() int { return int(a.live.Load()) }

// flush completes the traces idle for longer than the idle time, or all of
// them when all is true, and stores their summaries. When more traces are
// live than the cap allows, the least recently updated are completed early.
func (a *aggregator) flush(ctx context.Context, all bool) error {
	now := a.now()
	type done struct {
		id model.TraceID
		lt *liveTrace
	}
	var out []done
	var rest []done
	for i := range a.shards {
		sh := &a.shards[i]
		sh.mu.Lock()
		for id, lt := range sh.live {
			if all || now.Sub(lt.last) >= a.idle {
				out = append(out, done{id, lt})
				delete(sh.live, id)
			} else if a.maxLive > 0 {
				rest = append(rest, done{id, lt})
			}
		}
		sh.mu.Unlock()
	}
	if over := len(rest) - a.maxLive; a.maxLive > 0 && over > 0 {
		sort.Slice(rest, func(i, j int) bool { return rest[i].lt.last.Before(rest[j].lt.last) })
		n := 0
		for _, d := range rest[:over] {
			sh := &a.shards[d.id[15]%shards]
			sh.mu.Lock()
			if sh.live[d.id] == d.lt { // not updated, nor taken by another flush
				delete(sh.live, d.id)
				out = append(out, d)
				n++
			}
			sh.mu.Unlock()
		}
		a.forced(n)
	}
	// The traces taken out count as live until their summaries are
	// written: their spans are in memory until then.
	defer func() {
		if left := len(out); left > 0 { // an error: they will not be
			a.live.Add(-int64(left))
			a.madeRoom()
		}
	}()
	const batch = 512
	sums := make([]model.Summary, 0, batch)
	traces := make([][]*model.Span, 0, batch)
	for len(out) > 0 {
		n := min(batch, len(out))
		sums, traces = sums[:0], traces[:0]
		for _, d := range out[:n] {
			sum, spans, err := a.summarize(ctx, d.id, d.lt.spans, d.lt.last, d.lt.policy, d.lt.hint)
			if err != nil {
				return err
			}
			sums = append(sums, sum)
			traces = append(traces, spans)
		}
		if err := a.st.PutSummaries(ctx, sums); err != nil {
			return err
		}
		a.summarised(len(sums))
		for i := range sums {
			a.complete(ctx, &sums[i], traces[i])
		}
		out = out[n:]
		a.live.Add(-int64(n))
		a.madeRoom()
	}
	return nil
}

// summarize computes the summary of a completed trace. If the trace was
// summarised before (spans arrived after it completed), the summary is
// rebuilt from every stored span. It also returns the deduplicated spans.
// policy is recorded as SampledBy; when it is empty, a previous summary's
// SampledBy is kept. hint, when set, is the summary of exactly these spans
// (see hintSummary); it is used for a trace not summarised before.
func (a *aggregator) summarize(ctx context.Context, id model.TraceID, spans []*model.Span, last time.Time, policy string, hint *model.Summary) (model.Summary, []*model.Span, error) {
	prev, seen, err := a.st.Summary(ctx, id)
	if err != nil {
		return model.Summary{}, nil, err
	}
	if seen {
		if spans, err = trace.Load(ctx, a.st, id); err != nil {
			return model.Summary{}, nil, err
		}
	}
	spans = trace.Dedupe(spans)
	var sum model.Summary
	if hint != nil && !seen {
		sum = *hint
	} else {
		sum = trace.Summarize(spans)
	}
	sum.TraceID = id
	sum.Updated = float64(last.UnixMicro()) / 1e6
	sum.SampledBy = policy
	if seen {
		sum.Revision = prev.Revision + 1
		if policy == "" {
			sum.SampledBy = prev.SampledBy
		}
	}
	return sum, spans, nil
}

// recover summarises the traces a crash left pending: spans stored, summary
// not yet written.
func (a *aggregator) recover(ctx context.Context) (int, error) {
	var ids []model.TraceID
	if err := a.st.Pending(ctx, func(id model.TraceID) bool {
		ids = append(ids, id)
		return true
	}); err != nil {
		return 0, err
	}
	now, total := a.now(), len(ids)
	for len(ids) > 0 {
		n := min(512, len(ids))
		sums := make([]model.Summary, 0, n)
		traces := make([][]*model.Span, 0, n)
		for _, id := range ids[:n] {
			spans, err := trace.Load(ctx, a.st, id)
			if err != nil {
				return 0, err
			}
			sum, spans, err := a.summarize(ctx, id, spans, now, "", nil)
			if err != nil {
				return 0, err
			}
			if len(spans) > 0 {
				sums = append(sums, sum)
				traces = append(traces, spans)
			}
		}
		if err := a.st.PutSummaries(ctx, sums); err != nil {
			return 0, err
		}
		for i := range sums {
			a.complete(ctx, &sums[i], traces[i])
		}
		ids = ids[n:]
	}
	return total, nil
}
