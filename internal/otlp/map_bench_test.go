package otlp

import (
	"math/rand/v2"
	"testing"
	"time"

	otlpcoll "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/otlp/otlptest"
)

const benchSpans = 512

func benchRequest(b *testing.B) []byte {
	td := otlptest.Batch(rand.New(rand.NewPCG(1, 2)), benchSpans, time.Unix(1795642095, 0), false)
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		b.Fatal(err)
	}
	return pb
}

// BenchmarkDecodeMap is the per-span cost of OTLP ingest before the store:
// decoding a 512-span OTLP/protobuf request and mapping it to documents.
// ns/span and allocs/span are per span.
func BenchmarkDecodeMap(b *testing.B) {
	pb := benchRequest(b)
	m := NewMapper()
	out := make([]model.Span, 0, benchSpans)
	b.SetBytes(int64(len(pb)))
	b.ReportAllocs()
	c0 := cpuTime()
	for b.Loop() {
		td, err := DecodeProto(pb)
		if err != nil {
			b.Fatal(err)
		}
		out, _ = m.Map(td, out[:0])
	}
	perSpan(b)
	// On a shared machine wall time overstates the cost: CPU time per span
	// is what one core spends.
	if cpu := cpuTime() - c0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*benchSpans), "cpu-ns/span")
	}
}

// BenchmarkDecode compares the two official Go OTLP decoders on the same
// request: the collector's pdata (chosen) and the generated
// go.opentelemetry.io/proto/otlp types with google.golang.org/protobuf.
func BenchmarkDecode(b *testing.B) {
	pb := benchRequest(b)
	b.Run("pdata", func(b *testing.B) {
		b.SetBytes(int64(len(pb)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeProto(pb); err != nil {
				b.Fatal(err)
			}
		}
		perSpan(b)
	})
	b.Run("goproto", func(b *testing.B) {
		b.SetBytes(int64(len(pb)))
		b.ReportAllocs()
		for b.Loop() {
			var req otlpcoll.ExportTraceServiceRequest
			if err := proto.Unmarshal(pb, &req); err != nil {
				b.Fatal(err)
			}
		}
		perSpan(b)
	})
}

func perSpan(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchSpans), "ns/span")
}
