// Package otlptest builds realistic OTLP trace batches for tests and
// benchmarks.
package otlptest

import (
	"encoding/binary"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Batch returns traces of spans spans, as an OpenTelemetry SDK's batch
// processor would export them from one service: traces of 8 spans each (an
// HTTP server span, an HTTP client call, a database call, an AWS SDK call,
// internal spans), with the attributes instrumentation libraries set, random
// W3C trace ids (or X-Ray ids when xrayIDs), starting at start.
func Batch(rng *rand.Rand, spans int, start time.Time, xrayIDs bool) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "checkout")
	ra.PutStr("service.version", "1.4.2")
	ra.PutStr("telemetry.sdk.name", "opentelemetry")
	ra.PutStr("telemetry.sdk.language", "go")
	ra.PutStr("telemetry.sdk.version", "1.47.0")
	ra.PutStr("host.name", "ip-10-0-1-17")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	out := ss.Spans()
	out.EnsureCapacity(spans)
	base := uint64(start.UnixNano())
	for n := 0; n < spans; {
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[:8], rng.Uint64())
		binary.BigEndian.PutUint64(tid[8:], rng.Uint64())
		if xrayIDs {
			binary.BigEndian.PutUint32(tid[:4], uint32(start.Unix()))
		}
		t0 := base + uint64(n)*1000
		var rootID pcommon.SpanID
		binary.BigEndian.PutUint64(rootID[:], rng.Uint64()|1)
		for k := 0; k < 8 && n < spans; k++ {
			sp := out.AppendEmpty()
			sp.SetTraceID(tid)
			a := sp.Attributes()
			s := t0 + uint64(k)*2_000_000
			if k == 0 {
				sp.SetSpanID(rootID)
				sp.SetName("GET /cart/{id}")
				sp.SetKind(ptrace.SpanKindServer)
				sp.SetStartTimestamp(pcommon.Timestamp(s))
				sp.SetEndTimestamp(pcommon.Timestamp(s + 40_000_000))
				a.PutStr("http.request.method", "GET")
				a.PutStr("url.scheme", "https")
				a.PutStr("url.path", "/cart/42")
				a.PutStr("server.address", "shop.example.com")
				a.PutStr("http.route", "/cart/{id}")
				a.PutInt("http.response.status_code", 200)
				a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)")
				a.PutStr("client.address", "203.0.113.9")
				a.PutStr("customer.tier", "gold")
				n++
				continue
			}
			var id pcommon.SpanID
			binary.BigEndian.PutUint64(id[:], rng.Uint64()|1)
			sp.SetSpanID(id)
			sp.SetParentSpanID(rootID)
			sp.SetStartTimestamp(pcommon.Timestamp(s))
			sp.SetEndTimestamp(pcommon.Timestamp(s + 1_500_000))
			switch k % 4 {
			case 1:
				sp.SetName("GET")
				sp.SetKind(ptrace.SpanKindClient)
				a.PutStr("http.request.method", "GET")
				a.PutStr("url.full", "http://inventory:8080/stock/42")
				a.PutStr("server.address", "inventory")
				a.PutInt("server.port", 8080)
				a.PutInt("http.response.status_code", 200)
			case 2:
				sp.SetName("SELECT orders")
				sp.SetKind(ptrace.SpanKindClient)
				a.PutStr("db.system", "postgresql")
				a.PutStr("db.name", "orders")
				a.PutStr("db.statement", "SELECT id, total FROM orders WHERE customer_id = $1")
				a.PutStr("server.address", "db.internal")
				a.PutInt("server.port", 5432)
			case 3:
				sp.SetName("DynamoDB.GetItem")
				sp.SetKind(ptrace.SpanKindClient)
				a.PutStr("rpc.system", "aws-api")
				a.PutStr("rpc.service", "DynamoDB")
				a.PutStr("rpc.method", "GetItem")
				a.PutStr("aws.region", "us-east-1")
				a.PutStr("aws.request_id", "7N8Q2ANC0RJ9L6H5FTLF8PVM2VVV4KQNSO5AEMVJF66Q9ASUAAJG")
				a.PutEmptySlice("aws.dynamodb.table_names").AppendEmpty().SetStr("carts")
			default:
				sp.SetName("render cart")
				sp.SetKind(ptrace.SpanKindInternal)
				a.PutStr("template", "cart.html")
				a.PutInt("items", 3)
			}
			n++
		}
	}
	return td
}
