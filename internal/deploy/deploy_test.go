package deploy

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/store/embedded"
)

var now = time.Date(2026, 11, 26, 14, 7, 30, 0, time.UTC)

func TestValidate(t *testing.T) {
	ok := Deployment{Service: " checkout ", Version: "1.4.2", URL: "https://ci.example.com/run/7"}
	check := func(name string, d Deployment, want string) {
		t.Helper()
		err := d.Validate(now)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: got %v, want valid", name, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, want an error containing %q", name, err, want)
		case err != nil:
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Errorf("%s: %T is not an *InvalidError", name, err)
			}
		}
	}
	check("minimal", ok, "")
	with := func(f func(*Deployment)) Deployment { d := ok; f(&d); return d }
	check("no service", with(func(d *Deployment) { d.Service = "  " }), "service is required")
	check("no version", with(func(d *Deployment) { d.Version = "" }), "version is required")
	check("bad id", with(func(d *Deployment) { d.ID = "Checkout_1" }), `id "Checkout_1" must be`)
	check("id too long", with(func(d *Deployment) { d.ID = strings.Repeat("a", 65) }), "must be 1-64")
	check("id 64", with(func(d *Deployment) { d.ID = strings.Repeat("a", 64) }), "")
	check("leading dash", with(func(d *Deployment) { d.ID = "-a" }), "must be")
	check("ftp url", with(func(d *Deployment) { d.URL = "ftp://x/y" }), "not an absolute http or https URL")
	check("relative url", with(func(d *Deployment) { d.URL = "/runs/7" }), "not an absolute http or https URL")
	check("javascript url", with(func(d *Deployment) { d.URL = "javascript:alert(1)" }), "not an absolute http or https URL")
	check("control char", with(func(d *Deployment) { d.Version = "1.0\x1b[31m" }), "version contains a control character")
	check("newline in service", with(func(d *Deployment) { d.Service = "a\nb" }), "service contains a control character")
	check("long service", with(func(d *Deployment) { d.Service = strings.Repeat("s", 201) }), "service is 201 characters long")
	check("long description", with(func(d *Deployment) { d.Description = strings.Repeat("é", 2001) }), "description is 2001 characters")
	check("multi-line description", with(func(d *Deployment) { d.Description = "line 1\nline 2" }), "")
	check("invalid utf-8", with(func(d *Deployment) { d.Author = "\xff" }), "author is not valid UTF-8")
	check("future", with(func(d *Deployment) { d.Time = now.Add(2 * time.Hour) }), "2h0m0s in the future")
	check("near future (skew)", with(func(d *Deployment) { d.Time = now.Add(time.Minute) }), "")
	check("before 1970", with(func(d *Deployment) { d.Time = time.Unix(-5, 0) }), "before 1970")

	d := ok
	if err := d.Validate(now); err != nil {
		t.Fatal(err)
	}
	if d.Service != "checkout" || !d.Time.Equal(now) || d.Time.Location() != time.UTC {
		t.Errorf("Validate did not trim and default: %+v", d)
	}
	loc := time.FixedZone("CET", 3600)
	d = with(func(d *Deployment) { d.Time = time.Date(2026, 11, 26, 15, 0, 0, 0, loc) })
	if err := d.Validate(now); err != nil || d.Time.String() != "2026-11-26 14:00:00 +0000 UTC" {
		t.Errorf("time in another zone: %v %v", d.Time, err)
	}
}

func TestWindows(t *testing.T) {
	check := func(at string, w time.Duration, wb0, wb1, wa0, wa1 string) {
		t.Helper()
		tm, _ := time.Parse(time.RFC3339, at)
		b, a := Windows(tm, w)
		f := func(x time.Time) string { return x.UTC().Format("15:04:05") }
		if got := [4]string{f(b[0]), f(b[1]), f(a[0]), f(a[1])}; got != [4]string{wb0, wb1, wa0, wa1} {
			t.Errorf("Windows(%s, %v) = %v, want %v", at, w, got, [4]string{wb0, wb1, wa0, wa1})
		}
	}
	check("2026-11-26T14:07:30Z", 15*time.Minute, "13:52:00", "14:07:00", "14:08:00", "14:23:00")
	check("2026-11-26T14:07:00Z", 15*time.Minute, "13:52:00", "14:07:00", "14:07:00", "14:22:00")
	check("2026-11-26T14:07:30Z", 90*time.Second, "14:05:00", "14:07:00", "14:08:00", "14:10:00")
}

func TestEvaluate(t *testing.T) {
	th := DefaultThresholds()
	base := WindowStats{Requests: 1000, Faults: 2, FaultRate: 0.002, Errors: 20, ErrorRate: 0.02, P50: 0.100, P99: 0.400}
	check := func(name string, before, after WindowStats, th Thresholds, want string, wantFailed ...string) {
		t.Helper()
		v, checks := Evaluate(before, after, th)
		var failed []string
		for _, c := range checks {
			if c.Status == CheckFail || c.Status == CheckInsufficient {
				failed = append(failed, c.Name)
				if c.Message == "" {
					t.Errorf("%s: check %s has no message", name, c.Name)
				}
			}
		}
		if v != want || strings.Join(failed, ",") != strings.Join(wantFailed, ",") {
			t.Errorf("%s: verdict %s failing %v, want %s failing %v\n%+v", name, v, failed, want, wantFailed, checks)
		}
		if len(checks) != 5 {
			t.Errorf("%s: %d checks, want 5", name, len(checks))
		}
	}
	with := func(f func(*WindowStats)) WindowStats { w := base; f(&w); return w }
	check("same", base, base, th, Pass)
	check("better", base, with(func(w *WindowStats) { w.FaultRate, w.P99 = 0, 0.2 }), th, Pass)
	check("fault rate within a point", base, with(func(w *WindowStats) { w.FaultRate = 0.012 }), th, Pass)
	check("fault rate up", base, with(func(w *WindowStats) { w.FaultRate = 0.30 }), th, Fail, "fault_rate")
	check("error rate up", base, with(func(w *WindowStats) { w.ErrorRate = 0.08 }), th, Fail, "error_rate")
	check("p99 x1.5 allowed", base, with(func(w *WindowStats) { w.P99 = 0.6 }), th, Pass)
	check("p99 x2", base, with(func(w *WindowStats) { w.P99 = 0.8 }), th, Fail, "p99")
	check("p50 and p99 and faults", base, with(func(w *WindowStats) { w.P50, w.P99, w.FaultRate = 0.3, 2, 0.5 }), th, Fail,
		"fault_rate", "p50", "p99")
	fast := WindowStats{Requests: 100, P50: 0.002, P99: 0.004}
	check("tiny latencies within the slack", fast, with(func(w *WindowStats) { *w = fast; w.P50, w.P99 = 0.008, 0.012 }), th, Pass)
	check("beyond the slack", fast, with(func(w *WindowStats) { *w = fast; w.P99 = 0.020 }), th, Fail, "p99")
	check("few after", base, with(func(w *WindowStats) { w.Requests = 19; w.FaultRate = 1 }), th, InsufficientData, "requests")
	check("nothing before", WindowStats{}, base, th, InsufficientData, "requests")
	zero := th
	zero.MinRequests = 0
	check("no traffic at all, min 0", WindowStats{}, WindowStats{}, zero, InsufficientData, "requests")
	strict := th
	strict.MaxFaultRateIncrease = 0
	check("strict: any rise fails", base, with(func(w *WindowStats) { w.FaultRate = 0.0021 }), strict, Fail, "fault_rate")

	_, checks := Evaluate(base, with(func(w *WindowStats) { w.FaultRate = 0.30 }), th)
	if c := checks[1]; c.Limit != 0.012 || c.Message != "fault rate rose from 0.20% to 30.00%; at most 1.20% allowed (+1.00 points)" {
		t.Errorf("fault check: %+v", c)
	}
	_, checks = Evaluate(base, with(func(w *WindowStats) { w.P99 = 0.8 }), th)
	if c := checks[4]; c.Message != "p99 rose from 400ms to 800ms (×2.00); at most 600ms allowed" {
		t.Errorf("p99 check: %+v", c)
	}
	_, checks = Evaluate(base, with(func(w *WindowStats) { w.Requests = 3 }), th)
	if c := checks[2]; c.Status != CheckSkipped || !strings.HasPrefix(c.Message, "not evaluated") {
		t.Errorf("a check beside too few requests: %+v", c)
	}
}

func TestParseThresholds(t *testing.T) {
	check := func(q, want string) {
		t.Helper()
		v, _ := url.ParseQuery(q)
		th, err := ParseThresholds(v)
		if want != "" {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%q: got %v, want an error containing %q", q, err, want)
			}
			return
		}
		if err != nil {
			t.Errorf("%q: %v", q, err)
		}
		_ = th
	}
	check("", "")
	check("window=5m&min_requests=100&max_fault_rate_increase=0.002&max_p99_increase=0.25&latency_slack=0.02", "")
	check("window=30s", "window 30s is not between 1m and 24h")
	check("window=25h", "not between 1m and 24h")
	check("window=soon", `window "soon" is not a duration`)
	check("max_fault_rate_increase=5", "max_fault_rate_increase 5 is not between 0 and 1")
	check("max_fault_rate_increase=NaN", "max_fault_rate_increase NaN is not between 0 and 1")
	check("max_p99_increase=-1", "max_p99_increase -1 is not between 0 and 1000")
	check("min_requests=ten", `min_requests "ten" is not an integer`)
	check("max_fault_rate_increse=0.1", `unknown parameter "max_fault_rate_increse"`)
	v, _ := url.ParseQuery("window=600&latency_slack=20ms&max_error_rate_increase=0.1")
	th, _ := ParseThresholds(v)
	if th.Window != 10*time.Minute || th.LatencySlack != 20*time.Millisecond || th.MaxErrorRateIncrease != 0.1 ||
		th.MaxFaultRateIncrease != DefaultThresholds().MaxFaultRateIncrease {
		t.Errorf("parsed %+v", th)
	}
}

func newService(t *testing.T, max int) (*Service, *time.Time) {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := now
	s, err := New(Config{Objects: st.Objects(), MaxMarkers: max, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	return s, &clock
}

func TestCreateListPrune(t *testing.T) {
	ctx := context.Background()
	s, clock := newService(t, 3)
	mk := func(svc, ver string, at time.Time) Deployment {
		t.Helper()
		d, err := s.Create(ctx, Deployment{Service: svc, Version: ver, Time: at})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := mk("Checkout API", "v1.4.2", now.Add(-3*time.Hour))
	if a.ID != "checkout-api-v1-4-2" || !a.Updated.Equal(now) {
		t.Errorf("generated id %q, updated %v", a.ID, a.Updated)
	}
	b := mk("Checkout API", "v1.4.2", now.Add(-2*time.Hour))
	if !strings.HasPrefix(b.ID, "checkout-api-v1-4-2-") || len(b.ID) != len(a.ID)+7 {
		t.Errorf("second id %q", b.ID)
	}
	c := mk("users", "7", now.Add(-time.Hour))
	if _, err := s.Create(ctx, Deployment{ID: c.ID, Service: "x", Version: "1"}); !errors.Is(err, ErrExists) {
		t.Errorf("create over an id: %v", err)
	}
	list, more, err := s.List(ctx, Filter{})
	if err != nil || more || len(list) != 3 || list[0].ID != c.ID || list[2].ID != a.ID {
		t.Fatalf("list: %v %v %v", list, more, err)
	}
	list, more, _ = s.List(ctx, Filter{Service: "Checkout API", Limit: 1})
	if len(list) != 1 || list[0].ID != b.ID || !more {
		t.Errorf("filtered, limited list: %v %v", list, more)
	}
	list, _, _ = s.List(ctx, Filter{From: now.Add(-150 * time.Minute), To: now.Add(-time.Hour)})
	if len(list) != 1 || list[0].ID != b.ID {
		t.Errorf("list by time: %v", list)
	}
	// A fourth marker pushes the oldest out.
	*clock = now.Add(time.Minute)
	d := mk("users", "8", time.Time{})
	if !d.Time.Equal(*clock) {
		t.Errorf("time defaults to now: %v", d.Time)
	}
	if _, err := s.Get(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the oldest marker was kept: %v", err)
	}
	if list, _, _ = s.List(ctx, Filter{}); len(list) != 3 {
		t.Errorf("%d markers kept, want 3", len(list))
	}
	// Put replaces, or creates.
	d.Description = "rolled back"
	got, created, err := s.Put(ctx, d.ID, d)
	if err != nil || created || got.Description != "rolled back" {
		t.Errorf("put: %+v %v %v", got, created, err)
	}
	if _, _, err := s.Put(ctx, "other", d); err == nil || !strings.Contains(err.Error(), "differs from the path") {
		t.Errorf("put with another id: %v", err)
	}
	if err := s.Delete(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, d.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if err := s.Delete(ctx, "../etc"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete of an invalid id: %v", err)
	}
}
