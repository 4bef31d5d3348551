package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/store"
)

func readBuckets(t *testing.T, st store.Store, group string, from, to uint32) []string {
	t.Helper()
	var got []string
	err := st.GraphBuckets(context.Background(), group, from, to, func(b store.GraphBucket) bool {
		if b.Group != group {
			t.Errorf("GraphBuckets(%q) passed a bucket of group %q", group, b.Group)
		}
		got = append(got, fmt.Sprintf("%d=%s", b.Start-epoch0, b.Data))
		return true
	})
	if err != nil {
		t.Fatalf("GraphBuckets(%q, %d, %d): %v", group, from, to, err)
	}
	return got
}

// graphBuckets checks PutGraphBuckets and GraphBuckets: replacement, the
// half-open range, groups kept apart even when one name prefixes another,
// early stop, bad groups, retention and persistence across a reopen.
func (s suite) graphBuckets(t *testing.T) {
	st := s.openStore(t, "a")
	ctx := context.Background()
	put := func(bs ...store.GraphBucket) {
		t.Helper()
		if err := st.PutGraphBuckets(ctx, bs); err != nil {
			t.Fatalf("PutGraphBuckets: %v", err)
		}
	}
	data := []byte("x")
	put(store.GraphBucket{Start: epoch0 + 120, Group: "g", Data: []byte("c")},
		store.GraphBucket{Start: epoch0, Group: "g", Data: []byte("a")},
		store.GraphBucket{Start: epoch0 + 60, Group: "g", Data: data},
		store.GraphBucket{Start: epoch0 + 60, Group: "gg", Data: []byte("other")},
		store.GraphBucket{Start: epoch0 + 60, Group: "Default", Data: []byte("d")})
	copy(data, "X")                                                           // not retained
	put(store.GraphBucket{Start: epoch0 + 60, Group: "g", Data: []byte("b")}) // replaces
	check := func(group string, from, to uint32, want ...string) {
		t.Helper()
		if got := readBuckets(t, st, group, from, to); !slices.Equal(got, want) {
			t.Errorf("GraphBuckets(%q, +%d, +%d) = %q, want %q", group, from-epoch0, to-epoch0, got, want)
		}
	}
	check("g", epoch0, epoch0+180, "0=a", "60=b", "120=c")
	check("g", epoch0+1, epoch0+120, "60=b")
	check("g", epoch0+60, epoch0+60)
	check("gg", 0, ^uint32(0), "60=other")
	check("Default", 0, ^uint32(0), "60=d")
	check("none", 0, ^uint32(0))
	n := 0
	if err := st.GraphBuckets(ctx, "g", 0, ^uint32(0), func(store.GraphBucket) bool { n++; return false }); err != nil || n != 1 {
		t.Errorf("GraphBuckets stopped by fn: %d calls, err %v; want 1, nil", n, err)
	}
	if err := st.PutGraphBuckets(ctx, []store.GraphBucket{{Start: 1, Group: ""}}); err == nil {
		t.Errorf("PutGraphBuckets with an empty group succeeded")
	}
	if err := st.PutGraphBuckets(ctx, []store.GraphBucket{{Start: 1, Group: "a\x00b"}}); err == nil {
		t.Errorf("PutGraphBuckets with a NUL in the group succeeded")
	}
	if err := st.DeleteBefore(ctx, epoch0+60); err != nil {
		t.Fatal(err)
	}
	check("g", 0, ^uint32(0), "60=b", "120=c")
	if err := st.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Fatal(err)
	}
	st = s.openStore(t, "a")
	check("g", 0, ^uint32(0), "60=b", "120=c")
	check("Default", 0, ^uint32(0), "60=d")
	if err := st.DeleteBefore(ctx, epoch0+121); err != nil {
		t.Fatal(err)
	}
	check("g", 0, ^uint32(0))
}
