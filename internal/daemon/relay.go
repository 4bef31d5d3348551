package daemon

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Sink takes X-Ray segment documents to relay to the server. The UDP
// listener is one source; others (OTLP, converted to X-Ray documents) plug in
// here.
type Sink interface {
	// AddDocument queues one segment document: a JSON object, or an array of
	// subsegments, exactly as it follows the header line of a datagram. The
	// document is copied before AddDocument returns, so the caller may reuse
	// doc. AddDocument does no I/O on the network and does not block on it:
	// when the senders are behind, a full batch goes to the spool, or is
	// dropped and counted when there is none. It is safe for concurrent use.
	AddDocument(doc []byte)
}

const (
	batchPrefix = `{"TraceSegmentDocuments":[`
	batchSuffix = `]}`
	// maxBatchBytes seals a batch early when its documents are large, so a
	// call stays well under the server's request limit.
	maxBatchBytes = 4 << 20
	// keepBatchBytes is the largest buffer returned to the free list.
	keepBatchBytes = 1 << 20
)

// batch is one PutTraceSegments request body being built: the documents,
// each JSON-escaped into a string, between batchPrefix and batchSuffix.
type batch struct {
	buf []byte
	n   int
}

// relay batches documents and delivers them: senders call PutTraceSegments,
// failed batches go to the spool, and a replayer sends the spool back in
// order once the server answers.
type relay struct {
	cfg Config
	m   *metrics
	sp  *spool // nil: no spooling
	up  *upstream
	log *slog.Logger

	mu    sync.Mutex
	cur   *batch
	since time.Time // when cur got its first document

	qmu    sync.RWMutex // guards sends on queue against its close
	queue  chan *batch
	closed bool
	free   chan *batch

	// healthy is false while batches go straight to the spool, from a send
	// that failed every attempt until the replayer gets an answer.
	healthy atomic.Bool

	sendCtx    context.Context // cancelled when the shutdown deadline passes
	cancelSend context.CancelFunc
	stopFlush  chan struct{}
	stopReplay chan struct{}
	flushWG    sync.WaitGroup
	sendWG     sync.WaitGroup
	replayWG   sync.WaitGroup
}

func newRelay(cfg Config, m *metrics, sp *spool, up *upstream, log *slog.Logger) *relay {
	r := &relay{cfg: cfg, m: m, sp: sp, up: up, log: log,
		queue:      make(chan *batch, cfg.QueueBatches),
		free:       make(chan *batch, cfg.QueueBatches+cfg.Concurrency+2),
		stopFlush:  make(chan struct{}),
		stopReplay: make(chan struct{}),
	}
	r.sendCtx, r.cancelSend = context.WithCancel(context.Background())
	r.healthy.Store(true)
	return r
}

// start runs the flusher, the senders and (with a spool) the replayer.
func (r *relay) start() {
	r.flushWG.Add(1)
	go r.flushLoop()
	for range r.cfg.Concurrency {
		r.sendWG.Add(1)
		go r.sendLoop()
	}
	if r.sp != nil {
		r.replayWG.Add(1)
		go r.replayLoop()
	}
}

// AddDocument implements Sink.
func (r *relay) AddDocument(doc []byte) {
	r.m.received.Inc()
	r.m.teleReceived.Add(1)
	r.add(doc)
}

// add appends doc to the current batch; received is counted by the caller.
func (r *relay) add(doc []byte) {
	r.mu.Lock()
	b := r.cur
	if b == nil {
		b = r.getBatch()
		r.cur = b
		r.since = time.Now()
	} else {
		b.buf = append(b.buf, ',')
	}
	b.buf = appendJSONString(b.buf, doc)
	b.n++
	if b.n < r.cfg.BatchDocuments && len(b.buf) < maxBatchBytes {
		r.mu.Unlock()
		return
	}
	r.cur = nil
	r.mu.Unlock()
	r.dispatch(b)
}

func (r *relay) getBatch() *batch {
	select {
	case b := <-r.free:
		b.buf = append(b.buf[:0], batchPrefix...)
		b.n = 0
		return b
	default:
		return &batch{buf: append(make([]byte, 0, 64<<10), batchPrefix...)}
	}
}

func (r *relay) release(b *batch) {
	if cap(b.buf) > keepBatchBytes {
		return
	}
	select {
	case r.free <- b:
	default:
	}
}

// dispatch seals b and hands it to a sender, or to the spool when every
// sender is busy and the queue is full.
func (r *relay) dispatch(b *batch) {
	b.buf = append(b.buf, batchSuffix...)
	r.qmu.RLock()
	if !r.closed {
		select {
		case r.queue <- b:
			r.qmu.RUnlock()
			return
		default:
		}
	}
	closed := r.closed
	r.qmu.RUnlock()
	switch {
	case r.sp != nil:
		r.toSpool(b.buf, b.n)
	case closed:
		r.m.drop(dropShutdown, b.n)
	default:
		r.m.drop(dropQueueFull, b.n)
	}
	r.release(b)
}

// flushLoop seals a batch that has waited FlushInterval for its first
// document, so a quiet service's segments still go out promptly.
func (r *relay) flushLoop() {
	defer r.flushWG.Done()
	t := time.NewTicker(max(r.cfg.FlushInterval/4, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-r.stopFlush:
			r.flush(true)
			return
		case <-t.C:
			r.flush(false)
		}
	}
}

// flush dispatches the current batch if it is old enough, or always.
func (r *relay) flush(always bool) {
	r.mu.Lock()
	b := r.cur
	if b == nil || (!always && time.Since(r.since) < r.cfg.FlushInterval) {
		r.mu.Unlock()
		return
	}
	r.cur = nil
	r.mu.Unlock()
	r.dispatch(b)
}

func (r *relay) sendLoop() {
	defer r.sendWG.Done()
	for b := range r.queue {
		r.deliver(b.buf, b.n)
		r.release(b)
	}
}

// deliver sends one batch, retrying with backoff; a batch the server cannot
// take after every attempt goes to the spool.
func (r *relay) deliver(body []byte, n int) {
	if r.sp != nil && !r.healthy.Load() {
		r.toSpool(body, n)
		return
	}
	for attempt := range r.cfg.Attempts {
		if attempt > 0 {
			r.m.retries.Inc()
			if !r.sleep(r.backoff(attempt)) {
				break
			}
		}
		if r.up.put(r.sendCtx, body, n) != resultRetry {
			return
		}
		if r.sp != nil && !r.healthy.Load() {
			break // another sender found the server down: do not wait here
		}
	}
	if r.sp == nil {
		r.m.drop(dropUpstream, n)
		return
	}
	if r.toSpool(body, n) && r.healthy.CompareAndSwap(true, false) {
		r.m.upstreamUp.Set(0)
		r.log.Warn("server unreachable: spooling batches to disk", "endpoint", r.cfg.Endpoint, "spool", r.cfg.SpoolDir)
	}
}

// toSpool appends a batch to the spool, counting it dropped if it cannot.
func (r *relay) toSpool(body []byte, n int) bool {
	written, err := r.sp.append(body, n)
	if err != nil {
		r.m.drop(dropSpoolError, n)
		r.log.Error("spool batch", "err", err, "documents", n)
		return false
	}
	r.m.spooledRecs.Inc()
	r.m.spooledBytes.Add(float64(written))
	return true
}

// replayLoop sends the spool's records, oldest first, one at a time. While
// the server does not answer it probes with backoff; its first answer makes
// the senders send directly again.
func (r *relay) replayLoop() {
	defer r.replayWG.Done()
	var buf []byte
	failures := 0
	for {
		select {
		case <-r.stopReplay:
			return
		default:
		}
		payload, segs, pos, ok := r.sp.next(buf)
		if !ok {
			if r.healthy.CompareAndSwap(false, true) {
				r.m.upstreamUp.Set(1)
			}
			select {
			case <-r.sp.notify:
				continue
			case <-r.stopReplay:
				return
			}
		}
		if cap(payload) <= 8<<20 {
			buf = payload
		}
		if r.up.put(r.sendCtx, payload, segs) == resultRetry {
			if r.healthy.CompareAndSwap(true, false) {
				r.m.upstreamUp.Set(0)
			}
			failures++
			t := time.NewTimer(r.backoff(failures))
			select {
			case <-t.C:
			case <-r.stopReplay:
				t.Stop()
				return
			}
			continue
		}
		if failures > 0 || !r.healthy.Load() {
			r.log.Info("server answers again: replaying the spool", "endpoint", r.cfg.Endpoint)
		}
		failures = 0
		r.sp.commit(pos, segs)
		r.m.replayedRecs.Inc()
		r.m.replayedSegs.Add(float64(segs))
		if r.healthy.CompareAndSwap(false, true) {
			r.m.upstreamUp.Set(1)
		}
	}
}

// backoff is the wait before retry number attempt (1-based): exponential,
// capped, with full jitter.
func (r *relay) backoff(attempt int) time.Duration {
	return backoff(r.cfg.BackoffBase, r.cfg.BackoffMax, attempt, rand.Int64N)
}

func backoff(base, ceiling time.Duration, attempt int, randN func(int64) int64) time.Duration {
	d := ceiling
	if attempt < 30 {
		d = min(base<<(attempt-1), ceiling)
	}
	return time.Duration(randN(int64(d)) + 1)
}

// sleep waits d; false if the shutdown deadline passed first.
func (r *relay) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.sendCtx.Done():
		return false
	}
}

// close flushes the current batch and delivers everything queued; what the
// server has not taken when ctx ends goes to the spool (or is counted as
// dropped without one). The spool's unreplayed records stay on disk.
func (r *relay) close(ctx context.Context) error {
	close(r.stopFlush)
	r.flushWG.Wait()
	r.qmu.Lock()
	r.closed = true
	close(r.queue)
	r.qmu.Unlock()
	done := make(chan struct{})
	go func() { r.sendWG.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		r.cancelSend()
		<-done
		err = ctx.Err()
	}
	close(r.stopReplay)
	r.cancelSend()
	r.replayWG.Wait()
	return err
}

// jsonEscape is the escape of each byte a JSON string may not hold as it
// is; "" for the others.
var jsonEscape = func() (t [256]string) {
	const hex = "0123456789abcdef"
	for c := range 0x20 {
		t[c] = `\u00` + string(hex[c>>4]) + string(hex[c&0xf])
	}
	t['\n'], t['\r'], t['\t'] = `\n`, `\r`, `\t`
	t['"'], t['\\'] = `\"`, `\\`
	return t
}()

// plain marks the bytes copied as they are.
var plain = func() (t [256]bool) {
	for c := range t {
		t[c] = jsonEscape[c] == ""
	}
	return t
}()

// appendJSONString appends s as a JSON string. Bytes at or above 0x80 are
// copied as they are: documents are UTF-8 JSON already.
func appendJSONString(dst, s []byte) []byte {
	dst = slices.Grow(dst, len(s)+len(s)/8+2)
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && plain[s[j]] {
			j++
		}
		dst = append(dst, s[i:j]...)
		if j == len(s) {
			break
		}
		dst = append(dst, jsonEscape[s[j]]...)
		i = j + 1
	}
	return append(dst, '"')
}
