//go:build !linux

package ingest

import "net"

func setReadBuffer(c *net.UDPConn, n int) { _ = c.SetReadBuffer(n) }
