package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/daemon"
)

const header = "{\"format\": \"json\", \"version\": 1}\n"

// docFor is a valid segment document numbered i.
func docFor(i int, pad int) string {
	return fmt.Sprintf(`{"trace_id":"1-%08x-%024x","id":"%016x","name":"relay","start_time":%d,"end_time":%d,"metadata":{"default":{"pad":"%s"}}}`,
		time.Now().Unix(), i+1, i+1, time.Now().Unix(), time.Now().Unix()+1, strings.Repeat("p", pad))
}

func sendUDP(t *testing.T, addr string, datagrams ...string) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range datagrams {
		if _, err := c.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
	}
}

// collector is a PutTraceSegments endpoint that records every call's
// documents; status, when set, answers every call instead.
type collector struct {
	mu     sync.Mutex
	calls  [][]string
	status int
	body   string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status != 0 {
		w.Header().Set("X-Amzn-ErrorType", "InvalidRequestException")
		w.WriteHeader(c.status)
		io.WriteString(w, c.body)
		return
	}
	var in struct{ TraceSegmentDocuments []string }
	if err := json.Unmarshal(b, &in); err != nil || r.URL.Path != "/TraceSegments" {
		http.Error(w, "bad call", 400)
		return
	}
	c.calls = append(c.calls, in.TraceSegmentDocuments)
	io.WriteString(w, `{"UnprocessedTraceSegments":[]}`)
}

func (c *collector) docs() (calls int, docs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, call := range c.calls {
		docs = append(docs, call...)
	}
	return len(c.calls), docs
}

func waitMetric(t *testing.T, url, name string, want float64) {
	t.Helper()
	eventually(t, name, func() error {
		if got := scrape(t, url)[name]; got != want {
			return fmt.Errorf("%s = %v, want %v", name, got, want)
		}
		return nil
	})
}

// TestBatchesOfFifty: documents go in calls of 50, the remainder when the
// flush interval passes (here: at shutdown, the interval being long).
func TestBatchesOfFifty(t *testing.T) {
	col := &collector{}
	up := httptest.NewServer(col)
	defer up.Close()
	cfg := testDaemon(t, up.URL)
	cfg.FlushInterval = 10 * time.Second
	d, err := daemon.Start(cfg, testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	metrics := "http://" + d.TCPAddr().String() + "/metrics"
	var sent []string
	for i := range 120 {
		doc := docFor(i, 0)
		sent = append(sent, doc)
		sendUDP(t, d.UDPAddr().String(), header+doc)
	}
	waitMetric(t, metrics, "fluoro_daemon_segments_sent_total", 100)
	if calls, _ := col.docs(); calls != 2 {
		t.Fatalf("%d calls for 100 documents, want 2 of 50", calls)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls, got := col.docs()
	if calls != 3 || len(got) != 120 {
		t.Fatalf("after shutdown: %d calls, %d documents; want 3 calls, 120 documents", calls, len(got))
	}
	sort.Strings(sent)
	sort.Strings(got)
	for i := range sent {
		if sent[i] != got[i] {
			t.Fatalf("document %d changed on the way:\n got %s\nwant %s", i, got[i], sent[i])
		}
	}
}

// TestFlushInterval: a lone document does not wait for 49 others.
func TestFlushInterval(t *testing.T) {
	col := &collector{}
	up := httptest.NewServer(col)
	defer up.Close()
	cfg := testDaemon(t, up.URL)
	cfg.FlushInterval = 30 * time.Millisecond
	d, err := daemon.Start(cfg, testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	start := time.Now()
	sendUDP(t, d.UDPAddr().String(), header+docFor(1, 0))
	eventually(t, "lone document sent", func() error {
		if _, docs := col.docs(); len(docs) != 1 {
			return fmt.Errorf("%d documents at the endpoint", len(docs))
		}
		return nil
	})
	t.Logf("a lone document reached the server after %v (flush interval 30ms)", time.Since(start))
}

// TestRejectionsCounted: datagrams with a bad header are counted and not
// sent; documents the real server rejects (UnprocessedTraceSegments) are
// dropped and counted by error code, not retried.
func TestRejectionsCounted(t *testing.T) {
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := startServer(t, t.TempDir(), httpAddr)
	defer srv.Shutdown(context.Background())
	d, err := daemon.Start(testDaemon(t, "http://"+httpAddr), testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	metrics := "http://" + d.TCPAddr().String() + "/metrics"
	var dgrams []string
	for i := range 10 {
		dgrams = append(dgrams, header+docFor(i, 0))
	}
	dgrams = append(dgrams,
		header+`{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","name":"no-id","start_time":1,"end_time":2}`,
		header+`{"trace_id":"bad","id":"defdfd9912dc5a56","name":"x","start_time":1,"end_time":2}`,
		header+`{not json`,
		`{"format":"json","version":2}`+"\n{}",
		header,
		`no header at all`,
	)
	sendUDP(t, d.UDPAddr().String(), dgrams...)
	waitMetric(t, metrics, "fluoro_daemon_segments_received_total", 16)
	waitMetric(t, metrics, `fluoro_daemon_segments_dropped_total{reason="unprocessed"}`, 3)
	m := scrape(t, metrics)
	for name, want := range map[string]float64{
		"fluoro_daemon_segments_sent_total":                               10,
		`fluoro_daemon_segments_dropped_total{reason="bad_header"}`:       1,
		`fluoro_daemon_segments_dropped_total{reason="no_body"}`:          1,
		`fluoro_daemon_segments_dropped_total{reason="no_header"}`:        1,
		`fluoro_daemon_segments_unprocessed_total{code="MissingId"}`:      1,
		`fluoro_daemon_segments_unprocessed_total{code="InvalidTraceId"}`: 1,
		`fluoro_daemon_segments_unprocessed_total{code="InvalidJSON"}`:    1,
		"fluoro_daemon_send_retries_total":                                0,
	} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
}

// TestBatchRefused: a 4xx on the whole call drops the batch, counted, with
// no retry and no spooling.
func TestBatchRefused(t *testing.T) {
	col := &collector{status: 400, body: `{"__type":"InvalidRequestException","Message":"no"}`}
	up := httptest.NewServer(col)
	defer up.Close()
	d, err := daemon.Start(testDaemon(t, up.URL), testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	metrics := "http://" + d.TCPAddr().String() + "/metrics"
	sendUDP(t, d.UDPAddr().String(), header+docFor(1, 0), header+docFor(2, 0))
	waitMetric(t, metrics, `fluoro_daemon_segments_dropped_total{reason="batch_rejected"}`, 2)
	m := scrape(t, metrics)
	if m["fluoro_daemon_send_retries_total"] != 0 || m["fluoro_daemon_spooled_batches_total"] != 0 {
		t.Errorf("a refused batch was retried (%v) or spooled (%v)", m["fluoro_daemon_send_retries_total"], m["fluoro_daemon_spooled_batches_total"])
	}
	if m[`fluoro_daemon_backend_errors_total{kind="http_4xx"}`] != 1 {
		t.Errorf("http_4xx errors = %v, want 1", m[`fluoro_daemon_backend_errors_total{kind="http_4xx"}`])
	}
}

// TestSpoolCapDropsOldest: with the server down longer than the spool can
// hold, the oldest batches are dropped and counted; once the server is up
// the rest arrive, newest kept, so received = delivered + dropped exactly.
func TestSpoolCapDropsOldest(t *testing.T) {
	port := freePort(t)
	cfg := testDaemon(t, fmt.Sprintf("http://127.0.0.1:%d", port))
	cfg.SpoolMaxBytes = 1 << 20
	d, err := daemon.Start(cfg, testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	metrics := "http://" + d.TCPAddr().String() + "/metrics"
	const n = 3000 // ~3 MB of documents against a 1 MiB spool
	for i := 0; i < n; i += 100 {
		var batch []string
		for j := i; j < i+100; j++ {
			batch = append(batch, header+docFor(j, 800))
		}
		sendUDP(t, d.UDPAddr().String(), batch...)
		waitMetric(t, metrics, "fluoro_daemon_segments_received_total", float64(i+100))
	}
	var dropped float64
	eventually(t, "everything spooled or dropped", func() error {
		m := scrape(t, metrics)
		dropped = m[`fluoro_daemon_segments_dropped_total{reason="spool_cap"}`]
		if spooled := m["fluoro_daemon_spool_segments"]; spooled+dropped != n {
			return fmt.Errorf("spooled %v + dropped %v != %d", spooled, dropped, n)
		}
		if b := m["fluoro_daemon_spool_bytes"]; b > 1<<20 {
			t.Fatalf("spool holds %v bytes, over its 1 MiB cap", b)
		}
		return nil
	})
	if dropped == 0 || dropped == n {
		t.Fatalf("dropped %v of %d; want some but not all", dropped, n)
	}
	col := &collector{}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	up := &http.Server{Handler: col}
	go up.Serve(ln)
	defer up.Close()
	waitMetric(t, metrics, "fluoro_daemon_segments_sent_total", n-dropped)
	_, docs := col.docs()
	if float64(len(docs)) != n-dropped {
		t.Fatalf("endpoint has %d documents, want %v", len(docs), n-dropped)
	}
	// The newest were kept: document n-1 arrived, document 0 did not.
	have := map[string]bool{}
	for _, doc := range docs {
		var v struct{ ID string }
		json.Unmarshal([]byte(doc), &v)
		have[v.ID] = true
	}
	if !have[fmt.Sprintf("%016x", n)] || have[fmt.Sprintf("%016x", 1)] {
		t.Fatalf("newest kept = %v, oldest kept = %v; want the newest kept and the oldest dropped", have[fmt.Sprintf("%016x", n)], have[fmt.Sprintf("%016x", 1)])
	}
	if m := scrape(t, metrics); m["fluoro_daemon_spool_batches"] != 0 || m["fluoro_daemon_upstream_up"] != 1 {
		t.Fatalf("after replay: %v batches in the spool, upstream_up %v", m["fluoro_daemon_spool_batches"], m["fluoro_daemon_upstream_up"])
	}
}

// TestSpoolSurvivesDaemonRestart: batches spooled while the server was down
// are sent by the next daemon process on the same spool directory; what
// the first one still held at shutdown is spooled, not lost.
func TestSpoolSurvivesDaemonRestart(t *testing.T) {
	port := freePort(t)
	cfg := testDaemon(t, fmt.Sprintf("http://127.0.0.1:%d", port))
	d, err := daemon.Start(cfg, testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	metrics := "http://" + d.TCPAddr().String() + "/metrics"
	const n = 330
	for i := 0; i < n; i += 110 {
		var dg []string
		for j := i; j < i+110; j++ {
			dg = append(dg, header+docFor(j, 100))
		}
		sendUDP(t, d.UDPAddr().String(), dg...)
		waitMetric(t, metrics, "fluoro_daemon_segments_received_total", float64(i+110))
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	col := &collector{}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	up := &http.Server{Handler: col}
	go up.Serve(ln)
	defer up.Close()
	d2, err := daemon.Start(cfg, testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Shutdown(context.Background())
	eventually(t, "the second daemon replays the spool", func() error {
		if _, docs := col.docs(); len(docs) != n {
			return fmt.Errorf("%d of %d documents at the server", len(docs), n)
		}
		return nil
	})
	_, docs := col.docs()
	seen := map[string]bool{}
	for _, doc := range docs {
		if seen[doc] {
			t.Fatalf("document sent twice: %.60s", doc)
		}
		seen[doc] = true
	}
}
