package ingest

import (
	"net"
	"syscall"
)

// setReadBuffer raises the socket's receive buffer. SO_RCVBUF is capped by
// net.core.rmem_max; SO_RCVBUFFORCE passes the cap when the process may
// (root or CAP_NET_ADMIN), so try it first.
func setReadBuffer(c *net.UDPConn, n int) {
	raw, err := c.SyscallConn()
	if err == nil {
		var serr error
		_ = raw.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
		})
		if serr == nil {
			return
		}
	}
	_ = c.SetReadBuffer(n)
}
