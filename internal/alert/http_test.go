package alert

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/servicegraph"
)

// TestAPI exercises every route of the alerts API, its validation errors
// and their statuses.
func TestAPI(t *testing.T) {
	t0 := time.Unix(1_767_225_600, 0)
	e := newEnv(t, t0, Config{})
	srv := httptest.NewServer(e.m.Handler())
	defer srv.Close()
	e.feed(t0.Add(-30*time.Second), "checkout", 20, 5, 0, 0.1, "gold")
	if _, err := e.graph.CreateGroup(context.Background(), servicegraph.Group{Name: "gold", FilterExpression: `annotation.tier = "gold"`}); err != nil {
		t.Fatal(err)
	}

	call := func(method, path, body string, wantStatus int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, wantStatus)
		}
		if resp.StatusCode == http.StatusNoContent {
			return nil
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s: Content-Type %q", method, path, ct)
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %s is not a JSON object", method, path, b)
		}
		return out
	}
	message := func(out map[string]any, want string) {
		t.Helper()
		if msg, _ := out["message"].(string); !strings.Contains(msg, want) {
			t.Fatalf("message %q, want it to contain %q", msg, want)
		}
	}

	if out := call("GET", "/api/alerts", "", 200); len(out["alerts"].([]any)) != 0 {
		t.Fatalf("empty list: %v", out)
	}
	rule := `{"name":"checkout-faults","service":{"name":"checkout"},"metric":"fault_rate","threshold":0.1,"window":"5m","notify":["https://hooks.example.com/x"]}`
	out := call("POST", "/api/alerts", rule, 201)
	if out["min_requests"].(float64) != DefaultMinRequests || out["enabled"] != true || out["comparator"] != ">" || out["for"] != "0s" {
		t.Fatalf("defaults not applied: %v", out)
	}
	if st := out["status"].(map[string]any); st["state"] != StateOK || st["evaluated"] != nil {
		t.Fatalf("new rule's status %v", st)
	}
	message(call("POST", "/api/alerts", rule, 409), "exists")

	for _, c := range []struct{ body, want string }{
		{`{"name":"x","filter":"service(\"api\") {","metric":"fault_rate","threshold":0.1}`, "filter: 1:17: "},
		{`{"name":"x","filter":"group.name = \"nope\"","metric":"fault_rate","threshold":0.1}`, "filter:"},
		{`{"name":"x","service":{"name":"a"},"group":"nope","metric":"fault_rate","threshold":0.1}`, `group "nope"`},
		{`{"name":"x","service":{"name":"a"},"metric":"p95","threshold":0.1}`, "metric"},
		{`{"name":"x","service":{"name":"a"},"metric":"p99","threshold":1,"window":"10s"}`, "window 10s"},
		{`{"name":"x","service":{"name":"a"},"metric":"p99","threshold":1,"window":"soon"}`, "duration"},
		{`{"name":"x","service":{"name":"a"},"metric":"p99","threshold":1,"notify":["javascript:alert(1)"]}`, "only http and https"},
		{`{"name":"X Y","service":{"name":"a"},"metric":"p99","threshold":1}`, "lower-case"},
		{`{"name":"x","service":{"name":"a"},"metric":"p99","threshold":1,"colour":"red"}`, "unknown field"},
		{`{"name":"x"`, "not an alert rule"},
	} {
		message(call("POST", "/api/alerts", c.body, 400), c.want)
	}
	message(call("POST", "/api/alerts", `{"description":"`+strings.Repeat("a", 70<<10)+`"}`, 413), "at most")

	// Filter rules may name groups, in the filter or as the rule's group.
	call("PUT", "/api/alerts/gold-slow", `{"filter":"responsetime > 0.05","group":"gold","metric":"p90","threshold":0.5}`, 200)
	call("PUT", "/api/alerts/gold-any", `{"filter":"group.name = \"gold\"","metric":"request_rate","comparator":"<","threshold":1}`, 200)
	message(call("PUT", "/api/alerts/other", `{"name":"different","filter":"ok","metric":"p90","threshold":0.5}`, 400), "differs")

	got := call("GET", "/api/alerts/checkout-faults", "", 200)
	if got["name"] != "checkout-faults" || got["service"].(map[string]any)["name"] != "checkout" {
		t.Fatalf("get: %v", got)
	}
	message(call("GET", "/api/alerts/nope", "", 404), `no alert rule "nope"`)
	message(call("GET", "/api/alerts/nope/events", "", 404), "no alert rule")
	message(call("POST", "/api/alerts/nope/test", "", 404), "no alert rule")

	// Test, stored and unsaved, changes nothing.
	res := call("POST", "/api/alerts/checkout-faults/test", "", 200)
	if res["value"].(float64) != 0.25 || res["requests"].(float64) != 20 || res["state"] != StateFiring || res["holds"] != true {
		t.Fatalf("test: %v", res)
	}
	res = call("POST", "/api/alerts/new-one/test", `{"service":{"name":"checkout"},"metric":"fault_rate","threshold":0.5}`, 200)
	if res["state"] != StateOK || res["holds"] != false {
		t.Fatalf("unsaved test: %v", res)
	}
	message(call("POST", "/api/alerts/new-one/test", `{"filter":"fault AND (","metric":"fault_rate","threshold":0.5}`, 400), "filter: 1:")
	if st := call("GET", "/api/alerts/checkout-faults", "", 200)["status"].(map[string]any); st["state"] != StateOK {
		t.Fatalf("test changed the state: %v", st)
	}
	if _, ok := e.m.Get("new-one"); ok {
		t.Fatal("test of an unsaved rule saved it")
	}

	e.m.Evaluate(context.Background())
	list := call("GET", "/api/alerts", "", 200)["alerts"].([]any)
	if len(list) != 3 || list[0].(map[string]any)["name"] != "checkout-faults" {
		t.Fatalf("list: %v", list)
	}
	if st := list[0].(map[string]any)["status"].(map[string]any); st["state"] != StateFiring || st["value"].(float64) != 0.25 {
		t.Fatalf("after evaluation: %v", st)
	}
	for _, it := range list {
		if st := it.(map[string]any)["status"].(map[string]any); st["error"] != nil || st["evaluated"] == nil {
			t.Fatalf("%v: evaluation failed or missing: %v", it.(map[string]any)["name"], st)
		}
	}
	// gold-slow reads the gold group's traces: 20, all slower than 0.05 s.
	if st := list[2].(map[string]any)["status"].(map[string]any); list[2].(map[string]any)["name"] != "gold-slow" || st["requests"].(float64) != 20 {
		t.Fatalf("gold-slow: %v", list[2])
	}
	evs := call("GET", "/api/alerts/checkout-faults/events", "", 200)["events"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["to"] != StateFiring {
		t.Fatalf("events: %v", evs)
	}

	message(call("PATCH", "/api/alerts/checkout-faults", "{}", 405), "GET, PUT, DELETE")
	message(call("DELETE", "/api/alerts", "", 405), "GET, POST")
	message(call("GET", "/api/alerts/checkout-faults/test", "", 405), "POST")
	message(call("GET", "/api/alerts/a/b/c", "", 404), "no alerts API")
	call("DELETE", "/api/alerts/checkout-faults", "", 204)
	message(call("DELETE", "/api/alerts/checkout-faults", "", 404), "no alert rule")
	if len(call("GET", "/api/alerts", "", 200)["alerts"].([]any)) != 2 {
		t.Fatal("deleted rule still listed")
	}
}
