package ingest

import (
	"fmt"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/model"
)

func TestQueueDropsOldest(t *testing.T) {
	check := func(name string, maxItems, maxBytes int, sizes []int, wantDropped int, wantKept []string) {
		t.Helper()
		q := newQueue(maxItems, maxBytes)
		dropped := 0
		for i, size := range sizes {
			n, ok := q.push(item{raw: []byte(fmt.Sprint(i)), size: size})
			if !ok {
				t.Fatalf("%s: push refused on an open queue", name)
			}
			dropped += n
		}
		if dropped != wantDropped {
			t.Errorf("%s: dropped %d, want %d", name, dropped, wantDropped)
		}
		q.close()
		var got []string
		for {
			items, ok := q.pop(nil, 2)
			if !ok {
				break
			}
			for _, it := range items {
				got = append(got, string(it.raw))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(wantKept) {
			t.Errorf("%s: kept %v, want %v (oldest dropped first)", name, got, wantKept)
		}
	}
	check("under both bounds", 4, 100, []int{1, 1, 1}, 0, []string{"0", "1", "2"})
	check("item bound", 3, 100, []int{1, 1, 1, 1, 1}, 2, []string{"2", "3", "4"})
	check("byte bound", 10, 10, []int{4, 4, 4, 4}, 2, []string{"2", "3"})
	check("one item over the byte bound is still kept", 10, 10, []int{4, 20}, 1, []string{"1"})
}

func TestQueueCountsDecodedSpans(t *testing.T) {
	q := newQueue(1, 1<<20)
	q.push(item{spans: make([]model.Span, 3)})
	dropped, _ := q.push(item{raw: []byte("x")})
	if dropped != 3 {
		t.Errorf("dropping an item of 3 decoded spans counted %d, want 3", dropped)
	}
}

func TestQueueClosed(t *testing.T) {
	q := newQueue(2, 100)
	q.push(item{raw: []byte("a"), size: 1})
	q.close()
	if _, ok := q.push(item{raw: []byte("b"), size: 1}); ok {
		t.Errorf("push after close succeeded")
	}
	items, ok := q.pop(nil, 10)
	if !ok || len(items) != 1 {
		t.Errorf("pop after close: %d items, ok %v; want the one queued item", len(items), ok)
	}
	if _, ok := q.pop(nil, 10); ok {
		t.Errorf("pop on a closed, drained queue returned ok")
	}
}
