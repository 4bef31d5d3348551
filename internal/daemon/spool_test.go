package daemon

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

type dropCount struct{ records, segments map[string]int }

func newDropCount() *dropCount {
	return &dropCount{records: map[string]int{}, segments: map[string]int{}}
}

func (d *dropCount) onDrop(reason string, records, segments int) {
	d.records[reason] += records
	d.segments[reason] += segments
}

func payload(i int) []byte {
	return fmt.Appendf(nil, `{"TraceSegmentDocuments":["batch %06d %s"]}`, i, bytes.Repeat([]byte("x"), 1000))
}

// drain replays every record, committing each, and returns their payloads.
func drain(t *testing.T, s *spool) []string {
	t.Helper()
	var got []string
	for {
		p, segs, pos, ok := s.next(nil)
		if !ok {
			return got
		}
		got = append(got, string(p))
		s.commit(pos, segs)
	}
}

func TestSpoolOrderAndReopen(t *testing.T) {
	dir := t.TempDir()
	drops := newDropCount()
	s, err := openSpool(dir, 1<<20, drops.onDrop)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 300 {
		if _, err := s.append(payload(i), 3); err != nil {
			t.Fatal(err)
		}
		want = append(want, string(payload(i)))
	}
	if st := s.stats(); st.records != 300 || st.segments != 900 {
		t.Fatalf("stats = %+v, want 300 records, 900 segments", st)
	}
	// Replay a third, then stop: the rest must survive a restart.
	for range 100 {
		_, segs, pos, ok := s.next(nil)
		if !ok {
			t.Fatal("spool empty too early")
		}
		s.commit(pos, segs)
	}
	if _, err := openSpool(dir, 1<<20, nil); err == nil {
		t.Fatal("a second spool on the same directory was allowed")
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	s, err = openSpool(dir, 1<<20, drops.onDrop)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	got := drain(t, s)
	// At least once: replayed records of a file not yet finished come again.
	if len(got) < 200 {
		t.Fatalf("after reopen got %d records, want at least the 200 unreplayed", len(got))
	}
	tail := got[len(got)-200:]
	for i, g := range tail {
		if g != want[100+i] {
			t.Fatalf("record %d out of order: got %.40q, want %.40q", i, g, want[100+i])
		}
	}
	if len(drops.records) != 0 {
		t.Fatalf("drops = %v, want none", drops.records)
	}
	if st := s.stats(); st.records != 0 {
		t.Fatalf("after drain stats = %+v", st)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"+spoolExt))
	if len(files) != 0 {
		t.Fatalf("files left after a full replay: %v", files)
	}
}

// TestSpoolCap: past the cap, whole files go, oldest first, and every
// document in them is counted.
func TestSpoolCap(t *testing.T) {
	drops := newDropCount()
	const capBytes = 1 << 20
	s, err := openSpool(t.TempDir(), capBytes, drops.onDrop)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	const n = 5000
	for i := range n {
		if _, err := s.append(payload(i), 2); err != nil {
			t.Fatal(err)
		}
		if st := s.stats(); st.bytes > capBytes {
			t.Fatalf("after append %d the spool holds %d bytes, over the cap %d", i, st.bytes, capBytes)
		}
	}
	got := drain(t, s)
	if len(got)+drops.records[dropSpoolCap] != n {
		t.Fatalf("kept %d + dropped %d != appended %d", len(got), drops.records[dropSpoolCap], n)
	}
	if drops.segments[dropSpoolCap] != 2*drops.records[dropSpoolCap] {
		t.Fatalf("dropped segments %d, want 2 per dropped record (%d)", drops.segments[dropSpoolCap], drops.records[dropSpoolCap])
	}
	if len(got) < n/10 || len(got) > n/2 {
		t.Fatalf("kept %d of %d records under a 1 MiB cap, want the newest ~900", len(got), n)
	}
	// What is kept is the newest, in order.
	for i, g := range got {
		if want := string(payload(n - len(got) + i)); g != want {
			t.Fatalf("kept record %d = %.30q, want %.30q", i, g, want)
		}
	}
	if _, err := s.append(make([]byte, capBytes), 1); err == nil {
		t.Fatal("a batch larger than the cap was accepted")
	}
}

// TestSpoolTornTail: a record cut short by a crash ends its file; the
// records before it are replayed, the torn one counted as corrupt.
func TestSpoolTornTail(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		s.append(payload(i), 1)
	}
	s.close()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+spoolExt))
	if len(files) != 1 {
		t.Fatalf("files = %v", files)
	}
	fi, _ := os.Stat(files[0])
	if err := os.Truncate(files[0], fi.Size()-10); err != nil {
		t.Fatal(err)
	}
	drops := newDropCount()
	s, err = openSpool(dir, 1<<20, drops.onDrop)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if got := drain(t, s); len(got) != 9 {
		t.Fatalf("replayed %d records, want the 9 whole ones", len(got))
	}
	if drops.records[dropSpoolCorrupt] != 1 {
		t.Fatalf("corrupt drops = %v, want 1", drops.records)
	}
	// A flipped payload byte fails the CRC.
	dir2 := t.TempDir()
	s2, _ := openSpool(dir2, 1<<20, nil)
	s2.append(payload(1), 1)
	s2.append(payload(2), 1)
	s2.close()
	files, _ = filepath.Glob(filepath.Join(dir2, "*"+spoolExt))
	b, _ := os.ReadFile(files[0])
	b[spoolHeaderSize+recordHeaderSize+5] ^= 0xff
	os.WriteFile(files[0], b, 0o640)
	s2, err = openSpool(dir2, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.close()
	if got := drain(t, s2); len(got) != 0 {
		t.Fatalf("replayed %d records after a corrupt first record, want 0", len(got))
	}
}

// FuzzSpoolFile feeds arbitrary bytes as a spool file: opening and
// replaying it must not panic, and whatever is replayed has passed its CRC.
func FuzzSpoolFile(f *testing.F) {
	good := fileHeader()
	for i := range 3 {
		good = appendRecord(good, payload(i), i+1)
	}
	f.Add(good)
	f.Add(good[:len(good)-7])
	f.Add(fileHeader())
	f.Add([]byte("FLSP\x02\x00\x00\x00"))
	f.Add(append(fileHeader(), 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "00000000000000000001"+spoolExt), data, 0o640); err != nil {
			t.Fatal(err)
		}
		drops := newDropCount()
		s, err := openSpool(dir, 1<<20, drops.onDrop)
		if err != nil {
			t.Fatal(err)
		}
		defer s.close()
		before := s.stats()
		got := drain(t, s)
		if len(got) > before.records {
			t.Fatalf("replayed %d records, indexed %d", len(got), before.records)
		}
		// Appending after whatever was there still round-trips.
		if _, err := s.append([]byte("after"), 1); err != nil {
			t.Fatal(err)
		}
		if got := drain(t, s); len(got) != 1 || got[0] != "after" {
			t.Fatalf("after a fuzzed file, append then replay gave %q", got)
		}
	})
}

// FuzzReadRecord walks arbitrary bytes as records, in memory (fast, unlike
// FuzzSpoolFile which goes through files): no panic, and every record read
// encodes back to exactly the bytes it was read from.
func FuzzReadRecord(f *testing.F) {
	var good []byte
	for i := range 3 {
		good = appendRecord(good, payload(i), i+1)
	}
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(appendRecord(nil, nil, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var off int64
		var buf []byte
		for {
			p, segs, n, err := readRecord(r, off, int64(len(data)), buf)
			if err != nil {
				return
			}
			if again := appendRecord(nil, p, segs); !bytes.Equal(again, data[off:off+n]) {
				t.Fatalf("record at %d does not encode back to its bytes", off)
			}
			buf = p
			off += n
		}
	})
}
