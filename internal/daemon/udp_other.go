//go:build !linux

package daemon

import (
	"errors"
	"net"
)

func setRcvbufForce(uintptr, int) error { return errors.New("SO_RCVBUFFORCE is Linux only") }

// batchReader reads one datagram per call where recvmmsg(2) is missing.
type batchReader struct {
	c   *net.UDPConn
	buf []byte
	n   int
}

func newBatchReader(c *net.UDPConn, size int) (*batchReader, error) {
	return &batchReader{c: c, buf: make([]byte, size)}, nil
}

func (r *batchReader) read() (int, error) {
	n, err := r.c.Read(r.buf)
	if err != nil {
		return 0, err
	}
	r.n = n
	return 1, nil
}

func (r *batchReader) datagram(int) ([]byte, bool) { return r.buf[:r.n], r.n >= len(r.buf) }
