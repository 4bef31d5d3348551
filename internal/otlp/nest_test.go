package otlp

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/fluoro-dev/fluoro/internal/model"
)

func addSpan(spans ptrace.SpanSlice, id, parent byte, kind ptrace.SpanKind) {
	sp := spans.AppendEmpty()
	sp.SetTraceID([16]byte{0x6b, 0x07, 0x52, 0xef, 1})
	sp.SetSpanID([8]byte{7: id})
	if parent != 0 {
		sp.SetParentSpanID([8]byte{7: parent})
	}
	sp.SetKind(kind)
	sp.SetName("op")
	sp.SetStartTimestamp(1795642095_000000000)
	sp.SetEndTimestamp(1795642096_000000000)
}

// TestNesting: subsegments nest under parents in the same request, at most
// maxEmbedded per document, and parent loops never lose a span.
func TestNesting(t *testing.T) {
	check := func(name string, td ptrace.Traces, wantDocs, wantEntities int) {
		t.Helper()
		spans, rej := NewMapper().Map(td, nil)
		entities := 0
		for _, s := range spans {
			checkRoundTrip(t, s)
			s.Root.Walk(func(*model.Entity, int) { entities++ })
		}
		if len(rej) != 0 || len(spans) != wantDocs || entities != wantEntities {
			t.Errorf("%s: %d documents, %d entities, %v; want %d, %d", name, len(spans), entities, rej, wantDocs, wantEntities)
		}
	}

	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	addSpan(spans, 1, 0, ptrace.SpanKindServer)
	for i := 0; i < 150; i++ {
		addSpan(spans, byte(2+i), 1, ptrace.SpanKindClient)
	}
	check("150 children", td, 51, 151)

	td = ptrace.NewTraces()
	spans = td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	addSpan(spans, 1, 2, ptrace.SpanKindClient)
	addSpan(spans, 2, 1, ptrace.SpanKindClient)
	addSpan(spans, 3, 3, ptrace.SpanKindInternal)
	check("loops", td, 3, 3)

	td = ptrace.NewTraces()
	spans = td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	addSpan(spans, 1, 0, ptrace.SpanKindServer)
	for i := 2; i < 60; i++ {
		addSpan(spans, byte(i), byte(i-1), ptrace.SpanKindInternal)
	}
	// The first maxNesting levels nest; deeper spans are sent on their own.
	check("deep chain", td, 1+58-maxNesting, 59)
}
