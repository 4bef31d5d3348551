package sampling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fluoro-dev/fluoro/internal/store"
)

// ObjectKind is the store.Objects kind under which rules are persisted, one
// JSON Record per rule name.
const ObjectKind = "sampling-rule"

// MaxRules is how many rules may exist besides Default, X-Ray's quota of 25
// sampling rules per account and region.
const MaxRules = 25

// Error codes a Service returns; the API renders them as X-Ray errors.
const (
	CodeInvalidRequest = "InvalidRequestException"
	CodeRuleLimit      = "RuleLimitExceededException"
)

// Error is a refusal in X-Ray's terms: Code is the X-Ray error type, the
// message is fit for the client. Every Error is the client's fault (400).
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalidf(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// Record is a stored rule with its server-assigned fields, the X-Ray
// SamplingRuleRecord. It is also the JSON persisted in store.Objects.
type Record struct {
	Rule       Rule
	RuleARN    string
	CreatedAt  time.Time
	ModifiedAt time.Time
	Tags       []Tag `json:",omitempty"`
}

// Tag is a resource tag given to CreateSamplingRule. Tags are validated and
// kept with the rule; the tagging operations are not served.
type Tag struct {
	Key   string
	Value string
}

// Update is a partial rule update (X-Ray SamplingRuleUpdate): nil fields are
// left as they are. The rule is named by RuleName or RuleARN.
type Update struct {
	RuleName      *string
	RuleARN       *string
	Priority      *int
	FixedRate     *float64
	ReservoirSize *int
	ServiceName   *string
	ServiceType   *string
	Host          *string
	HTTPMethod    *string
	URLPath       *string
	ResourceARN   *string
	Attributes    map[string]string // nil: unchanged; empty: cleared
}

// Summary is one GetSamplingStatisticSummaries entry: what every client
// reported for one rule in one Interval-long window starting at Timestamp.
type Summary struct {
	RuleName     string
	Timestamp    time.Time
	RequestCount int
	SampledCount int
	BorrowCount  int
}

// Config configures a Service.
type Config struct {
	// Objects persists the rules (required).
	Objects store.Objects
	// Region and Account make up rule ARNs:
	// arn:aws:xray:<Region>:<Account>:sampling-rule/<name>.
	// Defaults: us-east-1 and 000000000000.
	Region, Account string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// QuotaTTL is the lifetime of a granted reservoir quota (DefaultTTL when
	// zero); see TargetsConfig.TTL.
	QuotaTTL time.Duration
	// SummaryWindows is how many Interval-long windows of statistics
	// Summaries keeps per rule; 360 (one hour) when zero.
	SummaryWindows int
}

// Service owns the sampling rules: it persists them, validates every change
// with X-Ray's errors, and answers GetSamplingTargets and
// GetSamplingStatisticSummaries. Rules survive restarts; quotas and
// statistics are in memory only (after a restart clients re-learn their
// quotas at their next poll, within one Interval). It is safe for concurrent
// use.
type Service struct {
	cfg     Config
	targets *Targets

	mu    sync.Mutex // serialises writes
	rules atomic.Pointer[ruleSet]

	statsMu sync.Mutex
	windows map[string][]Summary // rule name → windows, oldest first
}

// ruleSet is an immutable snapshot of the stored rules.
type ruleSet struct {
	records map[string]Record
	rules   []Rule // sorted by priority then name, Default last
	lastMod time.Time
}

// Open loads the stored rules and creates the Default rule if there is
// none, so a first start serves the same Default as X-Ray.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Objects == nil {
		return nil, errors.New("sampling: Objects is required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Account == "" {
		cfg.Account = "000000000000"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SummaryWindows <= 0 {
		cfg.SummaryWindows = 360
	}
	tg, err := NewTargets(TargetsConfig{Now: cfg.Now, TTL: cfg.QuotaTTL})
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, targets: tg, windows: map[string][]Summary{}}
	records := map[string]Record{}
	var decodeErr error
	err = cfg.Objects.List(ctx, ObjectKind, func(name string, value []byte) bool {
		var rec Record
		if err := json.Unmarshal(value, &rec); err != nil {
			decodeErr = fmt.Errorf("decode sampling rule %q: %w", name, err)
			return false
		}
		records[name] = rec
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list sampling rules: %w", err)
	}
	if decodeErr != nil {
		return nil, decodeErr
	}
	if _, ok := records[DefaultRuleName]; !ok {
		now := cfg.Now().UTC()
		rec := Record{Rule: DefaultRule(), RuleARN: s.arn(DefaultRuleName), CreatedAt: now, ModifiedAt: now}
		if err := s.put(ctx, rec); err != nil {
			return nil, err
		}
		records[DefaultRuleName] = rec
	}
	s.publish(records)
	// Rules may have been deleted while the server was down, and a deletion
	// leaves no record: tell every client to refetch its rules once.
	s.targets.RuleModified(cfg.Now().UTC())
	return s, nil
}

func (s *Service) arn(name string) string {
	return "arn:aws:xray:" + s.cfg.Region + ":" + s.cfg.Account + ":sampling-rule/" + name
}

func (s *Service) put(ctx context.Context, rec Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := s.cfg.Objects.Put(ctx, ObjectKind, rec.Rule.RuleName, b); err != nil {
		return fmt.Errorf("store sampling rule: %w", err)
	}
	return nil
}

// publish installs records as the current rule set. s.mu is held (or the
// Service is not shared yet).
func (s *Service) publish(records map[string]Record) {
	set := &ruleSet{records: records}
	for _, rec := range records {
		set.rules = append(set.rules, rec.Rule)
		if rec.ModifiedAt.After(set.lastMod) {
			set.lastMod = rec.ModifiedAt
		}
	}
	sort.Slice(set.rules, func(i, j int) bool { return before(set.rules[i], set.rules[j]) })
	if old := s.rules.Load(); old != nil && old.lastMod.After(set.lastMod) {
		set.lastMod = old.lastMod // a deletion is a modification too
	}
	s.rules.Store(set)
	s.targets.RuleModified(set.lastMod)
}

// Rules returns every rule, sorted by priority then name (Default last).
// The slice is shared: callers must not modify it.
func (s *Service) Rules() []Rule { return s.rules.Load().rules }

// Records returns every rule record in the order of Rules.
func (s *Service) Records() []Record {
	set := s.rules.Load()
	out := make([]Record, len(set.rules))
	for i, r := range set.rules {
		out[i] = set.records[r.RuleName]
	}
	return out
}

// Create stores a new rule. The rule must be complete (every field of
// X-Ray's SamplingRule that the model requires) and valid; its name must be
// new. RuleARN, if given, must be the ARN the rule would get.
func (s *Service) Create(ctx context.Context, r Rule, ruleARN string, tags []Tag) (Record, error) {
	if r.RuleName == "" && ruleARN != "" {
		r.RuleName = s.nameFromARN(ruleARN)
		if r.RuleName == "" {
			return Record{}, invalidf("RuleARN %q is not a sampling rule ARN of this server (%s)", ruleARN, s.arn("<name>"))
		}
	}
	if ruleARN != "" && ruleARN != s.arn(r.RuleName) {
		return Record{}, invalidf("RuleARN %q does not match RuleName %q (want %s)", ruleARN, r.RuleName, s.arn(r.RuleName))
	}
	if err := validateName(r.RuleName); err != nil {
		return Record{}, err
	}
	if r.Attributes == nil {
		r.Attributes = map[string]string{}
	}
	if err := r.Validate(); err != nil {
		return Record{}, invalidf("%v", err)
	}
	if err := validateTags(tags); err != nil {
		return Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.rules.Load()
	if _, ok := cur.records[r.RuleName]; ok {
		return Record{}, invalidf("a sampling rule named %q already exists", r.RuleName)
	}
	if len(cur.records)-1 >= MaxRules {
		return Record{}, &Error{Code: CodeRuleLimit, Message: fmt.Sprintf("at most %d sampling rules besides %s may exist", MaxRules, DefaultRuleName)}
	}
	now := s.cfg.Now().UTC()
	rec := Record{Rule: r, RuleARN: s.arn(r.RuleName), CreatedAt: now, ModifiedAt: now, Tags: tags}
	if err := s.put(ctx, rec); err != nil {
		return Record{}, err
	}
	next := cloneRecords(cur.records)
	next[r.RuleName] = rec
	s.publish(next)
	return rec, nil
}

// Update applies u to the rule it names. The Default rule's FixedRate and
// ReservoirSize may change, nothing else of it.
func (s *Service) Update(ctx context.Context, u Update) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.rules.Load()
	name, err := s.resolve(cur, u.RuleName, u.RuleARN)
	if err != nil {
		return Record{}, err
	}
	rec := cur.records[name]
	r := rec.Rule
	r.Attributes = cloneMap(r.Attributes)
	if name == DefaultRuleName {
		for field, set := range map[string]bool{
			"Priority": u.Priority != nil, "ServiceName": u.ServiceName != nil, "ServiceType": u.ServiceType != nil,
			"Host": u.Host != nil, "HTTPMethod": u.HTTPMethod != nil, "URLPath": u.URLPath != nil,
			"ResourceARN": u.ResourceARN != nil, "Attributes": u.Attributes != nil,
		} {
			if set {
				return Record{}, invalidf("only FixedRate and ReservoirSize of the %s rule can be updated, not %s", DefaultRuleName, field)
			}
		}
	}
	setInt(&r.Priority, u.Priority)
	setInt(&r.ReservoirSize, u.ReservoirSize)
	if u.FixedRate != nil {
		r.FixedRate = *u.FixedRate
	}
	for _, f := range []struct {
		dst *string
		src *string
	}{{&r.ServiceName, u.ServiceName}, {&r.ServiceType, u.ServiceType}, {&r.Host, u.Host},
		{&r.HTTPMethod, u.HTTPMethod}, {&r.URLPath, u.URLPath}, {&r.ResourceARN, u.ResourceARN}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if u.Attributes != nil {
		r.Attributes = cloneMap(u.Attributes)
	}
	if err := r.Validate(); err != nil {
		return Record{}, invalidf("%v", err)
	}
	rec.Rule = r
	rec.ModifiedAt = s.cfg.Now().UTC()
	if err := s.put(ctx, rec); err != nil {
		return Record{}, err
	}
	next := cloneRecords(cur.records)
	next[name] = rec
	s.publish(next)
	return rec, nil
}

// Delete removes the rule named by name or arn and returns it. The Default
// rule cannot be deleted.
func (s *Service) Delete(ctx context.Context, name, arn *string) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.rules.Load()
	n, err := s.resolve(cur, name, arn)
	if err != nil {
		return Record{}, err
	}
	if n == DefaultRuleName {
		return Record{}, invalidf("the %s rule cannot be deleted", DefaultRuleName)
	}
	if _, err := s.cfg.Objects.Delete(ctx, ObjectKind, n); err != nil {
		return Record{}, fmt.Errorf("delete sampling rule: %w", err)
	}
	rec := cur.records[n]
	next := cloneRecords(cur.records)
	delete(next, n)
	s.targets.RuleModified(s.cfg.Now().UTC())
	s.publish(next)
	s.statsMu.Lock()
	delete(s.windows, n)
	s.statsMu.Unlock()
	return rec, nil
}

// resolve finds the rule named by name or ARN (both may be given; they must
// agree).
func (s *Service) resolve(set *ruleSet, name, arn *string) (string, error) {
	var n string
	switch {
	case name != nil && *name != "":
		n = *name
		if arn != nil && *arn != "" && *arn != s.arn(n) {
			return "", invalidf("RuleARN %q does not name rule %q", *arn, n)
		}
	case arn != nil && *arn != "":
		n = s.nameFromARN(*arn)
		if n == "" {
			return "", invalidf("RuleARN %q is not a sampling rule ARN of this server (%s)", *arn, s.arn("<name>"))
		}
	default:
		return "", invalidf("RuleName or RuleARN is required")
	}
	if _, ok := set.records[n]; !ok {
		return "", invalidf("sampling rule %q does not exist", n)
	}
	return n, nil
}

func (s *Service) nameFromARN(arn string) string {
	prefix := s.arn("")
	if !strings.HasPrefix(arn, prefix) {
		return ""
	}
	return arn[len(prefix):]
}

// LastRuleModification is the latest time a rule was created, updated or
// deleted (at least the Default rule's creation).
func (s *Service) LastRuleModification() time.Time { return s.targets.LastRuleModification() }

// Targets records stats (one GetSamplingTargets call) and returns the
// clients' new targets, see Targets.Compute.
func (s *Service) Targets(stats []Statistics) ([]Target, []Unprocessed) {
	set := s.rules.Load()
	targets, unprocessed := s.targets.Compute(set.rules, stats)
	s.record(set, stats)
	return targets, unprocessed
}

// record adds stats of known rules to their summary windows.
func (s *Service) record(set *ruleSet, stats []Statistics) {
	start := s.cfg.Now().Truncate(interval).UTC()
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	for _, st := range stats {
		if _, ok := set.records[st.RuleName]; !ok || st.RequestCount < 0 || st.SampledCount < 0 || st.BorrowCount < 0 {
			continue
		}
		w := s.windows[st.RuleName]
		if n := len(w); n == 0 || w[n-1].Timestamp.Before(start) {
			w = append(w, Summary{RuleName: st.RuleName, Timestamp: start})
			if len(w) > s.cfg.SummaryWindows {
				w = append(w[:0:0], w[len(w)-s.cfg.SummaryWindows:]...)
			}
		}
		last := &w[len(w)-1]
		last.RequestCount = satAdd(last.RequestCount, st.RequestCount)
		last.SampledCount = satAdd(last.SampledCount, st.SampledCount)
		last.BorrowCount = satAdd(last.BorrowCount, st.BorrowCount)
		s.windows[st.RuleName] = w
	}
}

func satAdd(a, b int) int {
	if a > math.MaxInt32-b {
		return math.MaxInt32
	}
	return a + b
}

// Summaries returns the recorded windows of every rule, most recent first,
// then by rule name.
func (s *Service) Summaries() []Summary {
	s.statsMu.Lock()
	var out []Summary
	for _, w := range s.windows {
		out = append(out, w...)
	}
	s.statsMu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Timestamp.Equal(out[j].Timestamp) {
			return out[i].Timestamp.After(out[j].Timestamp)
		}
		return out[i].RuleName < out[j].RuleName
	})
	return out
}

func validateName(name string) error {
	if name == "" {
		return invalidf("RuleName or RuleARN is required")
	}
	if strings.ContainsAny(name, "\x00/") {
		return invalidf("RuleName %q must not contain '/' or NUL", name)
	}
	return nil
}

func validateTags(tags []Tag) error {
	if len(tags) > 200 {
		return invalidf("at most 200 Tags, got %d", len(tags))
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if n := len([]rune(t.Key)); n < 1 || n > 128 {
			return invalidf("tag key %q must be 1 to 128 characters long", t.Key)
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return invalidf("tag key %q: the aws: prefix is reserved", t.Key)
		}
		if len([]rune(t.Value)) > 256 {
			return invalidf("value of tag %q must be at most 256 characters long", t.Key)
		}
		if seen[t.Key] {
			return invalidf("tag key %q is given twice", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

func setInt(dst *int, src *int) {
	if src != nil {
		*dst = *src
	}
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func cloneRecords(m map[string]Record) map[string]Record {
	out := make(map[string]Record, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
