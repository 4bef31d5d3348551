package daemon

import (
	"strings"
	"testing"
)

// TestParseDaemonAddress covers the forms the X-Ray SDKs accept in
// AWS_XRAY_DAEMON_ADDRESS, and the mistakes they refuse.
func TestParseDaemonAddress(t *testing.T) {
	check := func(in, wantUDP, wantTCP, wantErr string) {
		t.Helper()
		udp, tcp, err := ParseDaemonAddress(in)
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("ParseDaemonAddress(%q) error = %v, want one containing %q", in, err, wantErr)
			}
			return
		}
		if err != nil {
			t.Errorf("ParseDaemonAddress(%q): %v", in, err)
			return
		}
		if udp != wantUDP || tcp != wantTCP {
			t.Errorf("ParseDaemonAddress(%q) = udp %q tcp %q, want udp %q tcp %q", in, udp, tcp, wantUDP, wantTCP)
		}
	}
	check("127.0.0.1:2000", "127.0.0.1:2000", "127.0.0.1:2000", "")
	check("xray-daemon:2000", "xray-daemon:2000", "xray-daemon:2000", "")
	check(" 0.0.0.0:3000 ", "0.0.0.0:3000", "0.0.0.0:3000", "")
	check("[::1]:2000", "[::1]:2000", "[::1]:2000", "")
	check("tcp:127.0.0.1:2001 udp:127.0.0.2:2002", "127.0.0.2:2002", "127.0.0.1:2001", "")
	check("udp:daemon:2002 tcp:daemon:2001", "daemon:2002", "daemon:2001", "")
	check("UDP:daemon:2002 TCP:daemon:2001", "daemon:2002", "daemon:2001", "")
	check("", "", "", "empty")
	check("localhost", "", "", "missing port")
	check("localhost:", "", "", "no port")
	check("localhost:http", "", "", "not a number")
	check("udp:127.0.0.1:2000", "", "", "needs both")
	check("tcp:127.0.0.1:2000", "", "", "needs both")
	check("udp:a:1 udp:b:2", "", "", "udp given twice")
	check("tcp:a:1 tcp:b:2", "", "", "tcp given twice")
	check("sctp:a:1 udp:b:2", "", "", "unknown protocol")
	check("udp:a:1 tcp:b", "", "", "missing port")
	check("a:1 b:2 c:3", "", "", "want")
}

func TestConfigValidate(t *testing.T) {
	check := func(name string, edit func(*Config), wantErr string) {
		t.Helper()
		c := Default()
		c.Endpoint = "http://127.0.0.1:2080"
		edit(&c)
		err := c.Validate()
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: error = %v, want one containing %q", name, err, wantErr)
		}
	}
	check("defaults", func(*Config) {}, "")
	check("no endpoint", func(c *Config) { c.Endpoint = "" }, "endpoint must be set")
	check("endpoint without scheme", func(c *Config) { c.Endpoint = "fluoro:2000" }, "want http://")
	check("https endpoint", func(c *Config) { c.Endpoint = "https://fluoro.example:443" }, "")
	check("batch of 51", func(c *Config) { c.BatchDocuments = 51 }, "batch_documents")
	check("tiny spool", func(c *Config) { c.SpoolMaxBytes = 1000 }, "spool_max_bytes")
	check("no spool, tiny cap is fine", func(c *Config) { c.SpoolDir, c.SpoolMaxBytes = "", 0 }, "")
	check("bad udp", func(c *Config) { c.UDP = "2000" }, "udp address")
	check("bad tcp", func(c *Config) { c.TCP = "x" }, "tcp address")
	check("backoff", func(c *Config) { c.BackoffMax = c.BackoffBase / 2 }, "backoff")
	check("no attempts", func(c *Config) { c.Attempts = 0 }, "attempts")
	check("long hostname", func(c *Config) { c.Hostname = strings.Repeat("h", 256) }, "hostname")
}

func TestBackoff(t *testing.T) {
	ceilingOf := func(n int64) int64 { return n - 1 } // the largest value randN may give
	for attempt, want := range map[int]int64{1: 100, 2: 200, 3: 400, 4: 800, 5: 1000, 40: 1000} {
		if got := backoff(100, 1000, attempt, ceilingOf); int64(got) != want {
			t.Errorf("backoff ceiling for attempt %d = %d, want %d", attempt, got, want)
		}
		if got := backoff(100, 1000, attempt, func(int64) int64 { return 0 }); got != 1 {
			t.Errorf("backoff floor for attempt %d = %d, want 1", attempt, got)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	in := []byte("{\"a\":\"b\\\\c\"}\n\t\x01é")
	got := string(appendJSONString(nil, in))
	want := `"{\"a\":\"b\\\\c\"}\n\t\u0001é"`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
