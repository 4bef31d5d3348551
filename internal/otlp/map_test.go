package otlp

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenOut is what a golden file holds: the documents one OTLP/JSON request
// maps to, and the spans refused.
type goldenOut struct {
	Documents []json.RawMessage `json:"documents"`
	Rejected  []Rejection       `json:"rejected,omitempty"`
}

func mapGolden(t *testing.T, td ptrace.Traces) ([]model.Span, []Rejection) {
	t.Helper()
	spans, rej := NewMapper().Map(td, nil)
	for _, s := range spans {
		checkRoundTrip(t, s)
	}
	return spans, rej
}

// checkRoundTrip asserts that the X-Ray decoder accepts the document and
// reads back exactly the entity the mapping built, so that what is indexed
// at ingest is what retrieval shows.
func checkRoundTrip(t *testing.T, s model.Span) {
	t.Helper()
	got, err := xray.Decode(s.Doc)
	if err != nil {
		t.Fatalf("xray.Decode rejects mapped document: %v\n%s", err, s.Doc)
	}
	if len(got) != 1 {
		t.Fatalf("xray.Decode: %d spans, want 1", len(got))
	}
	g := got[0]
	if g.TraceID != s.TraceID || g.Independent != s.Independent {
		t.Errorf("decoded trace %s independent %v, mapped %s %v", g.TraceID, g.Independent, s.TraceID, s.Independent)
	}
	if !reflect.DeepEqual(g.Root, s.Root) {
		t.Errorf("decoded entity differs from mapped one\ndecoded: %+v\nmapped:  %+v\ndoc: %s", g.Root, s.Root, s.Doc)
	}
}

func TestGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*.json")
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			td, err := DecodeJSON(raw)
			if err != nil {
				t.Fatal(err)
			}
			spans, rej := mapGolden(t, td)
			out := goldenOut{Rejected: rej}
			for _, s := range spans {
				out.Documents = append(out.Documents, json.RawMessage(s.Doc))
			}
			got, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the mapping; got:\n%s", path, got)
			}

			// The same request as protobuf maps to the same documents.
			pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
			if err != nil {
				t.Fatal(err)
			}
			td2, err := DecodeProto(pb)
			if err != nil {
				t.Fatal(err)
			}
			spans2, rej2 := NewMapper().Map(td2, nil)
			if len(spans2) != len(spans) || !reflect.DeepEqual(rej2, rej) {
				t.Fatalf("protobuf: %d spans %v, JSON: %d spans %v", len(spans2), rej2, len(spans), rej)
			}
			for i := range spans {
				if !bytes.Equal(spans[i].Doc, spans2[i].Doc) {
					t.Errorf("protobuf document %d differs:\n%s\n%s", i, spans2[i].Doc, spans[i].Doc)
				}
			}
		})
	}
}
