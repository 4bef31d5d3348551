package insight

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// Kind is the store.Objects kind insights are kept under.
const Kind = "insight"

// Bounds of what one insight records.
const (
	maxEvents   = 500
	maxServices = 100
	// maxGap is the most minutes one Tick judges; older pending minutes
	// are dropped (after a long stop, say).
	maxGap = 24 * 60
)

// The insight states, as X-Ray spells them.
const (
	Active = "ACTIVE"
	Closed = "CLOSED"
)

// Config wires an Engine. Zero fields take the defaults in parentheses.
type Config struct {
	// Objects keeps the insights (required).
	Objects store.Objects
	// Now is the clock (time.Now). Minutes are judged by Tick against it.
	Now func() time.Time
	// NewDetector makes each node's detector (NewRobust with defaults).
	NewDetector func() Detector
	// Grace is how long after a minute ends it is judged (90 s): its traces
	// are summarised only after they go idle, and late ones are dropped.
	Grace time.Duration
	// Recover is how many consecutive normal minutes close an insight (3).
	Recover int
	Logger  *slog.Logger
}

// Engine counts requests and faults per node and minute, judges each closed
// minute, and keeps insights. Its methods are safe for concurrent use.
type Engine struct {
	cfg Config

	mu        sync.Mutex
	minutes   map[int64]*minute
	next      int64 // first minute not yet judged; valid once started
	started   bool
	late      int64
	detectors map[model.ServiceID]Detector
	active    map[model.ServiceID]*Record // by root-cause service
	all       map[string]*Record
}

// minute is what the traces that started in one minute contributed.
type minute struct {
	nodes    map[model.ServiceID]*nodeCount
	entries  map[model.ServiceID]*Stats // client requests by entry point
	culprits map[model.ServiceID]*culprit
}

type nodeCount struct {
	requests, faults int64
	// blame counts, per root-cause service, the faulted traces whose fault
	// chain passed through this node.
	blame map[model.ServiceID]int64
}

type culprit struct {
	entries map[model.ServiceID]bool
	edges   map[[2]model.ServiceID]bool
}

// Stats counts requests, X-Ray's RequestImpactStatistics.
type Stats struct {
	Faults int64 `json:"faults"`
	OK     int64 `json:"ok"`
	Total  int64 `json:"total"`
}

func (s *Stats) add(o Stats) { s.Faults += o.Faults; s.OK += o.OK; s.Total += o.Total }

// Record is one insight as stored (JSON under Kind, named by ID).
type Record struct {
	ID        string            `json:"id"`
	RootCause model.ServiceID   `json:"rootCause"`
	State     string            `json:"state"`
	Start     float64           `json:"start"`
	End       float64           `json:"end,omitempty"` // 0 while active
	Updated   float64           `json:"updated"`
	Summary   string            `json:"summary"`
	Anomalous []model.ServiceID `json:"anomalous"`
	// RootStats counts the root-cause service's requests over the
	// insight's minutes; ClientStats the client requests (traces) entering
	// by the entry points its faults reached.
	RootStats   Stats   `json:"rootStats"`
	ClientStats Stats   `json:"clientStats"`
	PeakRate    float64 `json:"peakRate"`
	Events      []Event `json:"events"`
	// Services and Edges are the impact graph: the services on the fault
	// chains blamed on the root cause, and caller → callee pairs of indexes
	// into Services.
	Services []model.ServiceID `json:"services"`
	Edges    [][2]int          `json:"edges"`
	// LastAnomalous is the last anomalous minute (epoch minutes) and Quiet
	// the normal minutes judged since.
	LastAnomalous int64 `json:"lastAnomalous"`
	Quiet         int   `json:"quiet"`
}

// Event is a change of an insight: it opened, its anomalous services
// changed, or it closed.
type Event struct {
	Time        float64           `json:"time"`
	Summary     string            `json:"summary"`
	RootStats   Stats             `json:"rootStats"`
	ClientStats Stats             `json:"clientStats"`
	Anomalous   []model.ServiceID `json:"anomalous"`
}

// New loads the stored insights and returns an engine; insights left ACTIVE
// stay active (their detectors learn their baselines again).
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Objects == nil {
		return nil, errors.New("insight: Objects is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewDetector == nil {
		cfg.NewDetector = func() Detector { return NewRobust(RobustConfig{}) }
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 90 * time.Second
	}
	if cfg.Recover <= 0 {
		cfg.Recover = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &Engine{cfg: cfg, minutes: map[int64]*minute{}, detectors: map[model.ServiceID]Detector{},
		active: map[model.ServiceID]*Record{}, all: map[string]*Record{}}
	var bad error
	err := cfg.Objects.List(ctx, Kind, func(name string, value []byte) bool {
		r := &Record{}
		if err := json.Unmarshal(value, r); err != nil {
			bad = fmt.Errorf("decode insight %s: %w", name, err)
			return true
		}
		e.all[r.ID] = r
		if r.State == Active {
			e.active[r.RootCause] = r
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("load insights: %w", err)
	}
	if bad != nil {
		cfg.Logger.Warn("skipped a stored insight", "err", bad)
	}
	return e, nil
}

// Observe counts one completed trace in the minute it started: each of its
// segments is a request to its node, a fault when the segment faulted; its
// fault root causes say which service each faulted node's traces blame.
// Traces summarised again (Revision > 0) were counted already and are
// skipped, as are traces of minutes already judged. It matches
// ingest.Config.OnComplete; neither argument is retained.
func (e *Engine) Observe(_ context.Context, sum *model.Summary, spans []*model.Span) {
	if sum.Revision > 0 || math.IsNaN(sum.Start) {
		return
	}
	m := int64(math.Floor(sum.Start / 60))
	e.mu.Lock()
	defer e.mu.Unlock()
	if (e.started && m < e.next) || m > e.cfg.Now().Unix()/60+60 {
		e.late++
		return
	}
	mc := e.minutes[m]
	if mc == nil {
		mc = &minute{nodes: map[model.ServiceID]*nodeCount{}, entries: map[model.ServiceID]*Stats{}, culprits: map[model.ServiceID]*culprit{}}
		e.minutes[m] = mc
	}
	for _, s := range spans {
		if s.Independent || s.Root.InProgress {
			continue
		}
		nc := mc.node(model.ServiceID{Name: s.Root.Name, Type: s.Root.Origin, AccountID: s.Root.AccountID})
		nc.requests++
		if s.Root.Fault {
			nc.faults++
		}
	}
	if sum.EntryPoint != nil {
		st := mc.entries[*sum.EntryPoint]
		if st == nil {
			st = &Stats{}
			mc.entries[*sum.EntryPoint] = st
		}
		st.Total++
		if sum.HasFault {
			st.Faults++
		} else {
			st.OK++
		}
	}
	for _, rc := range sum.FaultRootCauses {
		if len(rc.Services) == 0 {
			continue
		}
		c := rc.Services[len(rc.Services)-1].ID
		cu := mc.culprits[c]
		if cu == nil {
			cu = &culprit{entries: map[model.ServiceID]bool{}, edges: map[[2]model.ServiceID]bool{}}
			mc.culprits[c] = cu
		}
		if sum.EntryPoint != nil {
			cu.entries[*sum.EntryPoint] = true
		}
		for i, svc := range rc.Services {
			nc := mc.node(svc.ID)
			nc.blame[c]++
			if i > 0 {
				cu.edges[[2]model.ServiceID{rc.Services[i-1].ID, svc.ID}] = true
			}
		}
	}
}

func (mc *minute) node(id model.ServiceID) *nodeCount {
	nc := mc.nodes[id]
	if nc == nil {
		nc = &nodeCount{blame: map[model.ServiceID]int64{}}
		mc.nodes[id] = nc
	}
	return nc
}

// Late counts traces dropped because their minute was already judged.
func (e *Engine) Late() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.late
}

// Run calls Tick every interval until ctx is done.
func (e *Engine) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.Tick(ctx); err != nil {
				e.cfg.Logger.Error("judge insights", "err", err)
			}
		}
	}
}

// Tick judges every minute that ended at least Grace before Now, in order,
// opens, updates and closes insights, and stores those that changed. Tests
// call it directly after moving the injected clock.
func (e *Engine) Tick(ctx context.Context) error {
	now := e.cfg.Now()
	last := int64(math.Floor(float64(now.Add(-e.cfg.Grace).Unix())/60)) - 1
	e.mu.Lock()
	if !e.started {
		for m := range e.minutes {
			if !e.started || m < e.next {
				e.next, e.started = m, true
			}
		}
		if !e.started {
			e.mu.Unlock()
			return nil
		}
	}
	if last-e.next > maxGap {
		e.next = last - maxGap
	}
	changed := map[string]*Record{}
	for m := e.next; m <= last; m++ {
		e.judge(m, e.minutes[m], changed)
	}
	for m := range e.minutes {
		if m <= last {
			delete(e.minutes, m)
		}
	}
	e.next = max(e.next, last+1)
	blobs := map[string][]byte{}
	for id, r := range changed {
		b, err := json.Marshal(r)
		if err != nil {
			e.mu.Unlock()
			return fmt.Errorf("encode insight: %w", err)
		}
		blobs[id] = b
	}
	e.mu.Unlock()
	var errs []error
	for id, b := range blobs {
		if err := e.cfg.Objects.Put(ctx, Kind, id, b); err != nil {
			errs = append(errs, fmt.Errorf("store insight %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

func sortIDs(ids []model.ServiceID) {
	slices.SortFunc(ids, func(a, b model.ServiceID) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Type, b.Type), cmp.Compare(a.AccountID, b.AccountID))
	})
}

// judge runs every known node's detector on minute m (nil: no traffic).
func (e *Engine) judge(m int64, mc *minute, changed map[string]*Record) {
	if mc == nil {
		mc = &minute{}
	}
	for id, nc := range mc.nodes {
		if _, ok := e.detectors[id]; !ok && nc.requests > 0 {
			e.detectors[id] = e.cfg.NewDetector()
		}
	}
	ids := make([]model.ServiceID, 0, len(e.detectors))
	for id := range e.detectors {
		ids = append(ids, id)
	}
	sortIDs(ids)
	groups := map[model.ServiceID][]model.ServiceID{} // root cause → anomalous nodes
	for _, id := range ids {
		var req, faults int64
		nc := mc.nodes[id]
		if nc != nil {
			req, faults = nc.requests, nc.faults
		}
		if !e.detectors[id].Observe(req, faults) {
			continue
		}
		cause, best := id, int64(0)
		var blame map[model.ServiceID]int64
		if nc != nil {
			blame = nc.blame
		}
		for c, n := range blame {
			if n > best || (n == best && c.Name < cause.Name) {
				cause, best = c, n
			}
		}
		groups[cause] = append(groups[cause], id)
	}
	at := float64(m * 60)
	for cause, nodes := range groups {
		r := e.active[cause]
		if r == nil {
			r = &Record{ID: newID(), RootCause: cause, State: Active, Start: at, Anomalous: []model.ServiceID{}, Events: []Event{}, Services: []model.ServiceID{}, Edges: [][2]int{}}
			e.active[cause], e.all[r.ID] = r, r
		}
		grew := false
		for _, n := range nodes {
			if !slices.Contains(r.Anomalous, n) {
				r.Anomalous, grew = append(r.Anomalous, n), true
			}
			if nc := mc.nodes[n]; nc != nil && nc.requests > 0 {
				r.PeakRate = max(r.PeakRate, float64(nc.faults)/float64(nc.requests))
			}
		}
		sortIDs(r.Anomalous)
		r.LastAnomalous, r.Quiet = m, 0
		e.account(r, mc, nodes)
		r.Summary = summaryOf(r)
		if grew {
			what := "opened"
			if len(r.Events) > 0 {
				what = "spread"
			}
			e.event(r, at, what)
		}
		r.Updated = at + 60
		changed[r.ID] = r
	}
	for cause, r := range e.active {
		if _, hit := groups[cause]; hit {
			continue
		}
		e.account(r, mc, nil)
		r.Quiet++
		r.Updated = at + 60
		if r.Quiet >= e.cfg.Recover {
			r.State, r.End = Closed, float64((r.LastAnomalous+1)*60)
			r.Summary = summaryOf(r)
			e.event(r, at+60, "closed")
			delete(e.active, cause)
		}
		changed[r.ID] = r
	}
}

// account adds minute mc to r's impact statistics and impact graph.
// anomalous are r's anomalous nodes this minute (used for a root cause
// that sends no segments of its own, such as an uninstrumented database).
func (e *Engine) account(r *Record, mc *minute, anomalous []model.ServiceID) {
	if nc := mc.nodes[r.RootCause]; nc != nil && nc.requests > 0 {
		r.RootStats.add(Stats{Faults: nc.faults, OK: nc.requests - nc.faults, Total: nc.requests})
	} else {
		var most *nodeCount
		for _, n := range anomalous {
			if nc := mc.nodes[n]; nc != nil && (most == nil || nc.blame[r.RootCause] > most.blame[r.RootCause]) {
				most = nc
			}
		}
		if most != nil {
			r.RootStats.add(Stats{Faults: most.faults, OK: most.requests - most.faults, Total: most.requests})
		}
	}
	cu := mc.culprits[r.RootCause]
	if cu == nil {
		return
	}
	for ep := range cu.entries {
		if st := mc.entries[ep]; st != nil {
			r.ClientStats.add(*st)
		}
	}
	index := func(id model.ServiceID) int {
		if i := slices.Index(r.Services, id); i >= 0 {
			return i
		}
		if len(r.Services) == maxServices {
			return -1
		}
		r.Services = append(r.Services, id)
		return len(r.Services) - 1
	}
	index(r.RootCause)
	for ed := range cu.edges {
		a, b := index(ed[0]), index(ed[1])
		if a >= 0 && b >= 0 && !slices.Contains(r.Edges, [2]int{a, b}) {
			r.Edges = append(r.Edges, [2]int{a, b})
		}
	}
}

func (e *Engine) event(r *Record, at float64, what string) {
	if len(r.Events) == maxEvents {
		return
	}
	r.Events = append(r.Events, Event{Time: at, Summary: what + ": " + r.Summary, RootStats: r.RootStats, ClientStats: r.ClientStats,
		Anomalous: slices.Clone(r.Anomalous)})
}

func summaryOf(r *Record) string {
	name := r.RootCause.Name
	if r.RootCause.Type != "" {
		name += " (" + r.RootCause.Type + ")"
	}
	verb := "is causing"
	if r.State == Closed {
		verb = "caused"
	}
	return fmt.Sprintf("%s %s an abnormal fault rate in %d service(s), peaking at %.1f%% of requests; %d of %d client requests faulted",
		name, verb, len(r.Anomalous), 100*r.PeakRate, r.ClientStats.Faults, r.ClientStats.Total)
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Insights returns copies of the insights overlapping [start, end) whose
// state is in states (any when empty), newest first.
func (e *Engine) Insights(start, end float64, states []string) []Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Record
	for _, r := range e.all {
		if r.Start >= end || (r.End != 0 && r.End < start) {
			continue
		}
		if len(states) > 0 && !slices.Contains(states, r.State) {
			continue
		}
		out = append(out, clone(r))
	}
	slices.SortFunc(out, func(a, b Record) int { return cmp.Or(cmp.Compare(b.Start, a.Start), cmp.Compare(a.ID, b.ID)) })
	return out
}

// Insight returns a copy of one insight; ok is false when there is none.
func (e *Engine) Insight(id string) (Record, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.all[id]
	if r == nil {
		return Record{}, false
	}
	return clone(r), true
}

func clone(r *Record) Record {
	c := *r
	c.Anomalous = slices.Clone(r.Anomalous)
	c.Events = slices.Clone(r.Events)
	c.Services = slices.Clone(r.Services)
	c.Edges = slices.Clone(r.Edges)
	return c
}
