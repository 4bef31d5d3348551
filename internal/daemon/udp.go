package daemon

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/fluoro-dev/fluoro/internal/xray"
)

// readBuffer is one UDP read: a 64 KiB datagram (the protocol's ceiling)
// and a byte more, to tell a truncated read from a full one.
const readBuffer = 64<<10 + 1

// listener reads the daemon UDP protocol into a relay. Each reader owns its
// buffers for its whole life (on Linux, a batch of them filled by one
// recvmmsg call), and the relay copies the document into its batch, so a
// datagram costs no allocation.
type listener struct {
	conn *net.UDPConn
	r    adder
	m    *metrics
	wg   sync.WaitGroup
}

// adder takes one document read from the socket (received is counted by
// the caller); the relay, or the edge tail sampler in front of it.
type adder interface{ add(doc []byte) }

func listenUDP(addr string, bufBytes, readers int, r adder, m *metrics) (*listener, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("listen udp: %w", err)
	}
	if bufBytes > 0 {
		setReadBuffer(conn, bufBytes)
	}
	l := &listener{conn: conn, r: r, m: m}
	for range readers {
		l.wg.Add(1)
		go l.read()
	}
	return l, nil
}

func (l *listener) addr() net.Addr { return l.conn.LocalAddr() }

func (l *listener) read() {
	defer l.wg.Done()
	br, err := newBatchReader(l.conn, readBuffer)
	if err != nil {
		return
	}
	for {
		n, err := br.read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		for i := range n {
			b, truncated := br.datagram(i)
			l.datagram(b, truncated)
		}
	}
}

// datagram checks one datagram's framing and hands its document to the
// relay.
func (l *listener) datagram(b []byte, truncated bool) {
	l.m.received.Inc()
	l.m.teleReceived.Add(1)
	if truncated || len(b) >= readBuffer {
		l.reject(l.m.dropLarge)
		return
	}
	body, err := xray.SplitDatagram(b)
	if err != nil {
		switch {
		case errors.Is(err, xray.ErrNoHeader):
			l.reject(l.m.dropNoHdr)
		case errors.Is(err, xray.ErrNoBody):
			l.reject(l.m.dropEmpty)
		default:
			l.reject(l.m.dropHeader)
		}
		return
	}
	l.r.add(body)
}

// reject counts a datagram refused for its framing: X-Ray's
// SegmentsRejectedCount.
func (l *listener) reject(c interface{ Inc() }) {
	c.Inc()
	l.m.teleRejected.Add(1)
}

func (l *listener) close() error {
	err := l.conn.Close()
	l.wg.Wait()
	return err
}

// setReadBuffer raises the socket's receive buffer, past net.core.rmem_max
// when the process may (SO_RCVBUFFORCE).
func setReadBuffer(c *net.UDPConn, n int) {
	if raw, err := c.SyscallConn(); err == nil {
		var serr error
		_ = raw.Control(func(fd uintptr) {
			serr = setRcvbufForce(fd, n)
		})
		if serr == nil {
			return
		}
	}
	_ = c.SetReadBuffer(n)
}
