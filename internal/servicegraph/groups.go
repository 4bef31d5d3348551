package servicegraph

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/query"
)

// DefaultGroupName is X-Ray's group of every trace; it cannot be created,
// updated or deleted. DefaultGroupID is its id in bucket keys and its ARN.
const (
	DefaultGroupName = "Default"
	DefaultGroupID   = "Default"
)

// objectKind is the store.Objects kind groups are kept under, by name.
const objectKind = "group"

// Group is a named filter expression: the traces that satisfy it have their
// own service graph and time series.
type Group struct {
	Name string `json:"name"`
	// ID is unique per group ever created, so that a group deleted and
	// created again under the same name starts from an empty graph.
	ID               string `json:"id"`
	FilterExpression string `json:"filter,omitempty"`
	InsightsEnabled  bool   `json:"insights,omitempty"`
	// NotificationsEnabled needs InsightsEnabled.
	NotificationsEnabled bool `json:"notifications,omitempty"`
	// FilterSince is when FilterExpression was last changed by an update
	// (epoch seconds; 0 if never): graphs of earlier times were built with
	// an older version of it (ContainsOldGroupVersions).
	FilterSince float64 `json:"filter_since"`
}

// InvalidError is a request the groups API rejects: X-Ray's
// InvalidRequestException.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

type liveGroup struct {
	g    Group
	expr filterexpr.Expr // nil: every trace (no filter)
	// broken is set for a stored filter that no longer compiles: the group
	// matches no trace.
	broken bool
}

// ARN is the group's ARN: arn:aws:xray:<region>:<account>:group/<name>/<id>.
func (s *Service) ARN(g Group) string {
	return fmt.Sprintf("arn:aws:xray:%s:%s:group/%s/%s", s.cfg.Region, s.cfg.Account, g.Name, g.ID)
}

func (s *Service) loadGroups(ctx context.Context) error {
	var gs []*liveGroup
	err := s.cfg.Store.Objects().List(ctx, objectKind, func(name string, v []byte) bool {
		var g Group
		if err := json.Unmarshal(v, &g); err != nil {
			s.cfg.Logger.Error("skip unreadable group", "name", name, "err", err)
			return true
		}
		lg, err := compile(g)
		if err != nil {
			// AWS stops applying a group whose expression no longer
			// evaluates; keep it listed, match nothing.
			s.cfg.Logger.Error("group filter no longer valid", "name", name, "err", err)
			lg = &liveGroup{g: g, broken: true}
		}
		gs = append(gs, lg)
		return true
	})
	if err != nil {
		return fmt.Errorf("load groups: %w", err)
	}
	s.groups.Store(&gs)
	return nil
}

// compile parses and checks a group's filter expression. The error is an
// *InvalidError naming the line and column.
func compile(g Group) (*liveGroup, error) {
	if strings.TrimSpace(g.FilterExpression) == "" {
		return &liveGroup{g: g}, nil
	}
	e, err := filterexpr.Parse(g.FilterExpression)
	if err != nil {
		return nil, invalidf("FilterExpression: %v", err)
	}
	if err := query.Check(e); err != nil {
		return nil, invalidf("FilterExpression: %v", err)
	}
	return &liveGroup{g: g, expr: e}, nil
}

func validName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 32 {
		return invalidf("GroupName must be 1 to 32 characters, got %q", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return invalidf("GroupName %q may hold only letters, digits, '_', '-' and '.'", name)
		}
	}
	return nil
}

// ErrNoGroup is returned for a group that does not exist (an
// InvalidRequestException in X-Ray).
var ErrNoGroup = errors.New("group not found")

// Groups returns every group, Default first, then by name.
func (s *Service) Groups() []Group {
	out := []Group{{Name: DefaultGroupName, ID: DefaultGroupID}}
	for _, lg := range *s.groups.Load() {
		out = append(out, lg.g)
	}
	return out
}

// Resolve finds a group by name or by ARN (one of them set). The Default
// group is found by its name or ARN too.
func (s *Service) Resolve(name, arn string) (Group, error) {
	if name == "" && arn == "" {
		return Group{}, invalidf("GroupName or GroupARN is required")
	}
	for _, g := range s.Groups() {
		if (name != "" && g.Name == name) || (arn != "" && s.ARN(g) == arn) {
			if name != "" && arn != "" && (g.Name != name || s.ARN(g) != arn) {
				return Group{}, invalidf("GroupName %q and GroupARN %q name different groups", name, arn)
			}
			return g, nil
		}
	}
	what := name
	if what == "" {
		what = arn
	}
	return Group{}, &InvalidError{Msg: fmt.Sprintf("group %s not found", what)}
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}

// CreateGroup creates a group. The name must be new and not Default.
func (s *Service) CreateGroup(ctx context.Context, g Group) (Group, error) {
	if err := validName(g.Name); err != nil {
		return Group{}, err
	}
	if g.Name == DefaultGroupName {
		return Group{}, invalidf("the Default group exists already and cannot be created")
	}
	if g.NotificationsEnabled && !g.InsightsEnabled {
		return Group{}, invalidf("NotificationsEnabled needs InsightsEnabled")
	}
	g.ID = newID()
	g.FilterSince = 0 // no older version of the filter exists
	s.groupMu.Lock()
	defer s.groupMu.Unlock()
	if _, err := s.Resolve(g.Name, ""); err == nil {
		return Group{}, invalidf("group %s already exists", g.Name)
	}
	if err := s.save(ctx, g); err != nil {
		return Group{}, err
	}
	return g, nil
}

// UpdateGroup changes a group's filter expression and insights settings;
// nil fields are left as they are.
func (s *Service) UpdateGroup(ctx context.Context, name, arn string, filter *string, insights, notifications *bool) (Group, error) {
	s.groupMu.Lock()
	defer s.groupMu.Unlock()
	g, err := s.Resolve(name, arn)
	if err != nil {
		return Group{}, err
	}
	if g.ID == DefaultGroupID {
		return Group{}, invalidf("the Default group cannot be updated")
	}
	if filter != nil && *filter != g.FilterExpression {
		g.FilterExpression = *filter
		g.FilterSince = float64(s.cfg.Now().UnixNano()) / 1e9
	}
	if insights != nil {
		g.InsightsEnabled = *insights
	}
	if notifications != nil {
		g.NotificationsEnabled = *notifications
	}
	if g.NotificationsEnabled && !g.InsightsEnabled {
		return Group{}, invalidf("NotificationsEnabled needs InsightsEnabled")
	}
	if err := s.save(ctx, g); err != nil {
		return Group{}, err
	}
	return g, nil
}

// DeleteGroup deletes a group. Its buckets stay until retention removes
// them; no later group shares its id.
func (s *Service) DeleteGroup(ctx context.Context, name, arn string) error {
	s.groupMu.Lock()
	defer s.groupMu.Unlock()
	g, err := s.Resolve(name, arn)
	if err != nil {
		return err
	}
	if g.ID == DefaultGroupID {
		return invalidf("the Default group cannot be deleted")
	}
	if _, err := s.cfg.Store.Objects().Delete(ctx, objectKind, g.Name); err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	s.replace(g.Name, nil)
	return nil
}

// save validates and stores g and makes ingest apply it. s.groupMu is held.
func (s *Service) save(ctx context.Context, g Group) error {
	lg, err := compile(g)
	if err != nil {
		return err
	}
	v, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.Objects().Put(ctx, objectKind, g.Name, v); err != nil {
		return fmt.Errorf("store group: %w", err)
	}
	s.replace(g.Name, lg)
	return nil
}

// replace swaps the live group of name for lg (removes it when nil).
func (s *Service) replace(name string, lg *liveGroup) {
	old := *s.groups.Load()
	gs := make([]*liveGroup, 0, len(old)+1)
	for _, o := range old {
		if o.g.Name != name {
			gs = append(gs, o)
		}
	}
	if lg != nil {
		gs = append(gs, lg)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].g.Name < gs[j].g.Name })
	s.groups.Store(&gs)
}
