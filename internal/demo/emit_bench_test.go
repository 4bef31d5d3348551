package demo

import (
	"context"
	"net"
	"testing"
)

// BenchmarkRun measures the whole send path, generation and one write per
// datagram, to a loopback listener that discards what it reads.
func BenchmarkRun(b *testing.B) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	go func() {
		buf := make([]byte, 1<<16)
		for {
			if _, _, err := conn.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	b.ReportAllocs()
	st, err := Run(context.Background(), Config{Addr: conn.LocalAddr().String(), Traces: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Bytes / int64(b.N))
	b.ReportMetric(float64(st.Documents)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(st.SendErrors), "send-errors")
}
