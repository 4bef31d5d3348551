package ui_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/ui"
)

// newConsole serves the console over a real embedded store, in front of a
// next handler that answers "api" (standing for the X-Ray API).
func newConsole(t *testing.T, dir string) (*httptest.Server, func()) {
	t.Helper()
	st, err := embedded.Open(dir, embedded.Options{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api "+r.Method+" "+r.URL.Path) })
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(ui.New(ui.Config{Objects: st.Objects(), Next: next, Now: func() time.Time { return now }}))
	var once sync.Once
	stop := func() { once.Do(func() { srv.Close(); st.Close() }) }
	t.Cleanup(stop)
	return srv, stop
}

func do(t *testing.T, method, url, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gunzip
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAssetsAndCaching(t *testing.T) {
	srv, _ := newConsole(t, t.TempDir())
	resp, index := do(t, "GET", srv.URL+"/", "")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-cache" || !strings.Contains(index, `<div id="app">`) {
		t.Fatalf("GET / = %d, Cache-Control %q, body %.80q", resp.StatusCode, resp.Header.Get("Cache-Control"), index)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP = %q; want the page limited to this server", csp)
	}
	js := regexp.MustCompile(`assets/app-[A-Z0-9]+\.js`).FindString(index)
	if js == "" {
		t.Fatalf("index.html names no script: %s", index)
	}
	resp, plain := do(t, "GET", srv.URL+"/"+js, "")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("GET %s = %d %v", js, resp.StatusCode, resp.Header)
	}
	resp, gz := do(t, "GET", srv.URL+"/"+js, "", "Accept-Encoding", "br, gzip;q=0.8")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(gz) >= len(plain) {
		t.Fatalf("gzip: Content-Encoding %q, %d bytes of %d", resp.Header.Get("Content-Encoding"), len(gz), len(plain))
	}
	zr, err := gzip.NewReader(strings.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != plain {
		t.Error("gzipped asset does not decompress to the asset")
	}
	if resp, _ := do(t, "GET", srv.URL+"/"+js, "", "Accept-Encoding", "gzip;q=0"); resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 was answered with gzip")
	}
	if resp, body := do(t, "HEAD", srv.URL+"/", ""); resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD / = %d with %d body bytes", resp.StatusCode, len(body))
	}
	if resp, _ := do(t, "GET", srv.URL+"/assets/nope.js", ""); resp.StatusCode != 404 {
		t.Errorf("unknown asset: %d, want 404", resp.StatusCode)
	}
	for _, tc := range []struct{ method, path string }{{"POST", "/"}, {"POST", "/TraceSummaries"}, {"GET", "/metrics"}, {"GET", "/healthz"}} {
		if _, body := do(t, tc.method, srv.URL+tc.path, "{}"); body != "api "+tc.method+" "+tc.path {
			t.Errorf("%s %s reached %q, want the next handler", tc.method, tc.path, body)
		}
	}
}

type dashboard struct {
	ID, Name, Description, Filter, Range string
	Panels                               []struct{ Type, Title string }
	Updated                              time.Time
}

func TestDashboardsAPI(t *testing.T) {
	dir := t.TempDir()
	srv, stop := newConsole(t, dir)
	api := srv.URL + "/api/dashboards"
	list := func() []dashboard {
		t.Helper()
		resp, body := do(t, "GET", api, "")
		var out struct{ Dashboards []dashboard }
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("list: %d %s", resp.StatusCode, body)
		}
		return out.Dashboards
	}
	ids := func(ds []dashboard) (s []string) {
		for _, d := range ds {
			s = append(s, d.ID)
		}
		return s
	}
	if got := ids(list()); strings.Join(got, ",") != "engineering,executive" {
		t.Fatalf("a new store lists %v, want the two examples", got)
	}

	resp, body := do(t, "POST", api, `{"name":"Checkout team","filter":"service(\"orders\") { fault }","range":"6h","panels":[{"type":"health"},{"type":"map","title":"Map"}]}`)
	var d dashboard
	if resp.StatusCode != 201 || json.Unmarshal([]byte(body), &d) != nil || d.ID != "checkout-team" || d.Range != "6h" || len(d.Panels) != 2 || d.Updated.IsZero() {
		t.Fatalf("create = %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "POST", api, `{"name":"Checkout team"}`)
	var d2 dashboard
	json.Unmarshal([]byte(body), &d2)
	if resp.StatusCode != 201 || !strings.HasPrefix(d2.ID, "checkout-team-") || d2.Range != "1h" {
		t.Fatalf("a second dashboard of the same name = %d %s; want a distinct id and the default range", resp.StatusCode, body)
	}
	resp, body = do(t, "PUT", api+"/checkout-team", `{"name":"Checkout","filter":"fault","range":"1d","panels":[]}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"Checkout"`) {
		t.Fatalf("put = %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", api+"/checkout-team", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"filter":"fault"`) || !strings.Contains(body, `"panels":[]`) {
		t.Fatalf("get after put = %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "DELETE", api+"/engineering", ""); resp.StatusCode != 204 {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
	if resp, _ := do(t, "DELETE", api+"/engineering", ""); resp.StatusCode != 404 {
		t.Fatalf("second delete = %d, want 404", resp.StatusCode)
	}

	// Bad input: a clear message and a 4xx, never a crash.
	for _, tc := range []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"POST", "", `{"name":""}`, 400, "name is required"},
		{"POST", "", `{"name":"x","range":"2h"}`, 400, `range "2h" is not one of`},
		{"POST", "", `{"name":"x","panels":[{"type":"pie"}]}`, 400, `panel 1: unknown type "pie"`},
		{"POST", "", `{"name":"x","colour":"red"}`, 400, `unknown field "colour"`},
		{"POST", "", `{"name":`, 400, "body is not a dashboard"},
		{"POST", "", `{"name":"x","id":"Bad Id"}`, 400, "must be 1-64 lower-case"},
		{"POST", "", `{"name":"x","id":"executive"}`, 409, "exists"},
		{"POST", "", `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "at most"},
		{"PUT", "/a", `{"name":"x","id":"b"}`, 400, "differs from the path"},
		{"GET", "/nope", ``, 404, `no dashboard "nope"`},
	} {
		resp, body := do(t, tc.method, api+tc.path, tc.body)
		var e struct{ Message string }
		json.Unmarshal([]byte(body), &e)
		if resp.StatusCode != tc.status || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s %s %.40q = %d %q; want %d with %q", tc.method, tc.path, tc.body, resp.StatusCode, e.Message, tc.status, tc.msg)
		}
	}

	// Durable, and the deleted example stays deleted after a restart.
	stop()
	srv, _ = newConsole(t, dir)
	api = srv.URL + "/api/dashboards"
	if got := ids(list()); strings.Join(got, ",") != "checkout-team,"+d2.ID+",executive" {
		t.Fatalf("after a restart the store lists %v", got)
	}
}
