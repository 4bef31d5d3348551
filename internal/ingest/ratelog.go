package ingest

import (
	"log/slog"
	"sync"
	"time"
)

// rateLog logs at most one line per key per period, and reports in that
// line how many were suppressed since the previous one, so that a flood of
// bad input cannot flood the log.
type rateLog struct {
	log    *slog.Logger
	period time.Duration
	now    func() time.Time

	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

func newRateLog(log *slog.Logger, period time.Duration, now func() time.Time) *rateLog {
	return &rateLog{log: log, period: period, now: now, last: map[string]time.Time{}, held: map[string]int{}}
}

func (r *rateLog) warn(key, msg string, args ...any) {
	r.mu.Lock()
	now := r.now()
	if t, ok := r.last[key]; ok && now.Sub(t) < r.period {
		r.held[key]++
		r.mu.Unlock()
		return
	}
	suppressed := r.held[key]
	r.last[key] = now
	r.held[key] = 0
	r.mu.Unlock()
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	r.log.Warn(msg, args...)
}
