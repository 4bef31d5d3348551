package sampling

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expectations in testdata/select_requests.txt")

// TestSelectGolden is the golden test of rule matching: the rules in
// testdata/select_rules.json (every field, '*' and '?' wildcards, equal
// priorities, attributes, the Default rule) against the requests in
// testdata/select_requests.txt, each with the rule Select must pick. Every
// rule must be valid, and every rule must be picked by some request.
func TestSelectGolden(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "select_rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rules []Rule
	if err := json.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			t.Errorf("rule %s: %v", r.RuleName, err)
		}
	}
	path := filepath.Join("testdata", "select_requests.txt")
	b, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	picked := map[string]bool{}
	for i, line := range lines {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields, want, ok := strings.Cut(line, "->")
		if !ok {
			t.Fatalf("%s:%d: no \"->\"", path, i+1)
		}
		req := Request{}
		for _, kv := range strings.Fields(fields) {
			k, v, _ := strings.Cut(kv, "=")
			switch {
			case k == "service":
				req.ServiceName = v
			case k == "type":
				req.ServiceType = v
			case k == "host":
				req.Host = v
			case k == "method":
				req.HTTPMethod = v
			case k == "path":
				req.URLPath = v
			case k == "arn":
				req.ResourceARN = v
			case strings.HasPrefix(k, "attr."):
				if req.Attributes == nil {
					req.Attributes = map[string]string{}
				}
				req.Attributes[strings.TrimPrefix(k, "attr.")] = v
			default:
				t.Fatalf("%s:%d: unknown field %q", path, i+1, k)
			}
		}
		got := Select(rules, req).RuleName
		picked[got] = true
		if *update {
			lines[i] = strings.TrimSpace(fields) + " -> " + got
			if strings.TrimSpace(fields) == "" {
				lines[i] = "-> " + got
			}
			continue
		}
		if want = strings.TrimSpace(want); got != want {
			t.Errorf("%s:%d: %s: Select picked %s, want %s", path, i+1, strings.TrimSpace(fields), got, want)
		}
	}
	for _, r := range rules {
		if !picked[r.RuleName] {
			t.Errorf("no request picks rule %s: add one", r.RuleName)
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
