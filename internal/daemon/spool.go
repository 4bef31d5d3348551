package daemon

// The spool keeps batches the server could not take, on disk, until it can.
//
// On-disk format, version 1
//
// A spool is a directory of files named <20 decimal digits>.spool, replayed
// in name order (oldest first). Every file starts with an 8-byte header and
// holds records one after the other:
//
//	file header   "FLSP"            4 bytes, magic
//	              version uint16    little-endian, 1
//	              reserved uint16   0
//	record        length uint32     little-endian, bytes of payload (at most 64 MiB)
//	              segments uint32   little-endian, documents in the batch
//	              crc uint32        little-endian, CRC-32C (Castagnoli) of the segments
//	                                field's 4 bytes followed by the payload
//	              payload           one PutTraceSegments request body,
//	                                {"TraceSegmentDocuments":[...]}
//
// A record is appended with one write and never changed. A file whose
// header is wrong is skipped whole; in a good file, a record cut short (a
// crash mid-write), longer than the limit or failing its CRC ends the file:
// what follows is counted as corrupt and skipped. A new daemon process
// appends to a new file, so it never writes after a torn record.
//
// Replay is at-least-once: a record leaves the spool when the server has
// answered its call, and the read position is kept in memory only, so a
// daemon restarted mid-replay sends the oldest file's replayed records again.
// The server treats a document it already has as the same document.
//
// The spool's size is the bytes of its files. When an append takes it past
// the cap, whole files are dropped, oldest first, and their unreplayed
// records counted as dropped (reason spool_cap); files are at most an eighth
// of the cap, so at most about that much is dropped at once.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

const (
	spoolMagic       = "FLSP"
	spoolVersion     = 1
	spoolHeaderSize  = 8
	recordHeaderSize = 12
	maxRecordBytes   = 64 << 20
	spoolExt         = ".spool"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errRecordTooLarge is returned by append for a batch bigger than the cap.
var errRecordTooLarge = errors.New("batch is larger than the spool's cap")

// spoolFile is one file of the spool.
type spoolFile struct {
	seq      uint64
	f        *os.File // opened for reading (and, for the newest file, appended to)
	size     int64    // bytes in the file
	end      int64    // end of the readable records (size unless a torn tail)
	records  int      // records in [header, end)
	segments int
	readOff  int64 // next record to replay
	readRecs int   // records replayed (or skipped as corrupt)
	readSegs int
}

// spoolStats is what the spool holds.
type spoolStats struct {
	bytes    int64 // on disk
	records  int   // not yet replayed
	segments int
}

// spool is a FIFO of batches on disk. It is safe for concurrent use: any
// number of appenders, one replayer.
type spool struct {
	dir     string
	max     int64
	fileMax int64
	// onDrop is told of records dropped (cap, corruption) with their
	// documents; the documents of a corrupt tail are unknown (0).
	onDrop func(reason string, records, segments int)

	mu      sync.Mutex
	files   []*spoolFile // oldest first
	writing *spoolFile   // the file appended to; nil until the first append
	nextSeq uint64
	bytes   int64
	wbuf    []byte
	lock    *os.File
	notify  chan struct{}
	closed  bool
}

// openSpool opens (creating it if needed) the spool in dir, capped at max
// bytes, and indexes what earlier processes left in it. A second daemon on
// the same directory is refused.
func openSpool(dir string, maxBytes int64, onDrop func(reason string, records, segments int)) (*spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create spool directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	if onDrop == nil {
		onDrop = func(string, int, int) {}
	}
	s := &spool{dir: dir, max: maxBytes, fileMax: min(maxBytes/8, 64<<20), onDrop: onDrop, lock: lock, notify: make(chan struct{}, 1)}
	s.fileMax = max(s.fileMax, 64<<10)
	entries, err := os.ReadDir(dir)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("read spool directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, spoolExt) || e.IsDir() {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, spoolExt), 10, 64)
		if err != nil {
			continue
		}
		sf, err := s.index(seq)
		if err != nil {
			s.closeFiles()
			lock.Close()
			return nil, err
		}
		if sf == nil {
			continue
		}
		s.files = append(s.files, sf)
		s.bytes += sf.size
		s.nextSeq = max(s.nextSeq, seq+1)
	}
	slices.SortFunc(s.files, func(a, b *spoolFile) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	return s, nil
}

func (s *spool) path(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, spoolExt))
}

// index opens an existing file and counts its records. A file with a bad
// header, or no records, is removed (counted as corrupt if it had bytes).
func (s *spool) index(seq uint64) (*spoolFile, error) {
	f, err := os.Open(s.path(seq))
	if err != nil {
		return nil, fmt.Errorf("open spool file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat spool file: %w", err)
	}
	sf := &spoolFile{seq: seq, f: f, size: fi.Size()}
	if checkFileHeader(f) != nil {
		f.Close()
		if sf.size > 0 {
			s.onDrop(dropSpoolCorrupt, 1, 0)
		}
		os.Remove(s.path(seq))
		return nil, nil
	}
	off := int64(spoolHeaderSize)
	var buf []byte
	for {
		p, segs, n, err := readRecord(f, off, sf.size, buf)
		if err != nil {
			break
		}
		buf = p
		sf.records++
		sf.segments += segs
		off += n
	}
	sf.end, sf.readOff = off, spoolHeaderSize
	if sf.end < sf.size {
		s.onDrop(dropSpoolCorrupt, 1, 0)
	}
	if sf.records == 0 {
		f.Close()
		os.Remove(s.path(seq))
		return nil, nil
	}
	return sf, nil
}

func checkFileHeader(r io.ReaderAt) error {
	var h [spoolHeaderSize]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return fmt.Errorf("read spool header: %w", err)
	}
	if string(h[:4]) != spoolMagic {
		return errors.New("spool file has no FLSP magic")
	}
	if v := binary.LittleEndian.Uint16(h[4:]); v != spoolVersion {
		return fmt.Errorf("spool file version %d, want %d", v, spoolVersion)
	}
	return nil
}

// readRecord reads the record at off, which must end by end, into buf (grown
// as needed) and returns the payload, its document count and the record's
// length on disk. Any problem — cut short, too long, CRC mismatch — is an
// error: the caller treats the rest of the file as corrupt.
func readRecord(r io.ReaderAt, off, end int64, buf []byte) (payload []byte, segments int, n int64, err error) {
	var h [recordHeaderSize]byte
	if end-off < recordHeaderSize {
		return nil, 0, 0, io.ErrUnexpectedEOF
	}
	if _, err := r.ReadAt(h[:], off); err != nil {
		return nil, 0, 0, fmt.Errorf("read record header: %w", err)
	}
	length := int64(binary.LittleEndian.Uint32(h[0:]))
	segs := binary.LittleEndian.Uint32(h[4:])
	sum := binary.LittleEndian.Uint32(h[8:])
	if length > maxRecordBytes {
		return nil, 0, 0, fmt.Errorf("record of %d bytes is longer than %d", length, maxRecordBytes)
	}
	if end-off-recordHeaderSize < length {
		return nil, 0, 0, io.ErrUnexpectedEOF
	}
	if int64(cap(buf)) < length {
		buf = make([]byte, length)
	}
	buf = buf[:length]
	if _, err := r.ReadAt(buf, off+recordHeaderSize); err != nil {
		return nil, 0, 0, fmt.Errorf("read record: %w", err)
	}
	crc := crc32.Update(crc32.Update(0, castagnoli, h[4:8]), castagnoli, buf)
	if crc != sum {
		return nil, 0, 0, errors.New("record checksum mismatch")
	}
	return buf, int(segs), recordHeaderSize + length, nil
}

// appendRecord appends a record to dst.
func appendRecord(dst, payload []byte, segments int) []byte {
	var h [recordHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[4:], uint32(segments))
	crc := crc32.Update(crc32.Update(0, castagnoli, h[4:8]), castagnoli, payload)
	binary.LittleEndian.PutUint32(h[8:], crc)
	dst = append(dst, h[:]...)
	return append(dst, payload...)
}

func fileHeader() []byte {
	h := make([]byte, spoolHeaderSize)
	copy(h, spoolMagic)
	binary.LittleEndian.PutUint16(h[4:], spoolVersion)
	return h
}

// append writes a batch of segments documents at the tail. It returns the
// bytes written; on error nothing was added.
func (s *spool) append(payload []byte, segments int) (int, error) {
	rec := int64(recordHeaderSize + len(payload))
	if len(payload) > maxRecordBytes || rec+spoolHeaderSize > s.max {
		return 0, errRecordTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errors.New("spool is closed")
	}
	if s.writing == nil || s.writing.size+rec > s.fileMax {
		if err := s.rotate(); err != nil {
			return 0, err
		}
	}
	w := s.writing
	s.wbuf = appendRecord(s.wbuf[:0], payload, segments)
	if _, err := w.f.WriteAt(s.wbuf, w.size); err != nil {
		// A partial write is past w.end and never read; the next append
		// starts a new file so nothing follows it.
		s.writing = nil
		return 0, fmt.Errorf("write spool: %w", err)
	}
	if cap(s.wbuf) > 4<<20 {
		s.wbuf = nil
	}
	w.size += rec
	w.end = w.size
	w.records++
	w.segments += segments
	s.bytes += rec
	for s.bytes > s.max && len(s.files) > 1 {
		s.dropOldest(dropSpoolCap)
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return int(rec), nil
}

// rotate starts a new file for appends. s.mu is held.
func (s *spool) rotate() error {
	seq := s.nextSeq
	f, err := os.OpenFile(s.path(seq), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("create spool file: %w", err)
	}
	if _, err := f.Write(fileHeader()); err != nil {
		f.Close()
		os.Remove(s.path(seq))
		return fmt.Errorf("write spool header: %w", err)
	}
	s.nextSeq++
	sf := &spoolFile{seq: seq, f: f, size: spoolHeaderSize, end: spoolHeaderSize, readOff: spoolHeaderSize}
	s.files = append(s.files, sf)
	s.writing = sf
	s.bytes += spoolHeaderSize
	return nil
}

// dropOldest removes the oldest file, counting what it had not replayed
// under reason (nothing when reason is ""). s.mu is held.
func (s *spool) dropOldest(reason string) {
	sf := s.files[0]
	s.files = s.files[1:]
	if sf == s.writing {
		s.writing = nil
	}
	if reason != "" {
		s.onDrop(reason, sf.records-sf.readRecs, sf.segments-sf.readSegs)
	}
	s.bytes -= sf.size
	sf.f.Close()
	os.Remove(s.path(sf.seq))
}

// spoolPos names a record handed out by next, for commit.
type spoolPos struct {
	seq uint64
	off int64
	n   int64 // the record's length on disk
}

// next reads the oldest unreplayed record into buf. ok is false when the
// spool is empty. Corrupt records met on the way are counted and skipped.
// The record stays in the spool until commit(pos).
func (s *spool) next(buf []byte) (payload []byte, segments int, pos spoolPos, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.files) > 0 {
		sf := s.files[0]
		if sf.readOff < sf.end {
			p, segs, n, err := readRecord(sf.f, sf.readOff, sf.end, buf)
			if err == nil {
				return p, segs, spoolPos{sf.seq, sf.readOff, n}, true
			}
			// The rest of the file cannot be trusted.
			s.onDrop(dropSpoolCorrupt, sf.records-sf.readRecs, sf.segments-sf.readSegs)
			sf.readOff, sf.readRecs, sf.readSegs = sf.end, sf.records, sf.segments
		}
		if sf == s.writing {
			// Everything appended so far is replayed: start over so the
			// file does not grow for ever.
			s.dropOldest("")
			return nil, 0, spoolPos{}, false
		}
		s.dropOldest("")
	}
	return nil, 0, spoolPos{}, false
}

// commit removes the record at pos, handed out by next, from the spool. A
// record already dropped (past the cap) is ignored.
func (s *spool) commit(pos spoolPos, segments int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.files) == 0 || s.files[0].seq != pos.seq || s.files[0].readOff != pos.off {
		return
	}
	sf := s.files[0]
	sf.readOff += pos.n
	sf.readRecs++
	sf.readSegs += segments
	if sf.readOff >= sf.end && sf.readRecs >= sf.records {
		if sf == s.writing {
			s.writing = nil
		}
		s.files = s.files[1:]
		s.bytes -= sf.size
		sf.f.Close()
		os.Remove(s.path(sf.seq))
	}
}

func (s *spool) stats() spoolStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := spoolStats{bytes: s.bytes}
	for _, sf := range s.files {
		st.records += sf.records - sf.readRecs
		st.segments += sf.segments - sf.readSegs
	}
	return st
}

// empty reports whether every record has been replayed.
func (s *spool) empty() bool { return s.stats().records == 0 }

// close releases the files; what is unreplayed stays on disk for the next
// process.
func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.writing != nil {
		errs = append(errs, s.writing.f.Sync())
	}
	s.closeFiles()
	errs = append(errs, s.lock.Close())
	return errors.Join(errs...)
}

func (s *spool) closeFiles() {
	for _, sf := range s.files {
		sf.f.Close()
	}
}
