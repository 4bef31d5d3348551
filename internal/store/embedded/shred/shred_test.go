package shred

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/fluoro-dev/fluoro/internal/demo"
)

var flagLevel = flag.String("shred.level", "better", "zstd level of BenchmarkPageSize: fastest, default, better, best")

type doc struct {
	ctx Context
	b   []byte
}

// demoDocs returns n traces of demo documents with their header context,
// as the store would pass them.
func demoDocs(t testing.TB, traces int) (docs []doc, spans int) {
	g := demo.NewGenerator(1, demo.GeneratorOptions{})
	start := time.Unix(1_767_225_600, 0)
	for i := range traces {
		tr := g.Trace(start.Add(time.Duration(i) * 3 * time.Millisecond))
		spans += tr.Spans
		for _, d := range tr.Docs {
			docs = append(docs, doc{ctx: header(t, d), b: bytes.Clone(d)})
		}
	}
	return docs, spans
}

func header(t testing.TB, d []byte) Context {
	var h struct {
		TraceID  string `json:"trace_id"`
		ID       string `json:"id"`
		ParentID string `json:"parent_id"`
	}
	if err := json.Unmarshal(d, &h); err != nil {
		t.Fatalf("%v: %s", err, d)
	}
	var c Context
	c.Trace, _ = parseTraceID([]byte(h.TraceID))
	c.ID = parseHex8([]byte(h.ID))
	c.Parent = parseHex8([]byte(h.ParentID))
	return c
}

func roundTrip(t testing.TB, docs []doc) []byte {
	t.Helper()
	w := NewWriter()
	for _, d := range docs {
		w.Add(d.ctx, d.b)
	}
	page := w.AppendTo(nil)
	r, err := NewReader(page)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != len(docs) {
		t.Fatalf("Len %d, want %d", r.Len(), len(docs))
	}
	var out []byte
	for i, d := range docs {
		out, err = r.Next(out[:0], d.ctx)
		if err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		if !bytes.Equal(out, d.b) {
			t.Fatalf("doc %d:\n got %s\nwant %s", i, out, d.b)
		}
	}
	return page
}

func TestRoundTripDemo(t *testing.T) {
	docs, _ := demoDocs(t, 300)
	roundTrip(t, docs)
}

func TestRoundTripEdgeCases(t *testing.T) {
	tid, _ := parseTraceID([]byte("1-5f84c7a5-0123456789abcdef01234567"))
	ctx := Context{Trace: tid, ID: 0x0123456789abcdef, Parent: 0xfedcba9876543210}
	cases := []string{
		`{}`, `[]`, `"x"`, `1`, `-0`, `null`, `true`, `[1,2.50,-3e+7,0.1,1E5]`,
		`{"trace_id":"1-5f84c7a5-0123456789abcdef01234567","id":"0123456789abcdef","parent_id":"fedcba9876543210"}`,
		`{"trace_id":"1-5f84c7a5-0123456789abcdef01234568","id":"0123456789abcdee","parent_id":"FEDCBA9876543210"}`,
		`{"id": "0123456789abcdef", "start_time": 1767225600.123456, "end_time": 1767225600.5, "subsegments": [{"start_time": 1767225600.2, "end_time": 1767225600}]}`,
		`{"start_time":1767225600.1234567,"end_time":1767225599.000000001,"x":{"end_time":12,"start_time":01}}`,
		`{"start_time":1.7e9,"end_time":17672256001234.5,"in_progress":true,"n":-12,"m":007}`,
		`{"a":"\u00e9\"\\\/\b\f\n\r\t","b":"é","c":"</script>&amp;","d":"0123456789ABCDEF0123456789ABCDEF"}`,
		`{"u":"123e4567-e89b-12d3-a456-426614174000","U":"123E4567-E89B-12D3-A456-426614174000","mix":"123e4567-E89B-12d3-a456-426614174000","n":"12345678-1234-1234-1234-123456789012"}`,
		`{"k":{"k":{"k":[[[{"k":[]}]]]}}}`, `{"a":1,"a":2}`, `{"":""}`,
		`{ "spaces": 1 }`, `{"a":1} `, `{"a":1,"b":2, "c":3}`, `{"a": 1,"b": 2}`, `{"a":1`, `{"a":tru}`, "{\"a\":\"\x01\"}",
		`{"sql":{"url":"postgres://db:5432/orders","sanitized_query":"SELECT * FROM t WHERE id = $1"}}`,
	}
	var docs []doc
	for _, c := range cases {
		docs = append(docs, doc{ctx, []byte(c)})
	}
	roundTrip(t, docs)
	// Every case alone too: each starts a page with no previous start time.
	for _, d := range docs {
		roundTrip(t, []doc{d})
	}
}

func TestManyPaths(t *testing.T) {
	var docs []doc
	for i := range 6000 {
		docs = append(docs, doc{b: fmt.Appendf(nil, `{"metadata":{"k%d":{"v":%d,"w":[{"k%d":"x"}]}}}`, i, i, i)})
	}
	roundTrip(t, docs)
}

func TestCorruptPages(t *testing.T) {
	docs, _ := demoDocs(t, 20)
	page := roundTrip(t, docs)
	for i := 0; i < len(page); i += 7 {
		bad := bytes.Clone(page)
		bad[i] ^= 0x5a
		decodeAll(bad, docs)
		decodeAll(page[:i], docs)
	}
}

// decodeAll decodes what it can of a possibly corrupt page; it must never
// panic or loop.
func decodeAll(page []byte, docs []doc) {
	r, err := NewReader(page)
	if err != nil {
		return
	}
	var out []byte
	for i := range r.Len() {
		ctx := Context{}
		if i < len(docs) {
			ctx = docs[i].ctx
		}
		if out, err = r.Next(out[:0], ctx); err != nil {
			return
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte(`{"trace_id":"1-5f84c7a5-0123456789abcdef01234567","id":"0123456789abcdef","start_time":1.5,"end_time":2}`), uint64(0x0123456789abcdef))
	f.Add([]byte(`{"a": [1, {"b": "c"}], "start_time": 1767225600.123}`), uint64(1))
	f.Fuzz(func(t *testing.T, b []byte, id uint64) {
		ctx := Context{ID: id, Parent: id >> 1}
		binary.BigEndian.PutUint64(ctx.Trace[:], id)
		roundTrip(t, []doc{{ctx, b}, {ctx, b}})
	})
}

func FuzzReader(f *testing.F) {
	docs, _ := demoDocs(f, 3)
	w := NewWriter()
	for _, d := range docs {
		w.Add(d.ctx, d.b)
	}
	f.Add(w.AppendTo(nil))
	f.Fuzz(func(t *testing.T, page []byte) { decodeAll(page, docs) })
}

// BenchmarkPageSize reports the bytes per span of demo traces, shredded
// and compressed with zstd, by the number of traces per page.
func BenchmarkPageSize(b *testing.B) {
	docs, spans := demoDocs(b, 4096)
	var raw int
	for _, d := range docs {
		raw += len(d.b)
	}
	_, level := zstd.EncoderLevelFromString(*flagLevel)
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1))
	for _, per := range []int{64, 256, 512, 1024, 4096} {
		b.Run(fmt.Sprint(per), func(b *testing.B) {
			// docs per page: split the documents evenly by trace count.
			perDocs := len(docs) * per / 4096
			var total, plain int
			for b.Loop() {
				total, plain = 0, 0
				for i := 0; i < len(docs); i += perDocs {
					w := NewWriter()
					var js []byte
					for _, d := range docs[i:min(i+perDocs, len(docs))] {
						w.Add(d.ctx, d.b)
						js = append(js, d.b...)
					}
					total += len(enc.EncodeAll(w.AppendTo(nil), nil))
					plain += len(enc.EncodeAll(js, nil))
				}
			}
			b.ReportMetric(float64(total)/float64(spans), "B/span")
			b.ReportMetric(float64(plain)/float64(spans), "json-B/span")
			b.ReportMetric(float64(raw)/float64(spans), "raw-B/span")
		})
	}
}

// BenchmarkRead decodes every document of a page of 256 demo traces; the
// bytes are those of the documents rebuilt.
func BenchmarkRead(b *testing.B) {
	docs, spans := demoDocs(b, 256)
	w := NewWriter()
	var raw int
	for _, d := range docs {
		w.Add(d.ctx, d.b)
		raw += len(d.b)
	}
	page := w.AppendTo(nil)
	b.SetBytes(int64(raw))
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		r, err := NewReader(page)
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range docs {
			if out, err = r.Next(out[:0], d.ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(spans), "ns/span")
}

// BenchmarkWrite shreds the documents of 256 demo traces into a page.
func BenchmarkWrite(b *testing.B) {
	docs, _ := demoDocs(b, 256)
	var raw int
	for _, d := range docs {
		raw += len(d.b)
	}
	b.SetBytes(int64(raw))
	b.ReportAllocs()
	w := NewWriter()
	var page []byte
	for b.Loop() {
		w.Reset()
		for _, d := range docs {
			w.Add(d.ctx, d.b)
		}
		page = w.AppendTo(page[:0])
	}
}
