package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestConfigValidate(t *testing.T) {
	check := func(name string, c Config, wantErr string) {
		t.Helper()
		err := c.Validate()
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: got error %v, want none", name, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: got error %v, want one containing %q", name, err, wantErr)
		}
	}
	check("zero", Config{}, "")
	check("full", Config{Addr: "localhost:2000", Rate: 1e5, Duration: time.Minute, Traces: 10, SpanBytes: 1000, Seed: -1}, "")
	check("ipv6", Config{Addr: "[::1]:2000"}, "")
	check("no port", Config{Addr: "localhost"}, "invalid address")
	check("negative rate", Config{Rate: -1}, "invalid rate")
	check("NaN rate", Config{Rate: math.NaN()}, "invalid rate")
	check("infinite rate", Config{Rate: math.Inf(1)}, "invalid rate")
	check("negative duration", Config{Duration: -time.Second}, "invalid duration")
	check("negative traces", Config{Traces: -1}, "invalid trace count")
	check("negative span bytes", Config{SpanBytes: -1}, "invalid span bytes")
	check("huge span bytes", Config{SpanBytes: MaxSpanBytes + 1}, "invalid span bytes")
}

// listen returns a UDP listener on a free loopback port whose datagrams are
// delivered on the returned channel until the test ends.
func listen(t testing.TB) (string, <-chan []byte) {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if uc, ok := conn.(*net.UDPConn); ok {
		uc.SetReadBuffer(4 << 20) // best effort: capped by net.core.rmem_max
	}
	ch := make(chan []byte, 1<<16)
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- bytes.Clone(buf[:n])
		}
	}()
	return conn.LocalAddr().String(), ch
}

func TestRunDeliversDatagrams(t *testing.T) {
	addr, ch := listen(t)
	cfg := Config{Addr: addr, Rate: 5000, Traces: 25, Seed: 9}
	want := 0
	g := NewGenerator(cfg.Seed, GeneratorOptions{})
	for range cfg.Traces {
		want += len(g.Trace(time.Now()).Docs)
	}

	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Traces != int64(cfg.Traces) || st.Documents != int64(want) || st.SendErrors != 0 || st.Spans == 0 {
		t.Fatalf("got stats %+v, want %d traces, %d documents, no send errors", st, cfg.Traces, want)
	}

	var got, gotBytes int
	deadline := time.After(10 * time.Second)
	for got < want {
		select {
		case d := <-ch:
			got++
			gotBytes += len(d)
			body, ok := bytes.CutPrefix(d, []byte(`{"format": "json", "version": 1}`+"\n"))
			if !ok || !json.Valid(body) {
				t.Fatalf("datagram %d: want the header line and one JSON document, got:\n%s", got, d)
			}
		case <-deadline:
			t.Fatalf("got %d datagrams before the deadline, want %d", got, want)
		}
	}
	if int64(gotBytes) != st.Bytes {
		t.Errorf("got %d bytes, Stats.Bytes = %d", gotBytes, st.Bytes)
	}
	// Run has returned, so any extra datagram is already queued on loopback.
	select {
	case d := <-ch:
		t.Errorf("got an extra datagram after %d: %s", want, d)
	default:
	}
}

func TestRunStops(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		addr, ch := listen(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan Stats)
		go func() {
			st, err := Run(ctx, Config{Addr: addr, Rate: 1000})
			if err != nil {
				t.Error(err)
			}
			done <- st
		}()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("no datagram before the deadline")
		}
		cancel()
		select {
		case st := <-done:
			if st.Traces == 0 || st.Documents == 0 {
				t.Errorf("got stats %+v, want some traces and documents", st)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	})
	t.Run("duration", func(t *testing.T) {
		addr, _ := listen(t)
		cfg := Config{Addr: addr, Rate: 2000, Duration: 50 * time.Millisecond}
		st, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if st.Elapsed < cfg.Duration || st.Traces == 0 {
			t.Errorf("got stats %+v, want some traces and Elapsed >= %v", st, cfg.Duration)
		}
	})
	t.Run("invalid config", func(t *testing.T) {
		if _, err := Run(context.Background(), Config{Rate: -1}); err == nil {
			t.Error("got no error for a negative rate")
		}
	})
}

func TestRunCountsSendErrors(t *testing.T) {
	// A closed loopback port answers with ICMP port unreachable, which a
	// connected UDP socket reports on a later write.
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := conn.LocalAddr().String()
	conn.Close()
	cfg := Config{Addr: addr, Traces: 50}
	want := 0
	g := NewGenerator(cfg.Seed, GeneratorOptions{})
	for range cfg.Traces {
		want += len(g.Trace(time.Now()).Docs)
	}
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.SendErrors == 0 || st.Documents+st.SendErrors != int64(want) {
		t.Errorf("got stats %+v, want send errors and %d documents attempted", st, want)
	}
}

func TestPacer(t *testing.T) {
	check := func(name string, rate float64, docs int64, want time.Duration) {
		t.Helper()
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			p := newPacer(rate, start)
			timer := time.NewTimer(time.Hour)
			waits := 0
			for i := range docs {
				if i >= p.next {
					waits++
					if !p.wait(t.Context(), timer, i, time.Time{}) {
						t.Fatalf("%s: wait for document %d stopped", name, i)
					}
				}
			}
			if got := time.Since(start); got < want-time.Millisecond || got > want {
				t.Errorf("%s: %d documents took %v, want %v", name, docs, got, want)
			}
			if maxWaits := int(float64(docs)/rate*2000) + 1; waits > maxWaits {
				t.Errorf("%s: waited %d times, want at most %d", name, waits, maxWaits)
			}
		})
	}
	check("slow", 10, 21, 2*time.Second)
	check("medium", 1000, 5001, 5*time.Second)
	check("fast", 200_000, 1_000_001, 5*time.Second)

	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		p := newPacer(100, start)
		timer := time.NewTimer(time.Hour)
		if p.wait(t.Context(), timer, 500, start.Add(time.Second)) {
			t.Error("wait past the deadline: got true, want false")
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("wait past the deadline returned after %v, want 1s", got)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if p.wait(ctx, timer, 1000, time.Time{}) {
			t.Error("wait with a done context: got true, want false")
		}
	})

	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		p := newPacer(100, start)
		timer := time.NewTimer(time.Hour)
		time.Sleep(time.Minute) // a stall: the pacer forgives all but maxLag of it
		p.wait(t.Context(), timer, 0, time.Time{})
		stalled := time.Now()
		p.wait(t.Context(), timer, 200, time.Time{})
		if got, want := time.Since(stalled), 2*time.Second-maxLag; got != want {
			t.Errorf("after a stall, 200 documents at 100/s waited %v, want %v", got, want)
		}
	})
}
