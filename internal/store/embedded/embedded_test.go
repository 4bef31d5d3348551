package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/store/storetest"
)

// testOptions keep the engine small: the suite opens dozens of stores.
var testOptions = Options{CacheBytes: 8 << 20, MemTableBytes: 4 << 20}

func TestConformance(t *testing.T) {
	root := t.TempDir()
	storetest.Run(t, func(t *testing.T, name string) store.Store {
		s, err := Open(filepath.Join(root, t.Name(), name), testOptions)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestConformanceBlocks runs the suite with every finished trace moved to
// blocks after each write of summaries and spans: reads merge blocks with
// the live databases, and later spans of moved traces stay live.
func TestConformanceBlocks(t *testing.T) {
	root := t.TempDir()
	storetest.Run(t, func(t *testing.T, name string) store.Store {
		s, err := Open(filepath.Join(root, t.Name(), name), testOptions)
		if err != nil {
			t.Fatal(err)
		}
		return movingStore{s}
	})
}

// movingStore moves everything it can to blocks after every write.
type movingStore struct{ *Store }

func (m movingStore) move() error {
	_, err := m.MoveToBlocks(context.Background(), math.MaxUint32)
	return err
}

func (m movingStore) Append(ctx context.Context, spans []model.Span) error {
	if err := m.Store.Append(ctx, spans); err != nil {
		return err
	}
	return m.move()
}

func (m movingStore) PutSummaries(ctx context.Context, sums []model.Summary) error {
	if err := m.Store.PutSummaries(ctx, sums); err != nil {
		return err
	}
	return m.move()
}

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestFormatCheck(t *testing.T) {
	metaKey := append([]byte{prefixMeta}, "format"...)
	for _, kind := range []string{"spans", "index"} {
		magic := formatMagic + "-" + strings.ToUpper(kind)
		db := func(s *Store) *pebble.DB {
			if kind == "spans" {
				return s.spans
			}
			return s.index
		}
		check := func(name string, value []byte) {
			t.Helper()
			dir := t.TempDir()
			s := openTest(t, dir)
			if err := db(s).Set(metaKey, value, pebble.Sync); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(dir, testOptions)
			if err == nil {
				s2.Close()
				t.Errorf("%s %s: Open succeeded, want a format error", kind, name)
				return
			}
			if !strings.Contains(err.Error(), "format") {
				t.Errorf("%s %s: Open error %q does not mention the format", kind, name, err)
			}
			// The failed Open released the directory: the key can be repaired.
			pdb, err := pebble.Open(filepath.Join(dir, kind), &pebble.Options{Merger: spanMerger, Logger: quietLogger{}})
			if err != nil {
				t.Fatalf("%s %s: reopen with pebble after a failed Open: %v", kind, name, err)
			}
			pdb.Close()
		}
		check("next version", binary.BigEndian.AppendUint32([]byte(magic), formatVersion(kind)+1))
		check("version 0", binary.BigEndian.AppendUint32([]byte(magic), 0))
		check("other magic", binary.BigEndian.AppendUint32([]byte("FLUORO-POSTGRES"), formatVersion(kind)))
		check("truncated", []byte(magic))
		check("empty", nil)

		// A fresh store writes the format and opens again.
		dir := t.TempDir()
		s := openTest(t, dir)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openTest(t, dir)
		v, closer, err := db(s).Get(metaKey)
		if err != nil {
			t.Fatalf("read format key: %v", err)
		}
		if want := binary.BigEndian.AppendUint32([]byte(magic), formatVersion(kind)); string(v) != string(want) {
			t.Errorf("%s format key = %q, want %q", kind, v, want)
		}
		closer.Close()
	}
}

// TestSpanMerger feeds the merger every sequence of up to four writes of one
// span, in both directions Pebble may merge them: the result must be the last
// complete write, or the last write if none is complete.
func TestSpanMerger(t *testing.T) {
	complete := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0}
	open := []byte{flagInProgress, 0, 0, 0, 0, 0, 0, 0, 0}
	check := func(writes [][]byte) {
		t.Helper()
		want := writes[len(writes)-1]
		for _, w := range writes {
			if w[0]&flagInProgress == 0 {
				want = w
			}
		}
		last := len(writes) - 1
		// Oldest first: Merge the oldest, then MergeNewer.
		m, err := spanMerger.Merge(nil, writes[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range writes[1:] {
			if err := m.MergeNewer(w); err != nil {
				t.Fatal(err)
			}
		}
		got, _, err := m.Finish(true)
		if err != nil || string(got) != string(want) {
			t.Errorf("%q oldest first: got %q, %v; want %q", writes, got, err, want)
		}
		// Newest first: Merge the newest, then MergeOlder.
		m, err = spanMerger.Merge(nil, writes[last])
		if err != nil {
			t.Fatal(err)
		}
		for i := last - 1; i >= 0; i-- {
			if err := m.MergeOlder(writes[i]); err != nil {
				t.Fatal(err)
			}
		}
		got, _, err = m.Finish(true)
		if err != nil || string(got) != string(want) {
			t.Errorf("%q newest first: got %q, %v; want %q", writes, got, err, want)
		}
	}
	for n := 1; n <= 4; n++ {
		for bits := range 1 << n {
			writes := make([][]byte, n)
			for i := range writes {
				base := complete
				if bits&(1<<i) != 0 {
					base = open
				}
				writes[i] = append(bytes.Clone(base), byte('a'+i)) // distinct documents
			}
			check(writes)
		}
	}
}

// TestMergeAcrossFiles checks the replacement rule when the versions of a
// span sit in different memtables and files and meet in compactions.
func TestMergeAcrossFiles(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	tid := storetest.TraceID(1_767_225_600, 1)
	c1 := storetest.Span(tid, 1, 0, "complete-1")
	c2 := storetest.Span(tid, 1, 0, "complete-2")
	o1 := storetest.InProgress(storetest.Span(tid, 1, 0, "open-1"))
	o2 := storetest.InProgress(storetest.Span(tid, 1, 0, "open-2"))
	steps := []struct {
		span model.Span
		want model.Span
	}{{o1, o1}, {c1, c1}, {o2, c1}, {c2, c2}, {o1, c2}}
	for i, st := range steps {
		if err := s.Append(ctx, []model.Span{st.span}); err != nil {
			t.Fatal(err)
		}
		check := func(when string) {
			t.Helper()
			recs, err := s.Trace(ctx, tid)
			if err != nil {
				t.Fatal(err)
			}
			want := storetest.Record(st.want)
			if len(recs) != 1 || string(recs[0].Doc) != string(want.Doc) || recs[0].InProgress != want.InProgress {
				t.Errorf("step %d %s: got %+v, want %s", i, when, recs, want.Doc)
			}
		}
		check("in memtable")
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		check("after Flush")
		if i%2 == 1 {
			if err := s.Compact(); err != nil {
				t.Fatal(err)
			}
			check("after Compact")
		}
	}
}

// TestDeleteBeforeFreesDisk checks that retention gives disk space back
// without waiting for later writes.
//
// Pebble keeps a few obsolete WAL files for reuse, and DiskBytes counts them;
// a small memtable keeps them small beside the data.
func TestDeleteBeforeFreesDisk(t *testing.T) {
	s, err := Open(t.TempDir(), Options{CacheBytes: 8 << 20, MemTableBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	const epoch0, seconds, tracesPerSecond, spansPerTrace = 1_767_225_600, 100, 40, 10
	doc := make([]byte, 300)
	var sums []model.Summary
	for sec := range uint32(seconds) {
		var spans []model.Span
		for tr := range tracesPerSecond {
			tid := storetest.TraceID(epoch0+sec, rng.Uint64())
			for range spansPerTrace {
				sp := storetest.Span(tid, model.SpanID(rng.Uint64()), 0, "x")
				for j := range doc {
					doc[j] = 'a' + byte(rng.IntN(26)) // incompressible enough
				}
				sp.Doc = fmt.Appendf(nil, `{"id":%q,"pad":%q}`, sp.Root.ID, doc)
				spans = append(spans, sp)
			}
			sums = append(sums, storetest.SmallSummary(tid, tr))
		}
		if err := s.Append(ctx, spans); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutSummaries(ctx, sums); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	before := s.Stats().DiskBytes
	const dataBytes = seconds * tracesPerSecond * spansPerTrace * 300
	if before < dataBytes/2 {
		t.Fatalf("DiskBytes %d after writing %d bytes of documents", before, dataBytes)
	}
	// Keep the newest tenth.
	if err := s.DeleteBefore(ctx, epoch0+seconds*9/10); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	// Obsolete files are deleted in the background: poll.
	limit := before / 2
	deadline := time.Now().Add(10 * time.Second)
	after := s.Stats().DiskBytes
	for after > limit && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		after = s.Stats().DiskBytes
	}
	if after > limit {
		t.Errorf("DiskBytes after deleting 90%% of the data: %d, want at most %d (before: %d)", after, limit, before)
	}
	t.Logf("DiskBytes: %d before DeleteBefore, %d after", before, after)
}

// TestMigratePostings opens a store whose postings are in index format 1
// (bucketed by hour) and checks that Open re-keys them: every hinted scan
// finds what it found before, and no hour-keyed posting is left.
func TestMigratePostings(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	// Across an hour boundary, so the two forms differ in more than one bucket.
	ids := fillDemo(t, s, 3000, time.Unix(1_790_000_000/3600*3600-1, 0))
	want := readAll(t, s, ids)

	// Rewrite every posting key as format 1 wrote it.
	it, err := s.index.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixPosting}, UpperBound: []byte{prefixPosting + 1}})
	if err != nil {
		t.Fatal(err)
	}
	b := s.index.NewBatch()
	rewritten := 0
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		var tid model.TraceID
		copy(tid[:], k[len(k)-16:])
		old := binary.BigEndian.AppendUint32([]byte{prefixPosting}, tid.Epoch()/3600)
		old = append(append(old, k[5:len(k)-16]...), tid[:]...)
		if err := errors.Join(b.Delete(k, nil), b.Set(old, nil, nil)); err != nil {
			t.Fatal(err)
		}
		rewritten++
	}
	if err := errors.Join(it.Close(), b.Set(append([]byte{prefixMeta}, "format"...), formatValue("index", 1), nil), b.Commit(pebble.Sync)); err != nil {
		t.Fatal(err)
	}
	if rewritten < len(ids) {
		t.Fatalf("only %d posting keys for %d traces", rewritten, len(ids))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir)
	got := readAll(t, s, ids)
	for name, w := range want.scans {
		if fmt.Sprint(got.scans[name]) != fmt.Sprint(w) {
			t.Errorf("scan %q after migration: %d traces, want %d", name, len(got.scans[name]), len(w))
		}
	}
	first, last, ok, err := s.postingBuckets()
	if err != nil || !ok {
		t.Fatalf("postingBuckets: %v %v", ok, err)
	}
	if lo, hi := ids[0].Epoch()/postingBucket, ids[len(ids)-1].Epoch()/postingBucket; first != lo || last != hi {
		t.Errorf("posting buckets after migration: %d..%d, want %d..%d", first, last, lo, hi)
	}
}
