package alert

import (
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
)

// TestStep walks the state machine through sequences of evaluations on a
// fake clock: each case is a rule and a list of (seconds since start,
// requests, value) observations with the state expected after each.
func TestStep(t *testing.T) {
	t0 := time.Unix(1_767_225_600, 0)
	type obs struct {
		at       int // seconds after t0
		requests int64
		value    float64
		want     string
	}
	check := func(name string, r Rule, seq []obs) {
		t.Run(name, func(t *testing.T) {
			st := Status{State: StateOK}
			for i, o := range seq {
				now := t0.Add(time.Duration(o.at) * time.Second)
				res := Result{Value: o.value, Requests: o.requests}
				judge(&r, &res)
				prev := st
				st = step(&r, st, res, now)
				if st.State != o.want {
					t.Fatalf("step %d (t=%ds, n=%d, v=%v): state %s -> %s, want %s", i, o.at, o.requests, o.value, prev.State, st.State, o.want)
				}
				if st.State != prev.State && !st.Since.Equal(now) {
					t.Fatalf("step %d: Since %v, want %v (the transition's time)", i, st.Since, now)
				}
				if st.State == prev.State && !st.Since.Equal(prev.Since) {
					t.Fatalf("step %d: Since moved from %v to %v without a transition", i, prev.Since, st.Since)
				}
				if st.Evaluated == nil || !st.Evaluated.Equal(now) {
					t.Fatalf("step %d: Evaluated %v, want %v", i, st.Evaluated, now)
				}
				if (st.State == StateNoData) != (st.Value == nil) {
					t.Fatalf("step %d: state %s with value %v", i, st.State, st.Value)
				}
			}
		})
	}
	fault := Rule{Metric: FaultRate, Comparator: ">", Threshold: 0.1, MinRequests: 10, For: Duration(time.Minute)}
	check("pending until for has elapsed, then firing, then resolved", fault, []obs{
		{0, 100, 0.01, StateOK},
		{30, 100, 0.5, StatePending},
		{60, 100, 0.5, StatePending},
		{89, 100, 0.5, StatePending}, // 59s of 60s
		{90, 100, 0.5, StateFiring},  // held for exactly For
		{120, 100, 0.3, StateFiring},
		{150, 100, 0.05, StateOK},
	})
	check("a pending that clears never fires", fault, []obs{
		{0, 100, 0.5, StatePending},
		{30, 100, 0.05, StateOK},
		{60, 100, 0.5, StatePending}, // the clock restarts
		{100, 100, 0.5, StatePending},
		{120, 100, 0.5, StateFiring},
	})
	check("threshold equality obeys the comparator", fault, []obs{
		{0, 100, 0.1, StateOK}, // 0.1 > 0.1 is false
	})
	check("for 0 fires on the first evaluation that holds", Rule{Metric: FaultRate, Comparator: ">=", Threshold: 0.1, MinRequests: 10}, []obs{
		{0, 10, 0.1, StateFiring},
		{30, 10, 0.0, StateOK},
	})
	check("min_requests: below it no data, never firing on noise", fault, []obs{
		{0, 9, 1.0, StateNoData},    // 9 requests, all faults: noise
		{30, 0, 0, StateNoData},     // nothing at all
		{60, 10, 1.0, StatePending}, // enough requests
		{90, 3, 1.0, StateNoData},   // a pending interrupted by no data
		{120, 50, 1.0, StatePending},
		{180, 50, 1.0, StateFiring},
		{210, 2, 1.0, StateNoData}, // firing resolved for want of data
	})
	check("min_requests 0 still needs one request", Rule{Metric: P99, Comparator: ">", Threshold: 1, MinRequests: 0}, []obs{
		{0, 0, 0, StateNoData},
		{30, 1, 2, StateFiring},
	})
	check("request_rate below a floor: zero requests is a value, not no data",
		Rule{Metric: RequestRate, Comparator: "<", Threshold: 5, MinRequests: 10}, []obs{
			{0, 600, 120, StateOK},
			{30, 0, 0, StateFiring},
			{60, 300, 60, StateOK},
		})
	check("latency above a bound with <=", Rule{Metric: Avg, Comparator: "<=", Threshold: 0.2, MinRequests: 1, For: Duration(30 * time.Second)}, []obs{
		{0, 5, 0.3, StateOK},
		{30, 5, 0.2, StatePending},
		{60, 5, 0.1, StateFiring},
	})
}

// TestRuleValidate checks that every field is validated with a message a
// user can act on, and that a filter's syntax error keeps its position.
func TestRuleValidate(t *testing.T) {
	base := func() Rule {
		r := defaults()
		r.Name, r.Metric, r.Threshold = "checkout-faults", FaultRate, 0.05
		r.Service = &ServiceScope{Name: "checkout"}
		return r
	}
	check := func(name string, edit func(*Rule), want string) {
		t.Run(name, func(t *testing.T) {
			r := base()
			edit(&r)
			err := r.validate()
			switch {
			case want == "" && err != nil:
				t.Fatalf("got %v, want valid", err)
			case want != "" && err == nil:
				t.Fatalf("valid, want an error containing %q", want)
			case want != "" && !strings.Contains(err.Error(), want):
				t.Fatalf("got %q, want it to contain %q", err, want)
			}
		})
	}
	check("valid", func(r *Rule) {}, "")
	check("valid filter rule", func(r *Rule) { r.Service = nil; r.Filter = `service("api") { fault } AND http.method = "POST"` }, "")
	check("bad name", func(r *Rule) { r.Name = "Checkout" }, "lower-case")
	check("name too long", func(r *Rule) { r.Name = string(make([]byte, 65)) }, "name")
	check("no scope", func(r *Rule) { r.Service = nil }, "needs a scope")
	check("both scopes", func(r *Rule) { r.Filter = "fault" }, "not both")
	check("filter syntax error keeps its position", func(r *Rule) { r.Service = nil; r.Filter = `service("api") {` }, "filter: 1:17: ")
	check("unknown metric", func(r *Rule) { r.Metric = "p95" }, `metric "p95" is not one of`)
	check("bad comparator", func(r *Rule) { r.Comparator = "==" }, "comparator")
	check("rate above 1", func(r *Rule) { r.Threshold = 5 }, "fraction")
	check("negative threshold", func(r *Rule) { r.Threshold = -1 }, ">= 0")
	check("latency threshold above 1 is fine", func(r *Rule) { r.Metric = P99; r.Threshold = 2.5 }, "")
	check("window too short", func(r *Rule) { r.Window = Duration(30 * time.Second) }, "window 30s is not between 1m0s and 24h0m0s")
	check("window too long", func(r *Rule) { r.Window = Duration(25 * time.Hour) }, "window")
	check("for too long", func(r *Rule) { r.For = Duration(48 * time.Hour) }, "for 48h0m0s")
	check("negative min_requests", func(r *Rule) { r.MinRequests = -1 }, "min_requests")
	check("webhook scheme", func(r *Rule) { r.Notify = []string{"ftp://example.com/x"} }, "only http and https")
	check("webhook without host", func(r *Rule) { r.Notify = []string{"http:///hook"} }, "no host")
	check("webhook with credentials", func(r *Rule) { r.Notify = []string{"https://u:p@example.com/"} }, "credentials")
	check("valid webhooks", func(r *Rule) { r.Notify = []string{"https://hooks.example.com/a?token=x", "http://127.0.0.1:9000/"} }, "")
	check("too many webhooks", func(r *Rule) { r.Notify = make([]string, 11) }, "at most 10")
}

func TestDurationJSON(t *testing.T) {
	var d Duration
	for in, want := range map[string]time.Duration{`"5m"`: 5 * time.Minute, `"1h30m"`: 90 * time.Minute, `90`: 90 * time.Second} {
		if err := d.UnmarshalJSON([]byte(in)); err != nil || time.Duration(d) != want {
			t.Errorf("%s: got %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	if err := d.UnmarshalJSON([]byte(`"5 minutes"`)); err == nil {
		t.Error(`"5 minutes" parsed`)
	}
	if b, _ := Duration(5 * time.Minute).MarshalJSON(); string(b) != `"5m0s"` {
		t.Errorf("marshal 5m: %s", b)
	}
}

// TestLink checks that the console link of every kind of rule holds a
// filter the language parses.
func TestLink(t *testing.T) {
	now := time.Unix(1_767_225_600, 0)
	for _, r := range []Rule{
		{Service: &ServiceScope{Name: `we"ird\name`}, Metric: FaultRate, Window: Duration(5 * time.Minute)},
		{Service: &ServiceScope{Name: "db", Type: "Database::SQL"}, Metric: P99, Window: Duration(time.Hour), Group: "gold"},
		{Filter: `http.url CONTAINS "/pay"`, Metric: ErrorRate, Window: Duration(time.Minute), Group: "a-b"},
	} {
		l := link(&r, now)
		u, err := url.Parse(strings.TrimPrefix(l, "/#"))
		if err != nil || u.Path != "/traces" {
			t.Fatalf("link %q: %v", l, err)
		}
		q := u.Query()
		if _, err := filterexpr.Parse(q.Get("f")); err != nil {
			t.Errorf("link filter %q: %v", q.Get("f"), err)
		}
		if q.Get("range") != "custom" || q.Get("to") != "1767225601" {
			t.Errorf("link %q: range", l)
		}
	}
}

// TestRateLog checks that webhook failures are logged at most once per
// period, the next line counting those suppressed.
func TestRateLog(t *testing.T) {
	var buf strings.Builder
	c := &clock{t: time.Unix(1_767_225_600, 0)}
	l := &rateLog{log: slog.New(slog.NewTextHandler(&buf, nil)), now: c.now, period: 10 * time.Second}
	for range 5 {
		l.warn("alert notification failed", "url", "http://h/x")
		c.set(c.now().Add(time.Second))
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines in the first 5 s, want 1:\n%s", n, buf.String())
	}
	c.set(c.now().Add(10 * time.Second))
	l.warn("alert notification failed", "url", "http://h/x")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `suppressed="4 similar lines in the last 10s"`) {
		t.Fatalf("after the period: %q", lines)
	}
	if r := redact("https://hooks.example.com/a?token=s3cret#x"); r != "https://hooks.example.com/a" {
		t.Errorf("redact: %q", r)
	}
}
