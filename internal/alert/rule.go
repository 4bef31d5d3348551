// Package alert evaluates alert rules over Fluoro's data and notifies
// webhooks when they fire and resolve.
//
// A rule watches one metric (request rate, error, fault or throttle rate,
// a latency percentile or the average) over a sliding window, either for a
// service, read from the pre-aggregated service-graph buckets, or for the
// traces a filter expression selects, read from the trace summaries. Every
// evaluation moves the rule through a small state machine (ok, pending,
// firing, nodata); entering and leaving firing sends one JSON POST to each
// of the rule's webhooks. Rules, their states and a bounded history of their
// transitions are kept in the store's objects, so a restart keeps them. See
// docs/alerts.md.
package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/query"
)

// Metrics a rule can watch.
const (
	RequestRate  = "request_rate"  // requests per minute
	ErrorRate    = "error_rate"    // fraction of requests with a 4xx (429 included), 0..1
	FaultRate    = "fault_rate"    // fraction of requests with a 5xx, 0..1
	ThrottleRate = "throttle_rate" // fraction of requests throttled (429), 0..1
	P50          = "p50"           // response-time percentiles, seconds
	P90          = "p90"
	P99          = "p99"
	Avg          = "avg" // average response time, seconds
)

// metrics lists every metric in the order documentation shows them.
var metrics = []string{RequestRate, ErrorRate, FaultRate, ThrottleRate, P50, P90, P99, Avg}

func isRate(m string) bool {
	return m == ErrorRate || m == FaultRate || m == ThrottleRate
}

// Bounds on a rule.
const (
	MinWindow          = time.Minute
	MaxWindow          = 24 * time.Hour
	MaxFor             = 24 * time.Hour
	DefaultMinRequests = 10
	maxWebhooks        = 10
	maxURL             = 2000
	maxFilter          = 2000
	maxDescription     = 1000
)

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Duration is a time.Duration written in JSON as Go's duration syntax
// ("5m", "1h30m").
type Duration time.Duration

// MarshalJSON writes the duration as a string, "0s" for zero.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string; a bare number is seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if json.Unmarshal(b, &secs) != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > 1e9 {
			return fmt.Errorf("a duration is a string such as \"5m\", got %s", b)
		}
		*d = Duration(time.Duration(secs * float64(time.Second)))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want a duration such as 30s, 5m or 1h", s)
	}
	*d = Duration(v)
	return nil
}

// ServiceScope names the service-graph node(s) a rule watches: every node of
// that name (and of that type, when Type is set), client nodes excepted.
type ServiceScope struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// Rule is an alert rule. Exactly one of Service and Filter is set.
type Rule struct {
	// Name identifies the rule: 1 to 64 lower-case letters, digits and
	// dashes, starting with a letter or digit.
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Service     *ServiceScope `json:"service,omitempty"`
	// Filter is an X-Ray filter expression selecting traces.
	Filter string `json:"filter,omitempty"`
	// Group is the X-Ray group whose service graph (service scope) or whose
	// filter, ANDed with Filter (filter scope), the rule reads; empty is the
	// Default group (every trace).
	Group      string   `json:"group,omitempty"`
	Metric     string   `json:"metric"`
	Comparator string   `json:"comparator"` // >, >=, <, <=
	Threshold  float64  `json:"threshold"`
	Window     Duration `json:"window"`
	// For is how long the condition must hold before the rule fires.
	For Duration `json:"for"`
	// MinRequests is the fewest requests in the window for the rule to be
	// judged; below it the rule has no data. It does not apply to
	// request_rate, where few requests is the measurement.
	MinRequests int64 `json:"min_requests"`
	Enabled     bool  `json:"enabled"`
	// Notify lists http or https URLs, each POSTed the rule's firing and
	// resolved notifications.
	Notify  []string  `json:"notify"`
	Updated time.Time `json:"updated"`
}

// defaults is what a rule's absent fields are.
func defaults() Rule {
	return Rule{Comparator: ">", Window: Duration(5 * time.Minute), MinRequests: DefaultMinRequests, Enabled: true}
}

// ValidationError is a rule the API rejects with 400.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// validate normalises r and reports its first problem as a
// *ValidationError. A filter's syntax error keeps the parser's
// "line:col: message" at the end of the message.
func (r *Rule) validate() error {
	r.Description = strings.TrimSpace(r.Description)
	r.Filter = strings.TrimSpace(r.Filter)
	r.Group = strings.TrimSpace(r.Group)
	if !namePattern.MatchString(r.Name) {
		return invalidf("name %q must be 1-64 lower-case letters, digits and dashes, starting with a letter or digit", r.Name)
	}
	if utf8.RuneCountInString(r.Description) > maxDescription {
		return invalidf("description is longer than %d characters", maxDescription)
	}
	if r.Service != nil {
		r.Service.Name = strings.TrimSpace(r.Service.Name)
		r.Service.Type = strings.TrimSpace(r.Service.Type)
		if r.Service.Name == "" {
			r.Service = nil
		}
	}
	switch {
	case r.Service == nil && r.Filter == "":
		return invalidf("a rule needs a scope: a service name or a filter expression")
	case r.Service != nil && r.Filter != "":
		return invalidf("a rule has either a service or a filter expression, not both")
	case r.Service != nil && (len(r.Service.Name) > 250 || len(r.Service.Type) > 250):
		return invalidf("service name and type are at most 250 bytes")
	case len(r.Filter) > maxFilter:
		return invalidf("filter is longer than %d bytes", maxFilter)
	case len(r.Group) > 32:
		return invalidf("group name is longer than 32 characters")
	}
	if r.Filter != "" {
		if _, err := parseFilter(r.Filter, nil); err != nil {
			return err
		}
	}
	known := false
	for _, m := range metrics {
		known = known || m == r.Metric
	}
	if !known {
		return invalidf("metric %q is not one of %s", r.Metric, strings.Join(metrics, ", "))
	}
	switch r.Comparator {
	case ">", ">=", "<", "<=":
	default:
		return invalidf("comparator %q is not one of >, >=, <, <=", r.Comparator)
	}
	switch {
	case math.IsNaN(r.Threshold) || math.IsInf(r.Threshold, 0) || r.Threshold < 0:
		return invalidf("threshold must be a finite number >= 0")
	case isRate(r.Metric) && r.Threshold > 1:
		return invalidf("threshold %v of %s is a fraction: between 0 and 1 (0.05 is 5%%)", r.Threshold, r.Metric)
	}
	switch w := time.Duration(r.Window); {
	case w < MinWindow || w > MaxWindow:
		return invalidf("window %v is not between %v and %v", w, MinWindow, MaxWindow)
	case w%time.Second != 0:
		return invalidf("window %v is not a whole number of seconds", w)
	}
	if f := time.Duration(r.For); f < 0 || f > MaxFor {
		return invalidf("for %v is not between 0s and %v", f, MaxFor)
	}
	if r.MinRequests < 0 || r.MinRequests > 1e9 {
		return invalidf("min_requests %d is not between 0 and 1000000000", r.MinRequests)
	}
	if len(r.Notify) > maxWebhooks {
		return invalidf("a rule notifies at most %d webhooks; this one has %d", maxWebhooks, len(r.Notify))
	}
	if r.Notify == nil {
		r.Notify = []string{}
	}
	for i, raw := range r.Notify {
		r.Notify[i] = strings.TrimSpace(raw)
		if err := checkURL(r.Notify[i]); err != nil {
			return invalidf("notify[%d]: %v", i, err)
		}
	}
	return nil
}

func checkURL(raw string) error {
	if len(raw) > maxURL {
		return fmt.Errorf("URL is longer than %d bytes", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: only http and https webhooks are supported", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q has an invalid port", raw)
		}
	}
	if u.User != nil {
		return fmt.Errorf("%q: put credentials in the path or query, not user:password@", raw)
	}
	return nil
}

// parseFilter parses and checks a rule's filter. group.name and group.arn
// are resolved by lookup (rejected when it is nil, as at validation time
// they are resolved later).
func parseFilter(src string, lookup query.GroupLookup) (filterexpr.Expr, error) {
	e, err := filterexpr.Parse(src)
	if err != nil {
		return nil, invalidf("filter: %v", err)
	}
	if lookup != nil {
		if e, err = query.ExpandGroups(e, lookup); err != nil {
			return nil, invalidf("filter: %v", err)
		}
		if err := query.Check(e); err != nil {
			return nil, invalidf("filter: %v", err)
		}
	}
	return e, nil
}

// compare applies the rule's comparator.
func (r *Rule) compare(v float64) bool {
	switch r.Comparator {
	case ">":
		return v > r.Threshold
	case ">=":
		return v >= r.Threshold
	case "<":
		return v < r.Threshold
	case "<=":
		return v <= r.Threshold
	}
	return false
}

// sameCondition reports whether a and b judge the same data the same way,
// so that an edit of only the description, the webhooks or `for` keeps the
// rule's state.
func sameCondition(a, b *Rule) bool {
	sa, sb := ServiceScope{}, ServiceScope{}
	if a.Service != nil {
		sa = *a.Service
	}
	if b.Service != nil {
		sb = *b.Service
	}
	return sa == sb && a.Filter == b.Filter && a.Group == b.Group && a.Metric == b.Metric &&
		a.Comparator == b.Comparator && a.Threshold == b.Threshold && a.Window == b.Window &&
		a.MinRequests == b.MinRequests && a.Enabled == b.Enabled
}

// decodeRule reads a rule from JSON, absent fields taking their defaults.
func decodeRule(b []byte) (Rule, error) {
	r := defaults()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, invalidf("body is not an alert rule: %v", err)
	}
	if dec.More() {
		return r, invalidf("body holds more than one JSON value")
	}
	return r, nil
}

var errNotFound = errors.New("not found")
