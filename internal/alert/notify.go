package alert

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Notification is the JSON body POSTed to a rule's webhooks when it fires
// and when it resolves.
type Notification struct {
	Version int `json:"version"` // 1
	// ID is the same in an alert's firing and resolved notifications, and
	// differs between alerts: receivers deduplicate retries with (ID, State).
	ID          string        `json:"id"`
	Rule        string        `json:"rule"`
	Description string        `json:"description,omitempty"`
	State       string        `json:"state"` // "firing" or "resolved"
	Service     *ServiceScope `json:"service,omitempty"`
	Filter      string        `json:"filter,omitempty"`
	Group       string        `json:"group,omitempty"`
	Metric      string        `json:"metric"`
	Comparator  string        `json:"comparator"`
	Threshold   float64       `json:"threshold"`
	// Value is the metric's value at the transition; nil when the alert
	// resolved for want of data.
	Value    *float64 `json:"value"`
	Requests int64    `json:"requests"`
	Window   Duration `json:"window"`
	// StartedAt is when the alert fired; ResolvedAt when it resolved
	// (resolved notifications only).
	StartedAt  time.Time  `json:"started_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	// Reason says why an alert resolved: "condition cleared", "no data",
	// "rule changed", "rule disabled" or "rule deleted".
	Reason string `json:"reason,omitempty"`
	// Link is the console's traces view of the rule's traces over the
	// window, as a path: prefix it with the server's URL.
	Link string `json:"link"`
}

// notifier delivers notifications to webhooks: one FIFO queue per URL, so
// that a URL's notifications arrive in order and a slow URL delays no
// other, each worked by a goroutine that exists while the queue has items.
// Enqueuing never blocks; past maxPending queued notifications new ones are
// dropped and counted.
type notifier struct {
	client     *http.Client
	timeout    time.Duration
	retries    int
	backoff    time.Duration
	maxPending int
	log        *rateLog

	mu      sync.Mutex
	queues  map[string][]delivery
	pending int
	closed  bool
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc

	sent, failed, dropped, attempts atomic.Int64
	// observe is called after each notification's fate is known (tests).
	observe func(result string)
}

type delivery struct {
	body []byte
	rule string
}

func newNotifier(client *http.Client, timeout time.Duration, retries int, backoff time.Duration, log *rateLog) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	return &notifier{client: client, timeout: timeout, retries: retries, backoff: backoff, maxPending: 1000,
		log: log, queues: map[string][]delivery{}, ctx: ctx, cancel: cancel}
}

// enqueue queues body for each URL.
func (n *notifier) enqueue(urls []string, rule string, body []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, u := range urls {
		if n.closed || n.pending >= n.maxPending {
			n.dropped.Add(1)
			n.log.warn("drop alert notification: too many pending", "rule", rule, "url", redact(u), "pending", n.pending)
			n.done("dropped")
			continue
		}
		q, running := n.queues[u]
		n.queues[u] = append(q, delivery{body: body, rule: rule})
		n.pending++
		if !running {
			n.wg.Add(1)
			go n.work(u)
		}
	}
}

// work delivers u's queue until it is empty.
func (n *notifier) work(u string) {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		q := n.queues[u]
		if len(q) == 0 {
			delete(n.queues, u)
			n.mu.Unlock()
			return
		}
		d := q[0]
		n.queues[u] = q[1:]
		n.mu.Unlock()
		err := n.deliver(u, d.body)
		n.mu.Lock()
		n.pending--
		n.mu.Unlock()
		if err != nil {
			n.failed.Add(1)
			n.log.warn("alert notification failed", "rule", d.rule, "url", redact(u), "err", err)
			n.done("failed")
		} else {
			n.sent.Add(1)
			n.done("sent")
		}
	}
}

func (n *notifier) done(result string) {
	if n.observe != nil {
		n.observe(result)
	}
}

// deliver POSTs body to u, retrying network errors, 429 and 5xx answers
// up to n.retries times after jittered, doubling delays.
func (n *notifier) deliver(u string, body []byte) error {
	var err error
	delay := n.backoff
	for attempt := 0; ; attempt++ {
		n.attempts.Add(1)
		var retry bool
		if retry, err = n.post(u, body); err == nil || !retry || attempt == n.retries {
			return err
		}
		// Full jitter on [delay/2, delay*3/2).
		d := delay/2 + time.Duration(rand.Int64N(int64(delay)+1))
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-n.ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (then shut down before retrying)", err)
		}
		delay *= 2
	}
}

func (n *notifier) post(u string, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(n.ctx, n.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fluoro-alerts/1")
	resp, err := n.client.Do(req)
	if err != nil {
		return true, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
		fmt.Errorf("webhook answered %s", resp.Status)
}

// close stops accepting notifications, waits until the queued ones are
// delivered or ctx is done, then abandons the rest.
func (n *notifier) close(ctx context.Context) error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		n.cancel()
		return nil
	case <-ctx.Done():
		n.cancel()
		<-done
		return fmt.Errorf("alert notifications abandoned at shutdown: %w", ctx.Err())
	}
}

// redact drops a URL's query, which may hold a token, from logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// rateLog logs at most one line per period, counting the lines it
// suppressed in the next one.
type rateLog struct {
	log        *slog.Logger
	now        func() time.Time
	period     time.Duration
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (r *rateLog) warn(msg string, args ...any) {
	r.mu.Lock()
	now := r.now()
	if !r.last.IsZero() && now.Sub(r.last) < r.period {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	r.last = now
	s := r.suppressed
	r.suppressed = 0
	r.mu.Unlock()
	if s > 0 {
		args = append(args, "suppressed", strconv.Itoa(s)+" similar lines in the last "+r.period.String())
	}
	r.log.Warn(msg, args...)
}
