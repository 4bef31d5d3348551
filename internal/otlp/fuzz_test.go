package otlp

import (
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// seeds returns the golden inputs, as OTLP/JSON and as OTLP/protobuf.
func seeds(f *testing.F) (jsons, protos [][]byte) {
	inputs, _ := filepath.Glob("testdata/*.json")
	for _, in := range inputs {
		raw, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		td, err := DecodeJSON(raw)
		if err != nil {
			f.Fatal(err)
		}
		pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		if err != nil {
			f.Fatal(err)
		}
		jsons, protos = append(jsons, raw), append(protos, pb)
	}
	return jsons, protos
}

// fuzzMap maps whatever decoded and checks every document against the
// X-Ray decoder: arbitrary OTLP input must yield valid documents or
// rejections, never a panic or a document X-Ray would refuse.
func fuzzMap(t *testing.T, td ptrace.Traces) {
	spans, rej := NewMapper().Map(td, nil)
	entities := 0
	for _, s := range spans {
		checkRoundTrip(t, s)
		s.Root.Walk(func(*model.Entity, int) { entities++ })
	}
	// Every span is an entity (a parentless client span two) or refused.
	if n := td.SpanCount(); len(rej) > n || entities < n-len(rej) || entities > 2*n {
		t.Fatalf("%d spans in, %d entities and %d rejections out", n, entities, len(rej))
	}
}

func FuzzDecodeProto(f *testing.F) {
	_, protos := seeds(f)
	for _, p := range protos {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		td, err := DecodeProto(b)
		if err != nil {
			return
		}
		fuzzMap(t, td)
	})
}

func FuzzDecodeJSON(f *testing.F) {
	jsons, _ := seeds(f)
	for _, j := range jsons {
		f.Add(j)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		td, err := DecodeJSON(b)
		if err != nil {
			return
		}
		fuzzMap(t, td)
	})
}
