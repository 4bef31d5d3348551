package enginecmp

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestPrefixCover(t *testing.T) {
	check := func(from, to uint32) {
		t.Helper()
		ps := prefixCover(from, to)
		covered := func(s uint32) bool {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], s)
			for _, p := range ps {
				if bytes.HasPrefix(b[:], p) {
					return true
				}
			}
			return false
		}
		for s := from - 300; s != to+300; s++ {
			if got, want := covered(s), s >= from && s < to; got != want {
				t.Fatalf("prefixCover(%d, %d) covers %d: %v, want %v", from, to, s, got, want)
			}
		}
		if len(ps) > 3*255 {
			t.Errorf("prefixCover(%d, %d): %d prefixes", from, to, len(ps))
		}
	}
	check(1767225600, 1767225600+8640)
	check(1767225601, 1767225600+86400)
	check(0x10000, 0x20000)
	check(0x10005, 0x10006)
}

func TestPrefixEnd(t *testing.T) {
	check := func(p, want []byte) {
		t.Helper()
		if got := prefixEnd(p); !bytes.Equal(got, want) {
			t.Errorf("prefixEnd(%x) = %x, want %x", p, got, want)
		}
	}
	check([]byte{1, 2, 3}, []byte{1, 2, 4})
	check([]byte{1, 2, 0xff}, []byte{1, 3})
	check([]byte{0xff, 0xff}, nil)
}
