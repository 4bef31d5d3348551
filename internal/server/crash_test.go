package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fluoroBinary builds cmd/fluoro once per test binary.
var fluoroBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "fluoro-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "fluoro")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/fluoro")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// process is `fluoro server` running as a child process.
type process struct {
	cmd      *exec.Cmd
	http     string
	udp      string
	stderr   *bytes.Buffer
	mu       *sync.Mutex
	waitDone chan struct{}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startProcess(t *testing.T, dir string, port int) *process {
	t.Helper()
	bin, err := fluoroBinary()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := &process{http: addr, udp: addr, stderr: &bytes.Buffer{}, mu: &sync.Mutex{}, waitDone: make(chan struct{})}
	p.cmd = exec.Command(bin, "server", "--data", dir, "--udp", addr, "--http", addr, "--otlp-grpc", "", "--otlp-http", "")
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); pw.Close(); close(p.waitDone) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.waitDone
		if t.Failed() {
			p.mu.Lock()
			t.Logf("server log:\n%s", p.stderr.String())
			p.mu.Unlock()
		}
	})
	eventually(t, "server answers /healthz", func() error {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	return p
}

func (p *process) post(path string, in, out any) error {
	b, _ := json.Marshal(in)
	resp, err := http.Post("http://"+p.http+path, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, body)
	}
	return json.Unmarshal(body, out)
}

// traceDocs makes the documents of trace number n: a root segment and four
// more, as separate documents.
func traceDocs(epoch int64, n int) (string, []string) {
	tid := fmt.Sprintf("1-%08x-%024x", epoch, n)
	now := float64(time.Now().UnixNano()) / 1e9
	docs := []string{fmt.Sprintf(`{"trace_id":%q,"id":"%016x","name":"gateway","start_time":%f,"end_time":%f,"http":{"request":{"method":"GET","url":"http://shop/%d"},"response":{"status":200}}}`,
		tid, uint64(n+1)<<8, now, now+0.2, n)}
	for i := 1; i < 5; i++ {
		docs = append(docs, fmt.Sprintf(`{"trace_id":%q,"id":"%016x","parent_id":"%016x","name":"svc-%d","start_time":%f,"end_time":%f}`,
			tid, uint64(n+1)<<8|uint64(i), uint64(n+1)<<8, i, now+0.01, now+0.1))
	}
	return tid, docs
}

// countSegments returns, per trace id, how many segments BatchGetTraces
// returns.
func countSegments(t *testing.T, p *process, ids []string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for len(ids) > 0 {
		n := min(5, len(ids))
		var out struct {
			Traces []struct {
				Id       string
				Segments []struct{ Id string }
			}
		}
		if err := p.post("/Traces", map[string]any{"TraceIds": ids[:n]}, &out); err != nil {
			t.Fatal(err)
		}
		for _, tr := range out.Traces {
			got[tr.Id] = len(tr.Segments)
		}
		ids = ids[n:]
	}
	return got
}

func summaryCount(t *testing.T, p *process) int {
	t.Helper()
	end := float64(time.Now().Add(time.Minute).Unix())
	start := end - 3600
	in := map[string]any{"StartTime": start, "EndTime": end}
	n := 0
	for {
		var out struct {
			TraceSummaries []struct{ Id string }
			NextToken      *string
		}
		if err := p.post("/TraceSummaries", in, &out); err != nil {
			t.Fatal(err)
		}
		n += len(out.TraceSummaries)
		if out.NextToken == nil {
			return n
		}
		in["NextToken"] = *out.NextToken
	}
}

// TestCrashLosesAtMostOneSecond kills the server with SIGKILL in the middle
// of ingest, restarts it, and checks the documented fsync policy: every
// PutTraceSegments acknowledged more than one second before the kill is
// there, and every stored trace has its summary.
func TestCrashLosesAtMostOneSecond(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	port := freePort(t)
	p := startProcess(t, dir, port)

	type ack struct {
		id string
		at time.Time
	}
	var acks []ack
	epoch := time.Now().Unix()
	stop := time.Now().Add(3 * time.Second)
	for n := 0; time.Now().Before(stop); n++ {
		id, docs := traceDocs(epoch, n)
		var out struct{ UnprocessedTraceSegments []any }
		if err := p.post("/TraceSegments", map[string]any{"TraceSegmentDocuments": docs}, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.UnprocessedTraceSegments) > 0 {
			t.Fatalf("rejected: %v", out.UnprocessedTraceSegments)
		}
		acks = append(acks, ack{id, time.Now()})
	}
	killed := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.waitDone

	p = startProcess(t, dir, port)
	var ids []string
	for _, a := range acks {
		ids = append(ids, a.id)
	}
	got := countSegments(t, p, ids)
	mustHave, lost, kept := 0, 0, 0
	for _, a := range acks {
		n := got[a.id]
		if n == 5 {
			kept++
		}
		if killed.Sub(a.at) > time.Second {
			mustHave++
			if n != 5 {
				lost++
				if lost <= 5 {
					t.Errorf("trace %s acknowledged %v before the kill has %d of 5 segments", a.id, killed.Sub(a.at).Round(time.Millisecond), n)
				}
			}
		}
	}
	t.Logf("acknowledged %d traces; %d more than 1s before SIGKILL, %d of those lost; %d of all kept whole", len(acks), mustHave, lost, kept)
	if mustHave == 0 {
		t.Fatal("no trace was acknowledged more than a second before the kill; the test proves nothing")
	}
	stored := 0
	for _, n := range got {
		if n > 0 {
			stored++
		}
	}
	if s := summaryCount(t, p); s != stored {
		t.Errorf("%d traces stored but %d summaries after recovery", stored, s)
	}
}

// TestCleanShutdownKeepsEverything sends datagrams over UDP, waits until the
// server has received them all, stops it with SIGTERM at once and checks,
// after a restart, that every document and summary is there.
func TestCleanShutdownKeepsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	port := freePort(t)
	p := startProcess(t, dir, port)
	conn, err := net.Dial("udp", p.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const traces = 2000
	epoch := time.Now().Unix()
	var ids []string
	for n := range traces {
		id, docs := traceDocs(epoch, n)
		ids = append(ids, id)
		for _, d := range docs {
			if _, err := conn.Write([]byte("{\"format\": \"json\", \"version\": 1}\n" + d)); err != nil {
				t.Fatal(err)
			}
		}
		if n%100 == 99 {
			time.Sleep(5 * time.Millisecond) // stay well inside the socket buffer
		}
	}
	eventually(t, "server received every datagram", func() error {
		got := metric(t, p, `fluoro_ingest_documents_received_total{transport="udp"}`)
		if got != traces*5 {
			return fmt.Errorf("received %v of %d", got, traces*5)
		}
		return nil
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.waitDone
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("server exited %d after SIGTERM", code)
	}
	p = startProcess(t, dir, port)
	got := countSegments(t, p, ids)
	for _, id := range ids {
		if got[id] != 5 {
			t.Fatalf("trace %s has %d of 5 segments after a clean shutdown", id, got[id])
		}
	}
	if s := summaryCount(t, p); s != traces {
		t.Errorf("%d summaries after a clean shutdown, want %d", s, traces)
	}
	if metric(t, p, "fluoro_ingest_summaries_total") != 0 {
		t.Errorf("the restart had to summarise traces again: the clean shutdown left them pending")
	}
}

// metric reads one sample from /metrics.
func metric(t *testing.T, p *process, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + p.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	return 0
}
