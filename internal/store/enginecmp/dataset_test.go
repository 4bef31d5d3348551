package enginecmp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/model"
)

var (
	flagSpans   = flag.Int("enginecmp.spans", 1_500_000, "spans in the benchmark data set")
	flagSeed    = flag.Int64("enginecmp.seed", 1, "seed of the demo generator")
	flagFetches = flag.Int("enginecmp.fetches", 20_000, "trace fetches timed per fetch phase")
	flagDir     = flag.String("enginecmp.dir", "", "directory for the data set file and the engines' directories (default: the test temp dir)")
)

const (
	spanPrefix    = 0x01
	summaryPrefix = 0x02
	spanKeyLen    = 1 + 16 + 8
	summaryKeyLen = 1 + 16
	// dataSpan is the wall-clock time the data set's trace start times cover.
	dataSpan = 24 * time.Hour
	// inFlight is how many traces have their documents interleaved in the
	// ingest order, as a collector receiving concurrent requests would see.
	inFlight = 16
	// batchBytes is the size of document bytes after which a write batch is
	// cut: about 1000 spans of the demo workload (~320 bytes a span).
	batchBytes = 320_000
)

var dataEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// dataset is a generated workload written to a file of records in ingest
// order; engines replay it from there so that generating and parsing JSON
// costs nothing in the timed ingest and holds no memory.
//
// A span is a segment or subsegment, embedded or not (demo.Trace.Spans); a
// document is what one key holds: a segment with its embedded subsegments,
// or an independent subsegment.
type dataset struct {
	path      string
	spans     int
	docs      int
	summaries int
	docBytes  int64       // sum of document lengths
	traces    []traceInfo // in start order
}

type traceInfo struct {
	id   model.TraceID
	keys int // distinct span keys: documents less in-progress versions
}

var (
	datasetMu    sync.Mutex
	datasetCache = map[int]*dataset{}
)

// workDir is where data set files and engine directories go: -enginecmp.dir
// or the test's temp dir.
func workDir(tb testing.TB) string {
	if *flagDir != "" {
		d, err := os.MkdirTemp(*flagDir, "enginecmp-")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return tb.TempDir()
}

// getDataset returns the data set of n spans, generating it on first use.
// The file lives in a directory removed by TestMain.
func getDataset(tb testing.TB, n int) *dataset {
	datasetMu.Lock()
	defer datasetMu.Unlock()
	if ds, ok := datasetCache[n]; ok {
		return ds
	}
	dir := sharedDir(tb)
	t0 := time.Now()
	ds, err := writeDataset(filepath.Join(dir, fmt.Sprintf("dataset-%d.bin", n)), n, *flagSeed)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("data set: %d spans in %d documents of %d traces, %.0f B/span and %.0f B/document of JSON, generated in %v",
		ds.spans, ds.docs, len(ds.traces), float64(ds.docBytes)/float64(ds.spans), float64(ds.docBytes)/float64(ds.docs),
		time.Since(t0).Round(time.Millisecond))
	datasetCache[n] = ds
	return ds
}

var (
	sharedDirOnce sync.Once
	sharedDirPath string
	sharedDirErr  error
)

func sharedDir(tb testing.TB) string {
	sharedDirOnce.Do(func() {
		sharedDirPath, sharedDirErr = os.MkdirTemp(*flagDir, "enginecmp-data-")
	})
	if sharedDirErr != nil {
		tb.Fatal(sharedDirErr)
	}
	return sharedDirPath
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if sharedDirPath != "" {
		os.RemoveAll(sharedDirPath)
	}
	os.Exit(code)
}

// docFields is what the harness reads from a span document: the key fields,
// and enough of the root segment to build a summary of realistic size.
type docFields struct {
	TraceID   string  `json:"trace_id"`
	ID        string  `json:"id"`
	ParentID  string  `json:"parent_id"`
	Name      string  `json:"name"`
	StartTime float64 `json:"start_time"`
	EndTime   float64 `json:"end_time"`
	Fault     bool    `json:"fault"`
	Error     bool    `json:"error"`
	HTTP      struct {
		Request struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
		Response struct {
			Status int `json:"status"`
		} `json:"response"`
	} `json:"http"`
}

// summaryDoc stands in for the store's trace summary (~170 bytes of JSON).
type summaryDoc struct {
	Start    float64  `json:"s"`
	Duration float64  `json:"d"`
	Root     string   `json:"r"`
	Method   string   `json:"m,omitempty"`
	URL      string   `json:"u,omitempty"`
	Status   int      `json:"c,omitempty"`
	Fault    bool     `json:"f,omitempty"`
	Error    bool     `json:"e,omitempty"`
	Spans    int      `json:"n"`
	Services []string `json:"v"`
}

type pendingTrace struct {
	id       model.TraceID
	docs     [][]byte
	keys     [][spanKeyLen]byte
	distinct int
	sum      summaryDoc
	next     int
}

// writeDataset generates traces until n spans exist and writes them as
// records: key, uvarint value length, value. Span values are a 1-byte header
// followed by the document.
func writeDataset(path string, n int, seed int64) (*dataset, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create data set: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	ds := &dataset{path: path}
	gen := demo.NewGenerator(seed, demo.GeneratorOptions{})
	var scratch []byte
	put := func(key, val []byte, header bool) {
		w.Write(key)
		l := len(val)
		if header {
			l++
		}
		scratch = binary.AppendUvarint(scratch[:0], uint64(l))
		w.Write(scratch)
		if header {
			w.WriteByte(0)
		}
		w.Write(val)
	}
	for ds.spans < n {
		// Generate a group of traces, then interleave their documents.
		group := make([]*pendingTrace, 0, inFlight)
		for len(group) < inFlight && ds.spans < n {
			start := dataEpoch.Add(time.Duration(float64(dataSpan) * float64(ds.spans) / float64(n)))
			tr := gen.Trace(start)
			pt, err := parseTrace(tr)
			if err != nil {
				return nil, err
			}
			group = append(group, pt)
			ds.spans += tr.Spans
			ds.docs += len(pt.docs)
			ds.traces = append(ds.traces, traceInfo{id: pt.id, keys: pt.distinct})
		}
		for left := true; left; {
			left = false
			for _, pt := range group {
				if pt.next == len(pt.docs) {
					continue
				}
				left = true
				put(pt.keys[pt.next][:], pt.docs[pt.next], true)
				ds.docBytes += int64(len(pt.docs[pt.next]))
				pt.next++
				if pt.next == len(pt.docs) {
					sum, err := json.Marshal(pt.sum)
					if err != nil {
						return nil, err
					}
					var key [summaryKeyLen]byte
					key[0] = summaryPrefix
					copy(key[1:], pt.id[:])
					put(key[:], sum, false)
					ds.summaries++
				}
			}
		}
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("write data set: %w", err)
	}
	return ds, f.Close()
}

// parseTrace reads the keys and a summary from a generated trace. It copies
// the documents, which the generator reuses.
func parseTrace(tr demo.Trace) (*pendingTrace, error) {
	pt := &pendingTrace{keys: make([][spanKeyLen]byte, len(tr.Docs))}
	services := map[string]bool{}
	seen := map[model.SpanID]bool{}
	for i, doc := range tr.Docs {
		doc = bytes.Clone(doc)
		pt.docs = append(pt.docs, doc)
		var d docFields
		if err := json.Unmarshal(doc, &d); err != nil {
			return nil, fmt.Errorf("parse document: %w", err)
		}
		tid, err := model.ParseTraceID(d.TraceID)
		if err != nil {
			return nil, fmt.Errorf("parse document trace_id %q: %w", d.TraceID, err)
		}
		sid, err := model.ParseSpanID(d.ID)
		if err != nil {
			return nil, fmt.Errorf("parse document id %q: %w", d.ID, err)
		}
		if i == 0 {
			pt.id = tid
		} else if tid != pt.id {
			return nil, errors.New("trace's documents carry different trace ids")
		}
		if !seen[sid] {
			seen[sid] = true
			pt.distinct++
		}
		k := &pt.keys[i]
		k[0] = spanPrefix
		copy(k[1:17], tid[:])
		binary.BigEndian.PutUint64(k[17:], uint64(sid))
		if d.ParentID == "" || i == 0 && pt.sum.Root == "" {
			pt.sum.Root = d.Name
			pt.sum.Start = d.StartTime
			pt.sum.Duration = d.EndTime - d.StartTime
			pt.sum.Method = d.HTTP.Request.Method
			pt.sum.URL = d.HTTP.Request.URL
			pt.sum.Status = d.HTTP.Response.Status
		}
		pt.sum.Fault = pt.sum.Fault || d.Fault
		pt.sum.Error = pt.sum.Error || d.Error
		if !services[d.Name] && len(services) < 8 {
			services[d.Name] = true
			pt.sum.Services = append(pt.sum.Services, d.Name)
		}
	}
	pt.sum.Spans = tr.Spans
	return pt, nil
}

// record is one key/value of the data set; its slices are valid until the
// next call of the reader.
type record struct {
	key, val []byte
}

// replay calls fn with batches of records holding about batchBytes of
// documents each, in ingest order. The batch is valid only during the call.
func (ds *dataset) replay(fn func(batch []record) error) error {
	f, err := os.Open(ds.path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var (
		buf  = make([]byte, 0, 1<<20)
		recs []record
		size int
	)
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		err := fn(recs)
		buf, recs, size = buf[:0], recs[:0], 0
		return err
	}
	for {
		kind, err := r.ReadByte()
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return err
		}
		klen := summaryKeyLen
		if kind == spanPrefix {
			klen = spanKeyLen
		}
		if cap(buf)-len(buf) < 64<<10 {
			// Start a new buffer: the old one is still referenced by recs.
			buf = make([]byte, 0, max(1<<20, 2*cap(buf)))
		}
		start := len(buf)
		buf = append(buf, kind)
		buf = buf[:start+klen]
		if _, err := io.ReadFull(r, buf[start+1:]); err != nil {
			return err
		}
		vlen, err := binary.ReadUvarint(r)
		if err != nil {
			return err
		}
		if int(vlen) > cap(buf)-len(buf) {
			buf = append(buf, make([]byte, vlen)...)
		} else {
			buf = buf[:len(buf)+int(vlen)]
		}
		if _, err := io.ReadFull(r, buf[start+klen:]); err != nil {
			return err
		}
		recs = append(recs, record{key: buf[start : start+klen], val: buf[start+klen:]})
		size += int(vlen)
		if size >= batchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

func (ds *dataset) epochAt(frac float64) uint32 {
	return ds.traces[int(frac*float64(len(ds.traces)))].id.Epoch()
}

func spanPrefixOf(id model.TraceID) [summaryKeyLen]byte {
	var p [summaryKeyLen]byte
	p[0] = spanPrefix
	copy(p[1:], id[:])
	return p
}

// timeKey returns prefix followed by epoch: the smallest key of that second.
func timeKey(prefix byte, epoch uint32) []byte {
	k := []byte{prefix, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(k[1:], epoch)
	return k
}
