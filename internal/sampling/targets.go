package sampling

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Interval is the reporting period, in seconds, handed to every client.
// Node and Python SDKs only handle multiples of 10 (§5.3).
const Interval = 10

const (
	interval = Interval * time.Second
	// activeWindow is how long after its last report a client still counts
	// towards a rule's fair shares: two missed polls plus the SDKs' jitter.
	activeWindow = 2*interval + 5*time.Second
	// heldSlack is added to a quota's TTL when deciding whether a client may
	// still be using it: the SDKs compare whole epoch seconds, so a quota is
	// used through the end of its TTL's second.
	heldSlack = time.Second
)

// Statistics is one SamplingStatisticsDocument: what one client counted for
// one rule since its previous report.
type Statistics struct {
	RuleName     string
	ClientID     string
	Timestamp    time.Time
	RequestCount int
	SampledCount int
	BorrowCount  int
}

// Target is one SamplingTargetDocument.
type Target struct {
	RuleName          string
	FixedRate         float64
	ReservoirQuota    int
	ReservoirQuotaTTL time.Time
	Interval          int
}

// Unprocessed is one UnprocessedStatistics entry. ErrorCode is HTTP-like:
// SDKs refresh their rules when it starts with "4" (§5.3).
type Unprocessed struct {
	RuleName  string
	ErrorCode string
	Message   string
}

// TargetsConfig configures Targets.
type TargetsConfig struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TTL is how long a granted quota stays valid. It must be at least two
	// intervals (20 s) so one missed poll does not drop a client's quota.
	// Shorter TTLs give a departed client's share back sooner. Zero means
	// DefaultTTL.
	TTL time.Duration
}

// DefaultTTL is the quota lifetime used when TargetsConfig.TTL is zero.
const DefaultTTL = time.Minute

// Validate reports whether c is usable.
func (c TargetsConfig) Validate() error {
	if c.TTL != 0 && c.TTL < 2*interval {
		return fmt.Errorf("quota TTL must be at least %v, got %v", 2*interval, c.TTL)
	}
	return nil
}

// Targets is the server side of GetSamplingTargets (§5.4). It remembers,
// per rule and client, the latest statistics and the quota it granted, and
// splits each rule's reservoir between the clients that report for it.
// It is safe for concurrent use.
//
// The algorithm, for each statistics document of a known rule:
//
//  1. Record the client's statistics and its demand, RequestCount/Interval
//     requests per second, and mark it seen now (the server's clock: client
//     timestamps are kept but not trusted for timing).
//  2. The rule's active clients are those seen within the last two intervals
//     plus jitter slack. Their fair shares of ReservoirSize R are:
//     if every active client's ceil(demand) fits in R, each gets its ceil(demand)
//     and the rest of R is spread one by one over the clients, busiest first
//     (a burst then finds quota waiting); otherwise each gets a fair minimum,
//     min(ceil(demand), floor(R/N)) for N active clients, and the remainder is
//     split in proportion to each client's unmet demand, whole units going by
//     largest fractional part. Shares never exceed R in sum.
//  3. The fleet invariant: the fleet samples at most R requests in any epoch
//     second. A client keeps using a quota until its TTL passes, so the quotas
//     held now, not only those computed now, count; and SDKs count what they
//     took per second across a quota change, so a quota replaced during this
//     second still counts until the second ends. The client is granted
//     min(share, R − Σ held(other)), where held(o) is the larger of o's
//     unexpired quota and the quota o was replaced from this second. A client joining
//     a busy rule may get less than its share (even 0, falling back to the
//     FixedRate) until the others' next polls shrink their quotas; shares
//     converge within about one interval.
//  4. The quota is valid until now+TTL (rounded down to a whole second, as
//     the wire carries epoch seconds), and the server counts it as held one
//     second longer, since SDKs use it through the end of that second. A
//     client that stops reporting leaves the fair shares after the active
//     window and releases its quota when its TTL passes; the others' quotas
//     grow from their next poll after that.
//
// If a rule's ReservoirSize shrinks, quotas granted under the old size stay
// held until they are replaced or expire, so the invariant holds again within
// one TTL. Documents for unknown rules are returned as Unprocessed with
// ErrorCode "400" so the client refreshes its rules, and their state is
// dropped.
type Targets struct {
	now func() time.Time
	ttl time.Duration

	mu      sync.Mutex
	rules   map[string]*ruleState
	lastMod time.Time
}

// sharesRefresh is how stale a rule's table of fair shares may get before a
// report recomputes it (a client joining recomputes it at once). Shares are
// fairness only: the fleet invariant is checked against the quotas held at
// every grant, whatever the table's age.
const sharesRefresh = time.Second

// maxClientsPerRule bounds the memory one rule's clients take; a client
// beyond it is granted no quota (it samples at the FixedRate) and not
// remembered.
const maxClientsPerRule = 20_000

// ruleState is what Targets remembers of one rule.
type ruleState struct {
	clients    map[string]*client
	list       []*client // the same clients, for iteration
	reservoir  int       // the ReservoirSize the shares were computed for
	computedAt time.Time // when the shares were computed; zero: recompute

	// heldSum is Σ held(now) over the clients, valid before sumValidTill
	// (the first instant a held quota may lapse): grants update it, and it
	// is recounted only when a quota lapses, so a grant costs O(1).
	heldSum      int
	sumValidTill time.Time
}

// heldTotal returns Σ held(now) over the rule's clients.
func (rs *ruleState) heldTotal(now time.Time) int {
	if now.Before(rs.sumValidTill) {
		return rs.heldSum
	}
	rs.heldSum, rs.sumValidTill = 0, now.Add(24*time.Hour)
	for _, o := range rs.list {
		rs.heldSum += o.held(now)
		rs.lapsesAt(o, now)
	}
	return rs.heldSum
}

// lapsesAt shortens sumValidTill to the next instant o's held quota may
// shrink.
func (rs *ruleState) lapsesAt(o *client, now time.Time) {
	for _, t := range [...]time.Time{o.heldTill, o.prevTill} {
		if now.Before(t) && t.Before(rs.sumValidTill) {
			rs.sumValidTill = t
		}
	}
}

type client struct {
	id       string
	share    int // fair share at the last computation
	need     int // ceil(demand), scratch for shares
	stats    Statistics
	demand   float64   // requests per second in the last report
	seen     time.Time // server time of the last report
	quota    int       // last quota granted
	heldTill time.Time // the quota counts against the reservoir before this instant
	prev     int       // the quota replaced by the last grant, if it was held then
	prevTill time.Time // prev counts against the reservoir before this instant (the end of that second)
}

// NewTargets returns an empty Targets.
func NewTargets(cfg TargetsConfig) (*Targets, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	return &Targets{now: cfg.Now, ttl: cfg.TTL, rules: map[string]*ruleState{}}, nil
}

// RuleModified records that a rule was created, updated or deleted at t.
// LastRuleModification returns the latest such time; earlier times are
// ignored.
func (t *Targets) RuleModified(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if at.After(t.lastMod) {
		t.lastMod = at
	}
}

// LastRuleModification returns the latest time passed to RuleModified, or
// the zero time. It is the real modification time, not "now": Go SDKs
// refetch rules whenever it is at or after their last fetch (§5.3).
func (t *Targets) LastRuleModification() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastMod
}

var errNegativeCount = errors.New("counts must not be negative")

// Compute records stats and returns one Target per accepted document, in
// document order, and one Unprocessed per rejected document. rules is the
// current rule set (Default included); a document naming no rule in it is
// rejected with ErrorCode "400". Documents are processed in order, so a
// later document for the same rule and client replaces an earlier one.
func (t *Targets) Compute(rules []Rule, stats []Statistics) ([]Target, []Unprocessed) {
	byName := make(map[string]*Rule, len(rules))
	for i := range rules {
		byName[rules[i].RuleName] = &rules[i]
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var targets []Target
	var unprocessed []Unprocessed
	for _, s := range stats {
		rule, ok := byName[s.RuleName]
		if !ok {
			delete(t.rules, s.RuleName)
			unprocessed = append(unprocessed, Unprocessed{RuleName: s.RuleName, ErrorCode: "400", Message: "Rule not found"})
			continue
		}
		if s.RequestCount < 0 || s.SampledCount < 0 || s.BorrowCount < 0 {
			unprocessed = append(unprocessed, Unprocessed{RuleName: s.RuleName, ErrorCode: "400", Message: errNegativeCount.Error()})
			continue
		}
		targets = append(targets, t.grant(rule, s, now))
	}
	return targets, unprocessed
}

// grant records s and returns the client's new target. t.mu is held.
func (t *Targets) grant(rule *Rule, s Statistics, now time.Time) Target {
	rs := t.rules[rule.RuleName]
	if rs == nil {
		rs = &ruleState{clients: map[string]*client{}}
		t.rules[rule.RuleName] = rs
	}
	ttl := now.Add(t.ttl).Truncate(time.Second)
	target := Target{RuleName: rule.RuleName, FixedRate: rule.FixedRate, ReservoirQuotaTTL: ttl, Interval: Interval}
	c := rs.clients[s.ClientID]
	if c == nil {
		if len(rs.clients) >= maxClientsPerRule {
			return target
		}
		c = &client{id: s.ClientID}
		rs.clients[s.ClientID] = c
		rs.list = append(rs.list, c)
		rs.computedAt = time.Time{}
	}
	c.stats = s
	c.demand = float64(s.RequestCount) / Interval
	c.seen = now
	if rs.reservoir != rule.ReservoirSize || now.Sub(rs.computedAt) >= sharesRefresh || now.Before(rs.computedAt) {
		rs.recompute(rule.ReservoirSize, now)
	}

	before := c.held(now)
	room := rule.ReservoirSize - (rs.heldTotal(now) - before)
	quota := max(min(c.share, room), 0)
	c.prev, c.prevTill = before, now.Truncate(time.Second).Add(time.Second)
	c.quota = quota
	c.heldTill = ttl.Add(heldSlack)
	rs.heldSum += c.held(now) - before
	rs.lapsesAt(c, now)
	target.ReservoirQuota = quota
	return target
}

// recompute forgets the clients that neither count towards shares nor hold
// a quota, and recomputes the fair shares of the active ones.
func (rs *ruleState) recompute(reservoir int, now time.Time) {
	active := make([]*client, 0, len(rs.list))
	kept := rs.list[:0]
	for _, o := range rs.list {
		inWindow := now.Sub(o.seen) < activeWindow
		if !inWindow && !now.Before(o.heldTill) && !now.Before(o.prevTill) {
			delete(rs.clients, o.id)
			continue
		}
		kept = append(kept, o)
		o.share = 0
		if inWindow {
			active = append(active, o)
		}
	}
	clear(rs.list[len(kept):])
	rs.list = kept
	shares(reservoir, active)
	rs.reservoir, rs.computedAt = reservoir, now
}

// held is how much of the reservoir c may use in the current second.
func (c *client) held(now time.Time) int {
	h := 0
	if now.Before(c.heldTill) {
		h = c.quota
	}
	if now.Before(c.prevTill) {
		h = max(h, c.prev)
	}
	return h
}

// shares splits reservoir between the active clients (step 2 of the
// algorithm on Targets), setting their share. The shares sum to at most
// reservoir.
func shares(reservoir int, active []*client) {
	if reservoir <= 0 || len(active) == 0 {
		return
	}
	// Busiest first, then by ID, so every tie is broken the same way.
	slices.SortFunc(active, func(a, b *client) int {
		if c := cmp.Compare(b.demand, a.demand); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	total := 0
	for _, c := range active {
		c.need = int(math.Ceil(c.demand))
		total += c.need
	}

	if total <= reservoir {
		left := reservoir
		for _, c := range active {
			c.share = c.need
			left -= c.need
		}
		for i := 0; left > 0; i = (i + 1) % len(active) {
			active[i].share++
			left--
		}
		return
	}

	fair := reservoir / len(active)
	left := reservoir
	unmet := 0
	for _, c := range active {
		c.share = min(c.need, fair)
		left -= c.share
		unmet += c.need - c.share
	}
	if left == 0 || unmet == 0 {
		return
	}
	// Largest remainder: left < unmet here, so no client exceeds its need.
	type frac struct {
		c *client
		f float64
	}
	fracs := make([]frac, 0, len(active))
	given := 0
	for _, c := range active {
		exact := float64(left) * float64(c.need-c.share) / float64(unmet)
		whole := int(exact)
		c.share += whole
		given += whole
		fracs = append(fracs, frac{c, exact - float64(whole)})
	}
	// Ties go to clients that already hold a quota, so equal clients keep
	// their units instead of trading them every poll: the Node SDK ignores a
	// ReservoirQuota of 0 and keeps using its previous quota, so taking a
	// client's last unit away is the one change it does not follow.
	sort.SliceStable(fracs, func(i, j int) bool {
		if fracs[i].f != fracs[j].f {
			return fracs[i].f > fracs[j].f
		}
		return fracs[i].c.quota > fracs[j].c.quota
	})
	for i := 0; given < left && i < len(fracs); i++ {
		fracs[i].c.share++
		given++
	}
}
