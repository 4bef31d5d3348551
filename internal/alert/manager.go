package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fluoro-dev/fluoro/internal/servicegraph"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// Object kinds in store.Objects, each keyed by rule name.
const (
	kindRule   = "alert-rule"   // the Rule, JSON
	kindState  = "alert-state"  // its Status, JSON, written on every transition
	kindEvents = "alert-events" // its last MaxEvents Events, JSON, oldest first
)

// MaxEvents is how many transitions are kept per rule.
const MaxEvents = 500

// Settings are the YAML-configurable settings (the server's alerts:
// section). Zero fields take the defaults in parentheses.
type Settings struct {
	// Interval is how often every rule is evaluated (30s).
	Interval time.Duration `yaml:"interval"`
	// MaxScan bounds the trace summaries one filter rule reads per
	// evaluation (20000; a tenth of it when the filter reads spans).
	MaxScan int `yaml:"max_scan"`
	// NotifyTimeout bounds one webhook POST (5s).
	NotifyTimeout time.Duration `yaml:"notify_timeout"`
	// NotifyRetries is how many times a failed POST is retried (3).
	NotifyRetries int `yaml:"notify_retries"`
}

// Validate reports the first invalid setting.
func (s Settings) Validate() error {
	switch {
	case s.Interval < 0 || (s.Interval > 0 && s.Interval < 100*time.Millisecond) || s.Interval > time.Hour:
		return fmt.Errorf("alerts interval %v is not between 100ms and 1h", s.Interval)
	case s.MaxScan < 0:
		return fmt.Errorf("alerts max_scan %d is negative", s.MaxScan)
	case s.NotifyTimeout < 0 || s.NotifyTimeout > time.Minute:
		return fmt.Errorf("alerts notify_timeout %v is not between 0 and 1m", s.NotifyTimeout)
	case s.NotifyRetries < 0 || s.NotifyRetries > 10:
		return fmt.Errorf("alerts notify_retries %d is not between 0 and 10", s.NotifyRetries)
	}
	return nil
}

// Config wires a Manager.
type Config struct {
	Settings
	// Objects keeps rules, states and events. Required.
	Objects store.Objects
	// Store is read for filter rules' trace summaries. Required.
	Store store.Store
	// Graph answers service rules and resolves groups; nil allows only
	// filter rules without groups.
	Graph *servicegraph.Service
	// Now is the clock (time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer receives the alert metrics; nil registers none.
	Registerer prometheus.Registerer
	// Client POSTs notifications (a client without redirects).
	Client *http.Client
	// RetryBackoff is the first retry's delay (1s), doubled each time.
	RetryBackoff time.Duration
}

// Manager keeps the rules, evaluates them and notifies.
type Manager struct {
	cfg    Config
	notify *notifier

	// writeMu serialises every change of rules, states and events and
	// their writes to the store; mu guards the maps for readers.
	writeMu sync.Mutex
	mu      sync.RWMutex
	rules   map[string]*entry

	kick chan struct{}

	evals, evalErrors prometheus.Counter
	evalSeconds       prometheus.Histogram
	stateGauge        *prometheus.GaugeVec
}

type entry struct {
	rule   Rule
	status Status
	events []Event
	gen    uint64 // bumped by every API change, so a cycle's stale result is dropped
}

// Open loads the stored rules, states and events.
func Open(ctx context.Context, cfg Config) (*Manager, error) {
	if cfg.Objects == nil || cfg.Store == nil {
		return nil, errors.New("alert: Objects and Store are required")
	}
	if err := cfg.Settings.Validate(); err != nil {
		return nil, err
	}
	if cfg.Interval == 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.MaxScan == 0 {
		cfg.MaxScan = 20000
	}
	if cfg.NotifyTimeout == 0 {
		cfg.NotifyTimeout = 5 * time.Second
	}
	if cfg.NotifyRetries == 0 {
		cfg.NotifyRetries = 3
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	m := &Manager{cfg: cfg, rules: map[string]*entry{}, kick: make(chan struct{}, 1)}
	m.notify = newNotifier(cfg.Client, cfg.NotifyTimeout, cfg.NotifyRetries, cfg.RetryBackoff,
		&rateLog{log: cfg.Logger, now: cfg.Now, period: 10 * time.Second})
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	m.metrics(cfg.Registerer)
	m.updateGauge()
	return m, nil
}

func (m *Manager) load(ctx context.Context) error {
	objs := m.cfg.Objects
	err := objs.List(ctx, kindRule, func(name string, v []byte) bool {
		var r Rule
		if err := json.Unmarshal(v, &r); err != nil {
			m.cfg.Logger.Error("skip unreadable alert rule", "name", name, "err", err)
			return true
		}
		m.rules[name] = &entry{rule: r, status: Status{State: StateOK}}
		return true
	})
	if err != nil {
		return fmt.Errorf("load alert rules: %w", err)
	}
	for name, e := range m.rules {
		if v, ok, err := objs.Get(ctx, kindState, name); err != nil {
			return fmt.Errorf("load alert state: %w", err)
		} else if ok && json.Unmarshal(v, &e.status) != nil {
			e.status = Status{State: StateOK}
		}
		if v, ok, err := objs.Get(ctx, kindEvents, name); err != nil {
			return fmt.Errorf("load alert events: %w", err)
		} else if ok && json.Unmarshal(v, &e.events) != nil {
			e.events = nil
		}
	}
	return nil
}

func (m *Manager) metrics(reg prometheus.Registerer) {
	m.evals = prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_alert_evaluations_total",
		Help: "Alert rule evaluations."})
	m.evalErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_alert_evaluation_errors_total",
		Help: "Alert rule evaluations that failed (the rule kept its state)."})
	m.evalSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fluoro_alert_cycle_seconds",
		Help: "Time one evaluation of every alert rule took.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)})
	m.stateGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "fluoro_alert_rules",
		Help: "Alert rules by state (disabled rules under \"disabled\")."}, []string{"state"})
	if reg == nil {
		return
	}
	reg.MustRegister(m.evals, m.evalErrors, m.evalSeconds, m.stateGauge,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fluoro_alert_notifications_sent_total",
			Help: "Alert notifications a webhook accepted (2xx)."}, func() float64 { return float64(m.notify.sent.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fluoro_alert_notifications_failed_total",
			Help: "Alert notifications given up after every retry failed."}, func() float64 { return float64(m.notify.failed.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fluoro_alert_notifications_dropped_total",
			Help: "Alert notifications dropped because too many were pending."}, func() float64 { return float64(m.notify.dropped.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fluoro_alert_notification_attempts_total",
			Help: "Webhook POSTs made, retries included."}, func() float64 { return float64(m.notify.attempts.Load()) }))
}

// Run evaluates every enabled rule each Interval, and soon after a rule is
// created or changed, until ctx is done.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.kick:
		}
		m.Evaluate(ctx)
	}
}

// Close waits for queued notifications until ctx is done, or for at most
// NotifyTimeout, so that a webhook that is down does not hold a shutdown;
// what is still queued then is abandoned.
func (m *Manager) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.NotifyTimeout)
	defer cancel()
	return m.notify.close(ctx)
}

// Evaluate runs one cycle: evaluates every enabled rule at Now, applies the
// transitions, records and persists them, and queues the notifications.
func (m *Manager) Evaluate(ctx context.Context) {
	start := time.Now()
	c := &cycle{now: m.cfg.Now(), graphs: map[graphKey]*servicegraph.Bucket{}}
	type job struct {
		rule Rule
		gen  uint64
	}
	m.mu.RLock()
	jobs := make([]job, 0, len(m.rules))
	for _, e := range m.rules {
		if e.rule.Enabled {
			jobs = append(jobs, job{e.rule, e.gen})
		}
	}
	m.mu.RUnlock()
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].rule.Name < jobs[j].rule.Name })
	type outcome struct {
		job
		res Result
		err error
	}
	outs := make([]outcome, len(jobs))
	for i, j := range jobs {
		res, err := m.evaluate(ctx, c, &j.rule)
		outs[i] = outcome{j, res, err}
		m.evals.Inc()
		if err != nil {
			m.evalErrors.Inc()
		}
	}
	m.writeMu.Lock()
	for _, o := range outs {
		m.mu.RLock()
		e := m.rules[o.rule.Name]
		stale := e == nil || e.gen != o.gen
		m.mu.RUnlock()
		if stale {
			continue // changed or deleted while evaluated
		}
		if o.err != nil {
			m.mu.Lock()
			e.status.Error = o.err.Error()
			ev := c.now
			e.status.Evaluated = &ev
			m.mu.Unlock()
			m.cfg.Logger.Debug("alert rule evaluation failed", "rule", o.rule.Name, "err", o.err)
			continue
		}
		m.apply(ctx, e, o.rule, step(&o.rule, e.status, o.res, c.now), c.now, "")
	}
	m.writeMu.Unlock()
	m.updateGauge()
	m.evalSeconds.Observe(time.Since(start).Seconds())
}

// apply installs next as e's status; on a change of state it records an
// event, persists state and events, and notifies rule's webhooks on
// entering or leaving firing (rule is the definition the status was judged
// by). writeMu is held.
func (m *Manager) apply(ctx context.Context, e *entry, rule Rule, next Status, now time.Time, reason string) {
	m.mu.Lock()
	prev := e.status
	e.status = next
	changed := prev.State != next.State
	if changed {
		e.events = append(e.events, Event{Time: now, From: prev.State, To: next.State, Value: next.Value,
			Requests: next.Requests, Threshold: rule.Threshold, Reason: reason})
		if len(e.events) > MaxEvents {
			e.events = append([]Event(nil), e.events[len(e.events)-MaxEvents:]...)
		}
	}
	events := e.events
	m.mu.Unlock()
	if !changed {
		return
	}
	if err := m.persist(ctx, rule.Name, next, events); err != nil {
		m.cfg.Logger.Error("save alert state", "rule", rule.Name, "err", err)
	}
	switch {
	case next.State == StateFiring:
		m.send(rule, prev, next, now, "")
	case prev.State == StateFiring:
		if reason == "" {
			reason = "condition cleared"
			if next.State == StateNoData {
				reason = "no data"
			}
		}
		m.send(rule, prev, next, now, reason)
	}
}

func (m *Manager) persist(ctx context.Context, name string, st Status, events []Event) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := m.cfg.Objects.Put(ctx, kindState, name, b); err != nil {
		return err
	}
	if b, err = json.Marshal(events); err != nil {
		return err
	}
	return m.cfg.Objects.Put(ctx, kindEvents, name, b)
}

// send queues the notification of a transition into or out of firing.
func (m *Manager) send(r Rule, prev, next Status, now time.Time, reason string) {
	n := Notification{Version: 1, Rule: r.Name, Description: r.Description, Service: r.Service, Filter: r.Filter,
		Group: r.Group, Metric: r.Metric, Comparator: r.Comparator, Threshold: r.Threshold, Value: next.Value,
		Requests: next.Requests, Window: r.Window, Link: link(&r, now)}
	if next.State == StateFiring {
		n.State, n.StartedAt = "firing", next.Since
	} else {
		t := now
		n.State, n.StartedAt, n.ResolvedAt, n.Reason = "resolved", prev.Since, &t, reason
	}
	n.ID = r.Name + "-" + strconv.FormatInt(n.StartedAt.UnixMilli(), 10)
	if len(r.Notify) == 0 {
		return
	}
	b, err := json.Marshal(n)
	if err != nil {
		m.cfg.Logger.Error("encode alert notification", "err", err)
		return
	}
	m.notify.enqueue(r.Notify, r.Name, b)
}

// link is the console's traces view of the rule's traces over its window
// ending at now: its filter (for a service rule, service("name"), narrowed
// to its faults, errors or throttles for those rates), within its group.
func link(r *Rule, now time.Time) string {
	f := r.Filter
	if r.Service != nil {
		f = "service(" + quote(r.Service.Name) + ")"
		if r.Service.Type != "" {
			f = "service(id(name: " + quote(r.Service.Name) + ", type: " + quote(r.Service.Type) + "))"
		}
		switch r.Metric {
		case FaultRate:
			f += " { fault }"
		case ErrorRate:
			f += " { error }"
		case ThrottleRate:
			f += " { throttle }"
		}
	}
	if r.Group != "" {
		f = "group.name = " + quote(r.Group) + " AND (" + f + ")"
	}
	q := url.Values{}
	q.Set("f", f)
	q.Set("range", "custom")
	q.Set("from", strconv.FormatInt(now.Add(-time.Duration(r.Window)).Unix(), 10))
	q.Set("to", strconv.FormatInt(now.Unix()+1, 10))
	return "/#/traces?" + q.Encode()
}

// quote writes s as a filter-expression string (JSON's escapes).
func quote(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

func (m *Manager) updateGauge() {
	counts := map[string]float64{StateOK: 0, StatePending: 0, StateFiring: 0, StateNoData: 0, "disabled": 0}
	m.mu.RLock()
	for _, e := range m.rules {
		if !e.rule.Enabled {
			counts["disabled"]++
		} else {
			counts[e.status.State]++
		}
	}
	m.mu.RUnlock()
	for k, v := range counts {
		m.stateGauge.WithLabelValues(k).Set(v)
	}
}

// RuleStatus is a rule with its status, as the API returns it.
type RuleStatus struct {
	Rule
	Status Status `json:"status"`
}

// List returns every rule with its status, ordered by name.
func (m *Manager) List() []RuleStatus {
	m.mu.RLock()
	out := make([]RuleStatus, 0, len(m.rules))
	for _, e := range m.rules {
		out = append(out, RuleStatus{e.rule, e.status})
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get returns a rule with its status.
func (m *Manager) Get(name string) (RuleStatus, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e := m.rules[name]
	if e == nil {
		return RuleStatus{}, false
	}
	return RuleStatus{e.rule, e.status}, true
}

// Events returns a rule's transitions, newest first.
func (m *Manager) Events(name string) ([]Event, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e := m.rules[name]
	if e == nil {
		return nil, false
	}
	out := make([]Event, len(e.events))
	for i, ev := range e.events {
		out[len(out)-1-i] = ev
	}
	return out, true
}

// ErrExists is returned by Put with create set when the rule exists.
var ErrExists = errors.New("rule exists")

// Put validates and saves r (create: it must not exist). Changing what the
// condition judges, or disabling the rule, resets its state to ok (a firing
// rule then sends a resolved notification); other edits keep it.
func (m *Manager) Put(ctx context.Context, r Rule, create bool) (RuleStatus, error) {
	if err := r.validate(); err != nil {
		return RuleStatus{}, err
	}
	if r.Group != "" {
		if _, err := m.group(r.Group); err != nil {
			return RuleStatus{}, err
		}
	}
	if r.Service != nil && m.cfg.Graph == nil {
		return RuleStatus{}, invalidf("this server keeps no service graph: use a filter rule")
	}
	if r.Filter != "" {
		if _, err := m.filterExpr(&r); err != nil {
			return RuleStatus{}, err
		}
	}
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	now := m.cfg.Now()
	r.Updated = now.UTC()
	m.mu.RLock()
	old := m.rules[r.Name]
	m.mu.RUnlock()
	if create && old != nil {
		return RuleStatus{}, ErrExists
	}
	b, err := json.Marshal(r)
	if err != nil {
		return RuleStatus{}, err
	}
	if err := m.cfg.Objects.Put(ctx, kindRule, r.Name, b); err != nil {
		return RuleStatus{}, fmt.Errorf("save alert rule: %w", err)
	}
	if old == nil {
		e := &entry{rule: r, status: Status{State: StateOK}}
		m.mu.Lock()
		m.rules[r.Name] = e
		m.mu.Unlock()
		m.persist(ctx, r.Name, e.status, nil) // clears a state left by an earlier rule of this name
	} else {
		m.mu.Lock()
		prevRule := old.rule
		old.rule = r
		old.gen++
		m.mu.Unlock()
		if !sameCondition(&prevRule, &r) {
			reason := "rule changed"
			if !r.Enabled {
				reason = "rule disabled"
			}
			// A resolved notification describes the condition that fired,
			// to the webhooks the rule had then.
			m.reset(ctx, old, prevRule, now, reason)
		}
	}
	m.updateGauge()
	select {
	case m.kick <- struct{}{}:
	default:
	}
	rs, _ := m.Get(r.Name)
	return rs, nil
}

// reset returns e to ok with no value, as a transition with reason judged
// by rule. writeMu is held.
func (m *Manager) reset(ctx context.Context, e *entry, rule Rule, now time.Time, reason string) {
	m.mu.RLock()
	prev := e.status
	m.mu.RUnlock()
	next := Status{State: StateOK, Since: prev.Since}
	if prev.State != StateOK {
		next.Since = now
	}
	m.apply(ctx, e, rule, next, now, reason)
}

// Delete removes a rule, its state and its events; a firing rule sends a
// resolved notification. ok is false if there was no such rule.
func (m *Manager) Delete(ctx context.Context, name string) (bool, error) {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	m.mu.RLock()
	e := m.rules[name]
	m.mu.RUnlock()
	if e == nil {
		return false, nil
	}
	if _, err := m.cfg.Objects.Delete(ctx, kindRule, name); err != nil {
		return false, fmt.Errorf("delete alert rule: %w", err)
	}
	m.mu.Lock()
	delete(m.rules, name)
	m.mu.Unlock()
	for _, k := range []string{kindState, kindEvents} {
		if _, err := m.cfg.Objects.Delete(ctx, k, name); err != nil {
			m.cfg.Logger.Error("delete alert state", "rule", name, "err", err)
		}
	}
	if e.status.State == StateFiring {
		now := m.cfg.Now()
		m.send(e.rule, e.status, Status{State: StateOK, Since: now}, now, "rule deleted")
	}
	m.updateGauge()
	return true, nil
}

// Test evaluates r now without changing any state, and returns the result
// and the state the rule would move to.
func (m *Manager) Test(ctx context.Context, r Rule) (Result, string, error) {
	if err := r.validate(); err != nil {
		return Result{}, "", err
	}
	c := &cycle{now: m.cfg.Now(), graphs: map[graphKey]*servicegraph.Bucket{}}
	res, err := m.evaluate(ctx, c, &r)
	if err != nil {
		return res, "", err
	}
	prev := Status{State: StateOK}
	if cur, ok := m.Get(r.Name); ok && sameCondition(&cur.Rule, &r) {
		prev = cur.Status
	}
	return res, step(&r, prev, res, c.now).State, nil
}
