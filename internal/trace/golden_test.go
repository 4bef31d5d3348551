package trace

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenCase is a testdata/<name>.json input: the documents of one trace in
// arrival order.
type goldenCase struct {
	Comment   string            `json:"comment"`
	Documents []json.RawMessage `json:"documents"`
}

type loadedCase struct {
	name  string
	c     goldenCase
	spans []model.Span // every document's spans, in arrival order
}

func goldenCases(t testing.TB) []loadedCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no testdata/*.json cases")
	}
	var out []loadedCase
	for _, p := range paths {
		out = append(out, loadCase(t, p))
	}
	return out
}

func loadCase(t testing.TB, path string) loadedCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lc := loadedCase{name: strings.TrimSuffix(filepath.Base(path), ".json")}
	if err := json.Unmarshal(b, &lc.c); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	for i, raw := range lc.c.Documents {
		var doc bytes.Buffer
		if err := json.Compact(&doc, raw); err != nil {
			t.Fatalf("%s document %d: %v", path, i, err)
		}
		spans, err := xray.Decode(doc.Bytes())
		if err != nil {
			t.Fatalf("%s document %d: %v", path, i, err)
		}
		lc.spans = append(lc.spans, spans...)
	}
	for _, s := range lc.spans {
		if s.TraceID != lc.spans[0].TraceID {
			t.Fatalf("%s: documents of two traces, %s and %s", path, lc.spans[0].TraceID, s.TraceID)
		}
	}
	return lc
}

func (lc *loadedCase) traceID() model.TraceID { return lc.spans[0].TraceID }

func (lc *loadedCase) pointers() []*model.Span {
	out := make([]*model.Span, len(lc.spans))
	for i := range lc.spans {
		out[i] = &lc.spans[i]
	}
	return out
}

// records returns what storage holds for the case's spans (store.Store's
// Append and Trace contract): one record per id, a complete span winning
// over an in-progress one and otherwise the later one, ordered by id.
func (lc *loadedCase) records() []store.Record {
	byID := map[model.SpanID]store.Record{}
	for _, s := range lc.spans {
		r := store.Record{ID: s.Root.ID, ParentID: s.Root.ParentID, Independent: s.Independent,
			InProgress: s.Root.InProgress, Doc: bytes.Clone(s.Doc)}
		if old, ok := byID[r.ID]; ok && !old.InProgress && r.InProgress {
			continue
		}
		byID[r.ID] = r
	}
	out := make([]store.Record, 0, len(byID))
	for _, r := range byID {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// compareGolden compares got with testdata/<case>.<kind>.golden, or
// rewrites the golden with -update.
func compareGolden(t *testing.T, lc loadedCase, kind string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", lc.name+"."+kind+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s\n--- got\n%s\n--- want\n%s", kind, path, got, want)
	}
}

func prettyJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}
