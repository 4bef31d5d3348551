package daemon

import (
	"net"
	"syscall"
	"unsafe"
)

func setRcvbufForce(fd uintptr, n int) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
}

// batchMessages is how many datagrams one recvmmsg(2) may return.
const batchMessages = 32

// mmsghdr is struct mmsghdr of recvmmsg(2).
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// batchReader reads up to batchMessages datagrams per system call into
// buffers it owns for its whole life: one wake-up and one call for a burst,
// and no allocation. Source addresses are not asked for.
type batchReader struct {
	rc   syscall.RawConn
	hdrs [batchMessages]mmsghdr
	iovs [batchMessages]syscall.Iovec
	bufs [batchMessages][]byte
}

func newBatchReader(c *net.UDPConn, size int) (*batchReader, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &batchReader{rc: rc}
	for i := range r.bufs {
		r.bufs[i] = make([]byte, size)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(size)
		r.hdrs[i].hdr.Iov = &r.iovs[i]
		r.hdrs[i].hdr.Iovlen = 1
	}
	return r, nil
}

// read blocks until datagrams arrive and returns how many; datagram i is
// r.datagram(i), valid until the next read.
func (r *batchReader) read() (int, error) {
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		r1, _, e := syscall.Syscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])),
			batchMessages, syscall.MSG_DONTWAIT, 0, 0)
		if e == syscall.EAGAIN || e == syscall.EINTR {
			return false // wait for the socket to be readable
		}
		n, errno = int(r1), e
		return true
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return n, nil
}

func (r *batchReader) datagram(i int) (b []byte, truncated bool) {
	h := &r.hdrs[i]
	return r.bufs[i][:h.n], h.hdr.Flags&syscall.MSG_TRUNC != 0
}
