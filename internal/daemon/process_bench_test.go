package daemon_test

// BenchmarkDaemonProcess measures `fluoro daemon` as users run it: a
// separate process, fed over loopback UDP by the demo load generator at a
// fixed rate, relaying to a receiver in the benchmark process. It reports
// the relay's throughput, the loss, the daemon's peak RSS (VmHWM) and its
// CPU time. With -daemon.xray pointing at a build of the official AWS X-Ray
// daemon, the same load goes through it too, in the same run, to the same
// receiver (see docs/benchmarks.md for how to build it; nothing here builds
// it).
//
//	go test -run x -bench DaemonProcess -benchtime 1x -count 5 ./internal/daemon/ \
//	    -daemon.rate 100000 -daemon.seconds 10 -daemon.xray /tmp/xray-official

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/server"
	"github.com/fluoro-dev/fluoro/internal/server/servertest"
)

var (
	benchRate     = flag.Float64("daemon.rate", 100000, "documents per second offered to the daemon")
	benchSeconds  = flag.Int("daemon.seconds", 10, "seconds of load per run")
	benchXRay     = flag.String("daemon.xray", "", "path of an official X-Ray daemon binary to compare with")
	benchReceiver = flag.String("daemon.receiver", "count", "count: an HTTP endpoint counting documents; server: a fluoro server (in this process)")
)

// counter is a PutTraceSegments endpoint that only counts documents.
type counter struct{ docs, calls atomic.Int64 }

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/TraceSegments" && bytes.HasPrefix(b, []byte(`{"TraceSegmentDocuments":[`)) {
		// Documents are JSON strings: `","` appears only between two.
		n := int64(bytes.Count(b, []byte(`","`)) + 1)
		if bytes.HasSuffix(b, []byte(`[]}`)) {
			n = 0
		}
		c.docs.Add(n)
		c.calls.Add(1)
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"UnprocessedTraceSegments":[]}`)
}

func buildFluoro(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "fluoro")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/fluoro-dev/fluoro/cmd/fluoro")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("build fluoro: %v", err)
	}
	return bin
}

func freeUDPPort(b *testing.B) int {
	for {
		port := freePort(b)
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return port
		}
	}
}

// procStatus reads a field of /proc/pid/status in KiB.
func procStatus(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return 0
}

// procCPU is the process's user+system CPU time.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond // USER_HZ = 100
}

// loadStats is what blast sent.
type loadStats struct {
	Documents int64
	Elapsed   time.Duration
}

var benchDocCache [][]byte

// benchDocs are datagrams made once by the demo generator (its shop
// topology, about 1.2 KB per document), replayed by blast: generating
// traces costs more CPU than relaying them, and the load generator shares
// the machine with the daemon.
func benchDocs(b *testing.B) [][]byte {
	if benchDocCache != nil {
		return benchDocCache
	}
	gen := demo.NewGenerator(1, demo.GeneratorOptions{})
	start := time.Now()
	for len(benchDocCache) < 50000 {
		tr := gen.Trace(start)
		for _, d := range tr.Docs {
			benchDocCache = append(benchDocCache, append([]byte(header), d...))
		}
		start = start.Add(time.Millisecond)
	}
	return benchDocCache
}

// blast sends docs round-robin to addr over UDP at rate datagrams per second
// for d, paced against the clock in steps of at most a millisecond.
func blast(addr string, docs [][]byte, rate float64, d time.Duration) (loadStats, error) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return loadStats{}, err
	}
	defer conn.Close()
	var sent int64
	begin := time.Now()
	for {
		el := time.Since(begin)
		if el >= d {
			break
		}
		due := int64(el.Seconds() * rate)
		if sent >= due {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		for ; sent < due; sent++ {
			conn.Write(docs[sent%int64(len(docs))])
		}
	}
	return loadStats{Documents: sent, Elapsed: time.Since(begin)}, nil
}

// udpRcvbufErrors is the system's count of UDP datagrams dropped because a
// socket's receive buffer was full (all sockets: on a busy machine other
// programs' drops count too).
func udpRcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var head []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		for i, h := range head {
			if h == "RcvbufErrors" && i < len(f) {
				n, _ := strconv.ParseInt(f[i], 10, 64)
				return n
			}
		}
	}
	return 0
}

func BenchmarkDaemonProcess(b *testing.B) {
	fluoro := buildFluoro(b)
	kinds := []string{"fluoro"}
	if *benchXRay != "" {
		kinds = append(kinds, "xray")
	}
	for _, kind := range kinds {
		b.Run(kind+"/"+*benchReceiver, func(b *testing.B) {
			for range b.N {
				runDaemonLoad(b, kind, fluoro)
			}
		})
	}
}

func runDaemonLoad(b *testing.B, kind, fluoro string) {
	// The receiver.
	var count func() int64
	var endpoint string
	switch *benchReceiver {
	case "count":
		c := &counter{}
		srv := httptest.NewServer(c)
		defer srv.Close()
		endpoint, count = srv.URL, c.docs.Load
	case "server":
		cfg := servertest.Config()
		cfg.Data = b.TempDir()
		s, err := server.Start(context.Background(), cfg, testLoggerB())
		if err != nil {
			b.Fatal(err)
		}
		defer s.Shutdown(context.Background())
		endpoint = "http://" + s.HTTPAddr().String()
		url := endpoint + "/metrics"
		count = func() int64 {
			return int64(scrapeB(url)[`fluoro_ingest_documents_received_total{transport="api"}`])
		}
	default:
		b.Fatalf("unknown receiver %q", *benchReceiver)
	}

	port := freeUDPPort(b)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dir := b.TempDir()
	var cmd *exec.Cmd
	switch kind {
	case "fluoro":
		cmd = exec.Command(fluoro, "daemon", "-b", addr, "-t", addr, "--endpoint", endpoint,
			"--spool-dir", filepath.Join(dir, "spool"), "--log-level", "warn")
	case "xray":
		cfgPath := filepath.Join(dir, "cfg.yaml")
		os.WriteFile(cfgPath, []byte(fmt.Sprintf("Version: 2\nEndpoint: %q\nRegion: \"us-east-1\"\nLocalMode: true\nSocket:\n  UDPAddress: %q\n  TCPAddress: %q\nLogging:\n  LogLevel: \"warn\"\n", endpoint, addr, addr)), 0o644)
		cmd = exec.Command(*benchXRay, "-o", "-n", "us-east-1", "-c", cfgPath, "-f", filepath.Join(dir, "xray.log"))
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_REGION=us-east-1")
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	// Ready when its TCP port accepts.
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s daemon did not open %s", kind, addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid := cmd.Process.Pid
	cpu0 := procCPU(pid)
	kern0 := udpRcvbufErrors()
	b.ResetTimer()
	st, err := blast(addr, benchDocs(b), *benchRate, time.Duration(*benchSeconds)*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	loadEnd := time.Now()
	// Wait for the relay to drain: the count stops moving.
	var got, last int64 = 0, -1
	stable := time.Now()
	for time.Since(loadEnd) < 30*time.Second {
		got = count()
		if got >= st.Documents {
			break
		}
		if got != last {
			last, stable = got, time.Now()
		} else if time.Since(stable) > 3*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.StopTimer()
	kern := udpRcvbufErrors() - kern0
	if kind == "fluoro" {
		var dropped float64
		for k, v := range scrapeB("http://" + addr + "/metrics") {
			if strings.HasPrefix(k, "fluoro_daemon_segments_dropped_total") {
				dropped += v
			}
		}
		b.ReportMetric(100*dropped/float64(st.Documents), "daemon-drops-%")
	}
	b.ReportMetric(100*float64(kern)/float64(st.Documents), "kernel-drops-%")
	cpu := procCPU(pid) - cpu0
	hwm := procStatus(pid, "VmHWM")
	secs := st.Elapsed.Seconds()
	b.ReportMetric(float64(st.Documents)/secs, "offered-docs/s")
	b.ReportMetric(float64(got)/secs, "relayed-docs/s")
	b.ReportMetric(100*(1-float64(got)/float64(st.Documents)), "loss-%")
	b.ReportMetric(hwm/1024, "peak-RSS-MiB")
	b.ReportMetric(cpu.Seconds()/float64(max(got, 1))*1e6, "cpu-µs/doc")
}
