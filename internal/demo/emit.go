package demo

import (
	"context"
	"fmt"
	"math"
	"net"
	"time"
)

// DefaultAddr is the X-Ray daemon's default UDP address.
const DefaultAddr = "127.0.0.1:2000"

// header is the first line of every datagram, spaced as the Go and Java SDKs send it.
const header = "{\"format\": \"json\", \"version\": 1}\n"

// Config configures Run.
type Config struct {
	Addr      string        // UDP host:port to send to; "" means DefaultAddr
	Rate      float64       // documents per second; 0 sends as fast as possible
	Duration  time.Duration // stop after this long; 0 = until ctx is done or Traces are sent
	Traces    int           // stop after this many traces; 0 = no limit
	SpanBytes int           // see GeneratorOptions.SpanBytes
	Seed      int64         // seed of the Generator
}

// Validate reports the first invalid field of c.
func (c Config) Validate() error {
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return fmt.Errorf("invalid address %q: %w", c.Addr, err)
		}
	}
	switch {
	case math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate < 0:
		return fmt.Errorf("invalid rate %v: want a finite number >= 0", c.Rate)
	case c.Duration < 0:
		return fmt.Errorf("invalid duration %v: want >= 0", c.Duration)
	case c.Traces < 0:
		return fmt.Errorf("invalid trace count %d: want >= 0", c.Traces)
	case c.SpanBytes < 0 || c.SpanBytes > MaxSpanBytes:
		return fmt.Errorf("invalid span bytes %d: want 0 to %d", c.SpanBytes, MaxSpanBytes)
	}
	return nil
}

// Stats reports what Run sent.
type Stats struct {
	Traces     int64         // traces generated, each sent in full
	Documents  int64         // datagrams written
	Spans      int64         // spans in the traces
	Bytes      int64         // bytes of the datagrams written, header included
	SendErrors int64         // datagrams whose write failed (e.g. nothing listening)
	Elapsed    time.Duration // from the first trace to the return of Run
}

// Run generates traces with a Generator and sends each document as one UDP
// datagram to cfg.Addr, paced at cfg.Rate documents per second, until
// cfg.Duration has passed, cfg.Traces were sent or ctx is done. Each trace
// starts at the time it is generated and is always sent in full, so the last
// one may finish after the stop. Failed writes are counted in
// Stats.SendErrors, not returned; Run returns an error only for an invalid
// cfg or an address it cannot dial. A done ctx is a normal stop.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return Stats{}, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()

	gen := NewGenerator(cfg.Seed, GeneratorOptions{SpanBytes: cfg.SpanBytes})
	pkt := make([]byte, 0, 64<<10)
	pkt = append(pkt, header...)
	begin := time.Now()
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = begin.Add(cfg.Duration)
	}
	p := newPacer(cfg.Rate, begin)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	var st Stats
	var attempted int64 // documents attempted, the pacer's count
	stop := false
	for !stop && (cfg.Traces == 0 || st.Traces < int64(cfg.Traces)) {
		now := time.Now()
		if ctx.Err() != nil || !deadline.IsZero() && !now.Before(deadline) {
			break
		}
		tr := gen.Trace(now)
		for _, doc := range tr.Docs {
			if !stop && p != nil && attempted >= p.next {
				stop = !p.wait(ctx, timer, attempted, deadline)
			}
			attempted++
			pkt = append(pkt[:len(header)], doc...)
			n, err := conn.Write(pkt)
			if err != nil {
				st.SendErrors++
				continue
			}
			st.Documents++
			st.Bytes += int64(n)
		}
		st.Traces++
		st.Spans += int64(tr.Spans)
	}
	st.Elapsed = time.Since(begin)
	return st, nil
}

// maxLag bounds how far the pacer lets sending fall behind its schedule
// before it forgives the debt, so a stall is not followed by a long burst.
const maxLag = time.Second

// pacer spaces documents on a monotonic schedule: document n is due at
// start + n/rate. It is consulted once per batch, not per document, so high
// rates cost a sleep every batch (about every 0.5 ms), not every datagram.
type pacer struct {
	rate  float64
	start time.Time
	batch int64
	next  int64 // the document count at which to wait again
}

// newPacer returns a pacer for rate documents per second, or nil for an
// unlimited rate.
func newPacer(rate float64, start time.Time) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{rate: rate, start: start, batch: max(1, int64(rate/2000))}
}

// wait blocks until document sent (counted from 0) is due, using timer. It
// returns false, at once or after a shorter sleep, when ctx is done or the
// non-zero deadline passes first.
func (p *pacer) wait(ctx context.Context, timer *time.Timer, sent int64, deadline time.Time) bool {
	p.next = sent + p.batch
	due := p.start.Add(time.Duration(float64(sent) / p.rate * float64(time.Second)))
	now := time.Now()
	d := due.Sub(now)
	if d <= 0 {
		if -d > maxLag {
			p.start = p.start.Add(-d - maxLag)
		}
		return ctx.Err() == nil
	}
	stop := false
	if !deadline.IsZero() && !due.Before(deadline) {
		d, stop = deadline.Sub(now), true
	}
	timer.Reset(d)
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return !stop
	}
}
