package ingest

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/fluoro-dev/fluoro/internal/xray"
)

// maxDatagram is the largest datagram read whole: X-Ray's 64 KiB document
// plus its header line. A longer one is truncated by the read and rejected.
const maxDatagram = xray.MaxDocumentSize + 64

// UDP serves the X-Ray daemon protocol: one datagram, one header line and one
// document.
type UDP struct {
	conn *net.UDPConn
	p    *Pipeline
	wg   sync.WaitGroup
}

// ListenUDP binds addr and starts readers feeding p. The kernel receive
// buffer is raised to bufBytes where the system allows, so bursts are not
// lost before the readers get to them.
func ListenUDP(addr string, bufBytes int, readers int, p *Pipeline) (*UDP, error) {
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
	u := &UDP{conn: conn, p: p}
	for range max(readers, 1) {
		u.wg.Add(1)
		go u.read()
	}
	return u, nil
}

// Addr is the bound address (useful with port 0).
func (u *UDP) Addr() net.Addr { return u.conn.LocalAddr() }

func (u *UDP) read() {
	defer u.wg.Done()
	buf := make([]byte, maxDatagram+1)
	for {
		n, _, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			u.p.Reject("ReadError", "", err)
			continue
		}
		if n > maxDatagram {
			u.p.Reject(xray.CodeTooLarge, "", fmt.Errorf("datagram longer than %d bytes", maxDatagram))
			continue
		}
		body, err := xray.SplitDatagram(buf[:n])
		if err != nil {
			reason := "BadHeader"
			switch {
			case errors.Is(err, xray.ErrNoHeader):
				reason = "NoHeader"
			case errors.Is(err, xray.ErrNoBody):
				reason = "NoBody"
			}
			u.p.Reject(reason, "", err)
			continue
		}
		doc := make([]byte, len(body))
		copy(doc, body)
		if u.p.Raw(doc) != nil {
			return
		}
	}
}

// Close stops the readers. Documents already read are in the pipeline.
func (u *UDP) Close() error {
	err := u.conn.Close()
	u.wg.Wait()
	return err
}
