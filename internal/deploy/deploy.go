// Package deploy keeps deployment markers (a service, the version rolled
// out, when, by whom) and gates on them: it compares the service's
// behaviour in equal windows before and after a marker — request count,
// fault and error rates, p50 and p99 response times, from the service
// graph's pre-aggregated buckets — and returns pass, fail or
// insufficient-data against thresholds (see gate.go and
// docs/deployments.md). Markers are stored with store.Objects under kind
// "deployment"; the JSON API is in http.go.
package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fluoro-dev/fluoro/internal/servicegraph"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// Kind is the store.Objects kind markers are kept under, one object per
// marker named by its id, its value the Deployment's JSON.
const Kind = "deployment"

// DefaultMaxMarkers is how many markers are kept by default.
const DefaultMaxMarkers = 10000

// Deployment is a deployment marker.
type Deployment struct {
	// ID is 1-64 lower-case letters, digits and dashes, starting with a
	// letter or digit; generated from service and version when absent.
	ID string `json:"id"`
	// Service is the deployed service, as named in its segments (the
	// service map's node name); it selects what the gate compares.
	Service string `json:"service"`
	// Version is what was rolled out (a tag, a build number, a digest).
	Version string `json:"version"`
	// Environment (production, staging…) is informational: the service
	// graph has no environment dimension.
	Environment string `json:"environment,omitempty"`
	// Time is when the rollout finished (default: when the marker was
	// created).
	Time        time.Time `json:"time"`
	Description string    `json:"description,omitempty"`
	Commit      string    `json:"commit,omitempty"`
	// URL links to the pipeline run or release (http or https).
	URL    string `json:"url,omitempty"`
	Author string `json:"author,omitempty"`
	// Updated is when the marker was last written.
	Updated time.Time `json:"updated"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// InvalidError is a marker or gate request that does not validate; Msg
// says which field and why.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// ErrNotFound is returned for an id with no marker.
var ErrNotFound = errors.New("no such deployment")

// ErrExists is returned when creating a marker whose id is taken.
var ErrExists = errors.New("deployment exists")

// futureSlack is how far in the future a marker's time may lie (clock skew
// between a CI runner and the server).
const futureSlack = time.Hour

// line checks a one-line text field: at most max characters, no control
// characters.
func line(name, v string, max int) error {
	if !utf8.ValidString(v) {
		return invalid("%s is not valid UTF-8", name)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return invalid("%s is %d characters long; at most %d are allowed", name, n, max)
	}
	if i := strings.IndexFunc(v, unicode.IsControl); i >= 0 {
		return invalid("%s contains a control character at byte %d", name, i)
	}
	return nil
}

// Validate trims the text fields, fills Time with now when it is zero, and
// reports the first invalid field. ID may be empty (Create generates one).
func (d *Deployment) Validate(now time.Time) error {
	for _, p := range []*string{&d.Service, &d.Version, &d.Environment, &d.Commit, &d.URL, &d.Author} {
		*p = strings.TrimSpace(*p)
	}
	if d.ID != "" && !idPattern.MatchString(d.ID) {
		return invalid("id %q must be 1-64 lower-case letters, digits and dashes, starting with a letter or digit", d.ID)
	}
	if d.Service == "" {
		return invalid("service is required")
	}
	if d.Version == "" {
		return invalid("version is required")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"service", d.Service, 200}, {"version", d.Version, 128}, {"environment", d.Environment, 64},
		{"commit", d.Commit, 128}, {"author", d.Author, 200}} {
		if err := line(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	if !utf8.ValidString(d.Description) {
		return invalid("description is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(d.Description); n > 2000 {
		return invalid("description is %d characters long; at most 2000 are allowed", n)
	}
	if d.URL != "" {
		if len(d.URL) > 2048 {
			return invalid("url is longer than 2048 bytes")
		}
		u, err := url.Parse(d.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("url %q is not an absolute http or https URL", d.URL)
		}
	}
	if d.Time.IsZero() {
		d.Time = now
	}
	d.Time = d.Time.UTC()
	if d.Time.Unix() <= 0 {
		return invalid("time %s is before 1970", d.Time.Format(time.RFC3339))
	}
	if d.Time.After(now.Add(futureSlack)) {
		return invalid("time %s is %v in the future; a marker records a deployment that happened",
			d.Time.Format(time.RFC3339), d.Time.Sub(now).Round(time.Second))
	}
	return nil
}

// Graph is where the gate reads traffic from: servicegraph.Service.
type Graph interface {
	// Graph merges group's buckets overlapping [from, to) (epoch seconds).
	Graph(ctx context.Context, groupID string, from, to float64) (*servicegraph.Bucket, error)
}

// Config configures a Service.
type Config struct {
	// Objects stores the markers. Required.
	Objects store.Objects
	// Graph answers the gate's traffic questions. Required for Gate.
	Graph Graph
	// Settle is how long after a window ends its traces are complete and
	// counted: the ingest pipeline's trace idle time plus a flush (5s).
	Settle time.Duration
	// MaxMarkers bounds how many markers are kept (DefaultMaxMarkers):
	// creating one more deletes the oldest (by Time), as Grafana's
	// annotation clean-up does.
	MaxMarkers int
	// Now is the clock (time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Service keeps the markers and evaluates gates. It is safe for concurrent
// use.
type Service struct {
	cfg Config
	mu  sync.Mutex // serialises writes (id allocation, pruning)
}

// New returns a Service over cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Objects == nil {
		return nil, errors.New("deploy: no object store")
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 5 * time.Second
	}
	if cfg.MaxMarkers <= 0 {
		cfg.MaxMarkers = DefaultMaxMarkers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg}, nil
}

// Get returns a marker, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (Deployment, error) {
	var d Deployment
	if !idPattern.MatchString(id) {
		return d, ErrNotFound
	}
	b, ok, err := s.cfg.Objects.Get(ctx, Kind, id)
	if err != nil {
		return d, err
	}
	if !ok {
		return d, ErrNotFound
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("decode deployment %q: %w", id, err)
	}
	return d, nil
}

// slug makes an id part from free text: lower-case letters and digits
// joined by single dashes.
func slug(s string, max int) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= max {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// Create validates d and stores it under a new id: d.ID when set (ErrExists
// when taken), else one made of the service and version, with a random
// suffix when that is taken.
func (s *Service) Create(ctx context.Context, d Deployment) (Deployment, error) {
	if err := d.Validate(s.cfg.Now()); err != nil {
		return d, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.ID != "" {
		if _, ok, err := s.cfg.Objects.Get(ctx, Kind, d.ID); err != nil {
			return d, err
		} else if ok {
			return d, ErrExists
		}
	} else {
		base := strings.Trim(slug(d.Service, 40)+"-"+slug(d.Version, 16), "-")
		if base == "" {
			base = "deploy"
		}
		d.ID = base
		for {
			_, ok, err := s.cfg.Objects.Get(ctx, Kind, d.ID)
			if err != nil {
				return d, err
			}
			if !ok {
				break
			}
			var rnd [3]byte
			rand.Read(rnd[:])
			d.ID = base + "-" + hex.EncodeToString(rnd[:])
		}
	}
	if err := s.put(ctx, &d); err != nil {
		return d, err
	}
	return d, s.prune(ctx)
}

// Put validates d and stores it under id, replacing any marker there;
// created reports whether there was none.
func (s *Service) Put(ctx context.Context, id string, d Deployment) (_ Deployment, created bool, err error) {
	if !idPattern.MatchString(id) {
		return d, false, invalid("id %q must be 1-64 lower-case letters, digits and dashes, starting with a letter or digit", id)
	}
	if d.ID != "" && d.ID != id {
		return d, false, invalid("body id %q differs from the path's %q", d.ID, id)
	}
	d.ID = id
	if err := d.Validate(s.cfg.Now()); err != nil {
		return d, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok, err := s.cfg.Objects.Get(ctx, Kind, id)
	if err != nil {
		return d, false, err
	}
	if err := s.put(ctx, &d); err != nil {
		return d, false, err
	}
	if !ok {
		err = s.prune(ctx)
	}
	return d, !ok, err
}

func (s *Service) put(ctx context.Context, d *Deployment) error {
	d.Updated = s.cfg.Now().UTC()
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return s.cfg.Objects.Put(ctx, Kind, d.ID, b)
}

// Delete removes a marker, or returns ErrNotFound.
func (s *Service) Delete(ctx context.Context, id string) error {
	if !idPattern.MatchString(id) {
		return ErrNotFound
	}
	ok, err := s.cfg.Objects.Delete(ctx, Kind, id)
	if err == nil && !ok {
		err = ErrNotFound
	}
	return err
}

// Filter selects markers for List. Zero fields select everything.
type Filter struct {
	Service     string
	Environment string
	// From (inclusive) and To (exclusive) bound Time.
	From, To time.Time
	// Limit is the most markers returned (DefaultLimit when 0; at most
	// MaxLimit).
	Limit int
}

// List bounds.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// List returns the markers f selects, newest first (ties by id), and
// whether more matched than f.Limit.
func (s *Service) List(ctx context.Context, f Filter) ([]Deployment, bool, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	all, err := s.all(ctx, func(d *Deployment) bool {
		return (f.Service == "" || d.Service == f.Service) && (f.Environment == "" || d.Environment == f.Environment) &&
			(f.From.IsZero() || !d.Time.Before(f.From)) && (f.To.IsZero() || d.Time.Before(f.To))
	})
	if err != nil {
		return nil, false, err
	}
	if len(all) > limit {
		return all[:limit], true, nil
	}
	return all, false, nil
}

// all reads every marker keep accepts, newest first.
func (s *Service) all(ctx context.Context, keep func(*Deployment) bool) ([]Deployment, error) {
	out := []Deployment{}
	var bad error
	err := s.cfg.Objects.List(ctx, Kind, func(name string, value []byte) bool {
		var d Deployment
		if err := json.Unmarshal(value, &d); err != nil {
			bad = fmt.Errorf("decode deployment %q: %w", name, err)
			return false
		}
		if keep(&d) {
			out = append(out, d)
		}
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Deployment) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// prune deletes the oldest markers beyond cfg.MaxMarkers. s.mu is held.
func (s *Service) prune(ctx context.Context) error {
	max := s.cfg.MaxMarkers
	all, err := s.all(ctx, func(*Deployment) bool { return true })
	if err != nil || len(all) <= max {
		return err
	}
	for _, d := range all[max:] {
		if _, err := s.cfg.Objects.Delete(ctx, Kind, d.ID); err != nil {
			return err
		}
	}
	s.cfg.Logger.Info("deleted the oldest deployment markers", "deleted", len(all)-max, "kept", max)
	return nil
}
