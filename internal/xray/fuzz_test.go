package xray

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// seedDocuments returns the documents under testdata/documents and those
// of the trace package's golden cases.
func seedDocuments(tb testing.TB) [][]byte {
	tb.Helper()
	var docs [][]byte
	paths, _ := filepath.Glob(filepath.Join("testdata", "documents", "*.json"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		docs = append(docs, b)
	}
	cases, _ := filepath.Glob(filepath.Join("..", "trace", "testdata", "*.json"))
	for _, p := range cases {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		var c struct{ Documents []json.RawMessage }
		if err := json.Unmarshal(b, &c); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		for _, d := range c.Documents {
			var buf bytes.Buffer
			if json.Compact(&buf, d) == nil {
				docs = append(docs, buf.Bytes())
			}
		}
	}
	if len(docs) == 0 {
		tb.Fatal("no seed documents")
	}
	return docs
}

// FuzzDecode: Decode never panics, rejects with a *DocError and no spans,
// and what it accepts is sound: valid JSON, ids set, times and annotation
// numbers finite, times ordered, Doc taken from the input (for an array
// document, each element re-serialised on its own), and Doc decoding to the
// same span again.
func FuzzDecode(f *testing.F) {
	for _, d := range seedDocuments(f) {
		f.Add(d)
	}
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(nested(70)))
	f.Fuzz(func(t *testing.T, doc []byte) {
		input := bytes.Clone(doc)
		spans, err := Decode(doc)
		if !bytes.Equal(doc, input) {
			t.Fatal("Decode modified its input")
		}
		if err != nil {
			var de *DocError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DocError", err, err)
			}
			if de.Code == "" || de.Message == "" {
				t.Fatalf("DocError %+v lacks a code or message", de)
			}
			if spans != nil {
				t.Fatalf("%d spans returned with error %v", len(spans), err)
			}
			return
		}
		if len(spans) == 0 {
			t.Fatal("no spans and no error")
		}
		if !json.Valid(doc) {
			t.Fatal("accepted a document that is not valid JSON")
		}
		isArray := bytes.HasPrefix(bytes.TrimSpace(doc), []byte("["))
		for i := range spans {
			s := &spans[i]
			if s.TraceID.IsZero() {
				t.Fatalf("span %d has the zero trace id", i)
			}
			s.Root.Walk(func(e *model.Entity, depth int) {
				if e.ID == 0 {
					t.Fatalf("span %d: entity with id 0", i)
				}
				if math.IsInf(e.Start, 0) || math.IsInf(e.End, 0) || math.IsNaN(e.Start) || math.IsNaN(e.End) {
					t.Fatalf("span %d entity %s: start %v, end %v", i, e.ID, e.Start, e.End)
				}
				if !e.InProgress && e.Start > e.End {
					t.Fatalf("span %d entity %s (depth %d): start %v after end %v", i, e.ID, depth, e.Start, e.End)
				}
				if e.InProgress && e.End != 0 {
					t.Fatalf("span %d entity %s: in progress with end %v", i, e.ID, e.End)
				}
				if e.Name == "" || checkName(e.Name) != "" {
					t.Fatalf("span %d entity %s: name %q accepted", i, e.ID, e.Name)
				}
				for _, a := range e.Annotations {
					if a.Value.Kind == model.Number && (math.IsInf(a.Value.Num, 0) || math.IsNaN(a.Value.Num)) {
						t.Fatalf("span %d entity %s: annotation %q = %v", i, e.ID, a.Key, a.Value.Num)
					}
				}
			})
			if s.Independent && s.Root.ParentID == 0 {
				t.Fatalf("span %d: independent subsegment without a parent", i)
			}
			switch {
			case isArray:
				if !json.Valid(s.Doc) || !bytes.HasPrefix(s.Doc, []byte("{")) {
					t.Fatalf("span %d of an array: Doc %.120q is not one JSON object", i, s.Doc)
				}
			case !within(s.Doc, doc):
				t.Fatalf("span %d: Doc does not lie within the input", i)
			}
			again, err := Decode(s.Doc)
			if err != nil {
				t.Fatalf("span %d: Decode(Doc): %v", i, err)
			}
			found := false
			for j := range again {
				a := again[j]
				a.Doc = s.Doc
				if reflect.DeepEqual(&a, s) {
					found = true
				}
			}
			if !found {
				t.Fatalf("span %d: decoding its Doc again gives another span", i)
			}
		}
	})
}

// FuzzSplitDatagram: SplitDatagram never panics, refuses with one of its
// three errors, and returns a non-empty, trimmed body from inside the
// datagram after a valid header line. The body then goes through Decode,
// as at ingest.
func FuzzSplitDatagram(f *testing.F) {
	for _, d := range seedDocuments(f) {
		f.Add(append([]byte("{\"format\": \"json\", \"version\": 1}\n"), d...))
		f.Add(append([]byte("{\"format\":\"json\",\"version\":1}\n"), d...))
	}
	f.Add([]byte("{ \"version\" : 1, \"format\" : \"json\" }\r\n{}"))
	f.Add([]byte("{\"format\":\"json\",\"version\":2}\n{}"))
	f.Add([]byte("{\"format\":\"json\",\"version\":1}\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		body, err := SplitDatagram(b)
		if err != nil {
			if !errors.Is(err, ErrNoHeader) && !errors.Is(err, ErrBadHeader) && !errors.Is(err, ErrNoBody) {
				t.Fatalf("unexpected error %v", err)
			}
			if body != nil {
				t.Fatalf("body %q returned with error %v", body, err)
			}
			return
		}
		if len(body) == 0 {
			t.Fatal("empty body without error")
		}
		if !within(body, b) {
			t.Fatal("body does not lie within the datagram")
		}
		if !bytes.Equal(body, bytes.TrimSpace(body)) {
			t.Fatalf("body %q is not trimmed", body)
		}
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 || &b[nl] == &body[0] || !within(body, b[nl+1:]) {
			t.Fatal("body does not come after the first newline")
		}
		var h struct {
			Format  string `json:"format"`
			Version json.Number
		}
		if json.Unmarshal(bytes.TrimSpace(b[:nl]), &h) != nil || !strings.EqualFold(h.Format, "json") || h.Version.String() != "1" {
			t.Fatalf("header %q accepted", b[:nl])
		}
		_, _ = Decode(body)
	})
}
