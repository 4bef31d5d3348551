// Package sampling holds the pure logic of X-Ray centralized sampling
// (xray-protocol.md §5): sampling rules and their validation, wildcard
// matching of requests against rules, and the server side of
// GetSamplingTargets, which splits each rule's reservoir between the
// clients that report statistics for it (rule.go, match.go, targets.go, all
// pure), and the Service that persists rules in store.Objects and keeps
// quotas and statistics in memory (service.go). The HTTP surface is
// internal/api's.
package sampling

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"unicode/utf8"
)

// DefaultRuleName is the reserved name of the catch-all rule.
const DefaultRuleName = "Default"

// defaultPriority is the priority of the Default rule; other rules use 1–9999.
const defaultPriority = 10000

// Rule is a centralized sampling rule (Appendix B SamplingRule, without the
// server-assigned RuleARN and the 2025 SamplingRateBoost).
type Rule struct {
	RuleName      string
	Priority      int
	FixedRate     float64
	ReservoirSize int
	ServiceName   string
	ServiceType   string
	Host          string
	HTTPMethod    string
	URLPath       string
	ResourceARN   string
	Version       int
	Attributes    map[string]string
}

// DefaultRule returns the built-in catch-all rule as AWS returns it: the
// first request each second and 5% of the rest, matching every request.
func DefaultRule() Rule {
	return Rule{
		RuleName:      DefaultRuleName,
		Priority:      defaultPriority,
		FixedRate:     0.05,
		ReservoirSize: 1,
		ServiceName:   "*",
		ServiceType:   "*",
		Host:          "*",
		HTTPMethod:    "*",
		URLPath:       "*",
		ResourceARN:   "*",
		Version:       1,
		Attributes:    map[string]string{},
	}
}

// Validate checks the constraints of the X-Ray model (§5.1, Appendix B).
// The message of the error it returns is fit for an InvalidRequestException.
func (r Rule) Validate() error {
	if n := utf8.RuneCountInString(r.RuleName); n < 1 || n > 32 {
		return errors.New("RuleName must be 1 to 32 characters long")
	}
	if r.RuleName == DefaultRuleName {
		if r.Priority != defaultPriority {
			return fmt.Errorf("the %s rule must have priority %d", DefaultRuleName, defaultPriority)
		}
	} else if r.Priority < 1 || r.Priority > 9999 {
		return fmt.Errorf("Priority must be between 1 and 9999, got %d", r.Priority)
	}
	if math.IsNaN(r.FixedRate) || r.FixedRate < 0 || r.FixedRate > 1 {
		return fmt.Errorf("FixedRate must be between 0 and 1, got %v", r.FixedRate)
	}
	if r.ReservoirSize < 0 {
		return fmt.Errorf("ReservoirSize must not be negative, got %d", r.ReservoirSize)
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"ServiceName", r.ServiceName, 64},
		{"ServiceType", r.ServiceType, 64},
		{"Host", r.Host, 64},
		{"HTTPMethod", r.HTTPMethod, 10},
		{"URLPath", r.URLPath, 128},
		{"ResourceARN", r.ResourceARN, 500},
	} {
		if utf8.RuneCountInString(f.value) > f.max {
			return fmt.Errorf("%s must be at most %d characters long", f.name, f.max)
		}
	}
	if r.Version != 1 {
		return fmt.Errorf("Version must be 1, got %d", r.Version)
	}
	if len(r.Attributes) > 5 {
		return fmt.Errorf("Attributes must have at most 5 entries, got %d", len(r.Attributes))
	}
	for _, k := range sortedKeys(r.Attributes) {
		if n := utf8.RuneCountInString(k); n < 1 || n > 32 {
			return fmt.Errorf("attribute key %q must be 1 to 32 characters long", k)
		}
		if n := utf8.RuneCountInString(r.Attributes[k]); n < 1 || n > 32 {
			return fmt.Errorf("value of attribute %q must be 1 to 32 characters long", k)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Request describes an incoming request as a sampler sees it. An empty
// field is unknown and matches any pattern (§5.2).
type Request struct {
	ServiceName string
	ServiceType string // the segment origin, e.g. AWS::EC2::Instance
	Host        string
	HTTPMethod  string
	URLPath     string
	ResourceARN string
	Attributes  map[string]string
}

// Matches reports whether every field pattern of r matches req. An empty
// request field matches any pattern, as in the SDKs. Every rule attribute
// must be present in req.Attributes and match its pattern (OTel samplers;
// classic SDKs ignore rules that have attributes).
func (r Rule) Matches(req Request) bool {
	for _, f := range [...][2]string{
		{r.ServiceName, req.ServiceName},
		{r.ServiceType, req.ServiceType},
		{r.Host, req.Host},
		{r.HTTPMethod, req.HTTPMethod},
		{r.URLPath, req.URLPath},
		{r.ResourceARN, req.ResourceARN},
	} {
		if f[1] != "" && !Match(f[0], f[1]) {
			return false
		}
	}
	for k, pattern := range r.Attributes {
		v, ok := req.Attributes[k]
		if !ok || !Match(pattern, v) {
			return false
		}
	}
	return true
}

// Select returns the first rule matching req in ascending Priority, ties
// broken by RuleName (§5.3). If none matches it returns DefaultRule(); pass
// the stored Default rule in rules for its current rate and reservoir to be
// used instead. rules is not modified.
func Select(rules []Rule, req Request) Rule {
	best := -1
	for i, r := range rules {
		if !r.Matches(req) {
			continue
		}
		if best < 0 || before(r, rules[best]) {
			best = i
		}
	}
	if best < 0 {
		return DefaultRule()
	}
	return rules[best]
}

func before(a, b Rule) bool {
	if a.Priority != b.Priority {
		return a.Priority < b.Priority
	}
	return a.RuleName < b.RuleName
}
