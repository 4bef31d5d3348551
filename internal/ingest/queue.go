package ingest

import (
	"sync"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// item is one accepted document: raw bytes still to decode (UDP), or spans
// already decoded and validated (PutTraceSegments).
type item struct {
	raw   []byte
	spans []model.Span
	size  int
}

// queue is a bounded FIFO between the listeners and the store writers. When
// it is full, push drops the oldest items, as the X-Ray daemon does, so the
// newest data wins and memory stays bounded by maxItems and maxBytes.
type queue struct {
	mu       sync.Mutex
	nonEmpty *sync.Cond
	ring     []item
	head, n  int
	bytes    int
	maxBytes int
	closed   bool
}

func newQueue(maxItems, maxBytes int) *queue {
	q := &queue{ring: make([]item, maxItems), maxBytes: maxBytes}
	q.nonEmpty = sync.NewCond(&q.mu)
	return q
}

// push appends it and returns how many spans were dropped to make room
// (counting undecoded documents as one each). It returns false if the queue
// is closed.
func (q *queue) push(it item) (dropped int, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, false
	}
	for q.n > 0 && (q.n == len(q.ring) || q.bytes+it.size > q.maxBytes) {
		old := q.ring[q.head]
		q.ring[q.head] = item{}
		q.head = (q.head + 1) % len(q.ring)
		q.n--
		q.bytes -= old.size
		dropped += old.count()
	}
	q.ring[(q.head+q.n)%len(q.ring)] = it
	q.n++
	q.bytes += it.size
	q.nonEmpty.Signal()
	return dropped, true
}

// pop moves up to max items into dst, waiting while the queue is empty. It
// returns dst unchanged and false once the queue is closed and drained.
func (q *queue) pop(dst []item, max int) ([]item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n == 0 && !q.closed {
		q.nonEmpty.Wait()
	}
	if q.n == 0 {
		return dst, false
	}
	for k := 0; k < max && q.n > 0; k++ {
		dst = append(dst, q.ring[q.head])
		q.bytes -= q.ring[q.head].size
		q.ring[q.head] = item{}
		q.head = (q.head + 1) % len(q.ring)
		q.n--
	}
	return dst, true
}

// close wakes every waiting pop; items already queued are still popped.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.nonEmpty.Broadcast()
}

func (q *queue) len() (items, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n, q.bytes
}

func (it item) count() int {
	if it.spans != nil {
		return len(it.spans)
	}
	return 1
}
