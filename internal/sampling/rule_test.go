package sampling

import (
	"math"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	valid := func() Rule {
		r := DefaultRule()
		r.RuleName, r.Priority = "base-scorekeep", 9000
		return r
	}
	check := func(name string, edit func(*Rule), wantErr string) {
		t.Helper()
		r := valid()
		edit(&r)
		err := r.Validate()
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", name, err)
		case wantErr != "" && err == nil:
			t.Errorf("%s: Validate() = nil, want error containing %q", name, wantErr)
		case wantErr != "" && !strings.Contains(err.Error(), wantErr):
			t.Errorf("%s: Validate() = %q, want it to contain %q", name, err, wantErr)
		}
	}
	long := func(n int) string { return strings.Repeat("x", n) }

	if err := DefaultRule().Validate(); err != nil {
		t.Errorf("DefaultRule().Validate() = %v, want nil", err)
	}
	check("valid", func(r *Rule) {}, "")
	check("empty name", func(r *Rule) { r.RuleName = "" }, "RuleName must be 1 to 32")
	check("name 32", func(r *Rule) { r.RuleName = long(32) }, "")
	check("name 33", func(r *Rule) { r.RuleName = long(33) }, "RuleName must be 1 to 32")
	check("name 32 runes", func(r *Rule) { r.RuleName = strings.Repeat("é", 32) }, "")
	check("priority 0", func(r *Rule) { r.Priority = 0 }, "Priority must be between 1 and 9999")
	check("priority 1", func(r *Rule) { r.Priority = 1 }, "")
	check("priority 9999", func(r *Rule) { r.Priority = 9999 }, "")
	check("priority 10000 not Default", func(r *Rule) { r.Priority = 10000 }, "Priority must be between 1 and 9999")
	check("Default not 10000", func(r *Rule) { r.RuleName = DefaultRuleName }, "Default rule must have priority 10000")
	check("rate negative", func(r *Rule) { r.FixedRate = -0.1 }, "FixedRate must be between 0 and 1")
	check("rate above 1", func(r *Rule) { r.FixedRate = 1.01 }, "FixedRate must be between 0 and 1")
	check("rate NaN", func(r *Rule) { r.FixedRate = math.NaN() }, "FixedRate")
	check("rate 0", func(r *Rule) { r.FixedRate = 0 }, "")
	check("rate 1", func(r *Rule) { r.FixedRate = 1 }, "")
	check("reservoir negative", func(r *Rule) { r.ReservoirSize = -1 }, "ReservoirSize must not be negative")
	check("reservoir 0", func(r *Rule) { r.ReservoirSize = 0 }, "")
	check("service name 64", func(r *Rule) { r.ServiceName = long(64) }, "")
	check("service name 65", func(r *Rule) { r.ServiceName = long(65) }, "ServiceName must be at most 64")
	check("service type 65", func(r *Rule) { r.ServiceType = long(65) }, "ServiceType must be at most 64")
	check("host 65", func(r *Rule) { r.Host = long(65) }, "Host must be at most 64")
	check("method 10", func(r *Rule) { r.HTTPMethod = long(10) }, "")
	check("method 11", func(r *Rule) { r.HTTPMethod = long(11) }, "HTTPMethod must be at most 10")
	check("path 129", func(r *Rule) { r.URLPath = long(129) }, "URLPath must be at most 128")
	check("arn 500", func(r *Rule) { r.ResourceARN = long(500) }, "")
	check("arn 501", func(r *Rule) { r.ResourceARN = long(501) }, "ResourceARN must be at most 500")
	check("version 0", func(r *Rule) { r.Version = 0 }, "Version must be 1")
	check("version 2", func(r *Rule) { r.Version = 2 }, "Version must be 1")
	check("5 attributes", func(r *Rule) {
		r.Attributes = map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}
	}, "")
	check("6 attributes", func(r *Rule) {
		r.Attributes = map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6"}
	}, "at most 5 entries")
	check("empty attribute key", func(r *Rule) { r.Attributes = map[string]string{"": "v"} }, `attribute key "" must be 1 to 32`)
	check("long attribute key", func(r *Rule) { r.Attributes = map[string]string{long(33): "v"} }, "must be 1 to 32")
	check("empty attribute value", func(r *Rule) { r.Attributes = map[string]string{"k": ""} }, `value of attribute "k" must be 1 to 32`)
	check("long attribute value", func(r *Rule) { r.Attributes = map[string]string{"k": long(33)} }, `value of attribute "k"`)
}

func TestDefaultRule(t *testing.T) {
	r := DefaultRule()
	if r.RuleName != "Default" || r.Priority != 10000 || r.ReservoirSize != 1 || r.FixedRate != 0.05 || r.Version != 1 {
		t.Errorf("DefaultRule() = %+v", r)
	}
	for _, f := range []string{r.ServiceName, r.ServiceType, r.Host, r.HTTPMethod, r.URLPath, r.ResourceARN} {
		if f != "*" {
			t.Errorf("DefaultRule() has field %q, want *", f)
		}
	}
	if r.Attributes == nil || len(r.Attributes) != 0 {
		t.Errorf("DefaultRule().Attributes = %v, want empty non-nil map", r.Attributes)
	}
}

func TestRuleMatches(t *testing.T) {
	full := Request{
		ServiceName: "scorekeep", ServiceType: "AWS::EC2::Instance", Host: "api.example.com",
		HTTPMethod: "POST", URLPath: "/api/move/42", ResourceARN: "arn:aws:ec2:us-east-1:1:instance/i-1",
		Attributes: map[string]string{"tenant": "acme", "tier": "gold"},
	}
	check := func(name string, edit func(*Rule), req Request, want bool) {
		t.Helper()
		r := DefaultRule()
		r.RuleName, r.Priority = "r", 1
		edit(&r)
		if got := r.Matches(req); got != want {
			t.Errorf("%s: Matches = %v, want %v", name, got, want)
		}
	}
	check("all wildcards", func(r *Rule) {}, full, true)
	check("all wildcards, empty request", func(r *Rule) {}, Request{}, true)

	fields := []struct {
		name string
		set  func(*Rule, string)
		get  func(*Request) *string
		hit  string
	}{
		{"ServiceName", func(r *Rule, p string) { r.ServiceName = p }, func(q *Request) *string { return &q.ServiceName }, "score*"},
		{"ServiceType", func(r *Rule, p string) { r.ServiceType = p }, func(q *Request) *string { return &q.ServiceType }, "aws::ec2::*"},
		{"Host", func(r *Rule, p string) { r.Host = p }, func(q *Request) *string { return &q.Host }, "*.example.com"},
		{"HTTPMethod", func(r *Rule, p string) { r.HTTPMethod = p }, func(q *Request) *string { return &q.HTTPMethod }, "post"},
		{"URLPath", func(r *Rule, p string) { r.URLPath = p }, func(q *Request) *string { return &q.URLPath }, "/api/move/??"},
		{"ResourceARN", func(r *Rule, p string) { r.ResourceARN = p }, func(q *Request) *string { return &q.ResourceARN }, "arn:aws:ec2:*"},
	}
	for _, f := range fields {
		check(f.name+" hit", func(r *Rule) { f.set(r, f.hit) }, full, true)
		check(f.name+" miss", func(r *Rule) { f.set(r, "nomatch") }, full, false)
		// An empty (unknown) request field matches any pattern.
		unknown := full
		*f.get(&unknown) = ""
		check(f.name+" unknown", func(r *Rule) { f.set(r, "nomatch") }, unknown, true)
		// Other fields still decide.
		check(f.name+" hit, other miss", func(r *Rule) {
			f.set(r, f.hit)
			if f.name == "Host" {
				r.URLPath = "/nope"
			} else {
				r.Host = "nope"
			}
		}, full, false)
	}

	check("attribute hit", func(r *Rule) { r.Attributes = map[string]string{"tenant": "AC*"} }, full, true)
	check("attributes all hit", func(r *Rule) { r.Attributes = map[string]string{"tenant": "acme", "tier": "g?ld"} }, full, true)
	check("attribute value miss", func(r *Rule) { r.Attributes = map[string]string{"tenant": "globex"} }, full, false)
	check("one attribute of two miss", func(r *Rule) { r.Attributes = map[string]string{"tenant": "acme", "tier": "silver"} }, full, false)
	check("attribute absent", func(r *Rule) { r.Attributes = map[string]string{"region": "*"} }, full, false)
	check("attribute absent, nil map", func(r *Rule) { r.Attributes = map[string]string{"tenant": "*"} }, Request{}, false)
	check("extra request attributes", func(r *Rule) { r.Attributes = nil }, full, true)
}

func TestSelect(t *testing.T) {
	rule := func(name string, prio int, path string) Rule {
		r := DefaultRule()
		r.RuleName, r.Priority, r.URLPath = name, prio, path
		return r
	}
	def := DefaultRule()
	def.FixedRate = 0.5 // a stored Default with a changed rate
	rules := []Rule{
		def,
		rule("zeta", 10, "/api/*"),
		rule("alpha", 10, "/api/*"),
		rule("urgent", 1, "/api/urgent"),
		rule("health", 5, "/health"),
	}
	check := func(rules []Rule, path, want string) {
		t.Helper()
		if got := Select(rules, Request{URLPath: path}).RuleName; got != want {
			t.Errorf("Select(%q) = %q, want %q", path, got, want)
		}
	}
	check(rules, "/api/urgent", "urgent")     // lowest priority number wins
	check(rules, "/api/move", "alpha")        // tie broken by name
	check(rules, "/health", "health")         //
	check(rules, "/other", "Default")         // Default is last
	check(rules[1:], "/other", "Default")     // built-in Default when none stored
	check(nil, "/api/move", "Default")        //
	check([]Rule{rules[1]}, "/api/x", "zeta") //
	if got := Select(rules, Request{URLPath: "/other"}).FixedRate; got != 0.5 {
		t.Errorf("Select used FixedRate %v, want the stored Default's 0.5", got)
	}
	// Default at 10000 loses even to a rule at 9999 listed after it.
	check([]Rule{def, rule("late", 9999, "*")}, "/x", "late")
}
