// Package otlp maps OpenTelemetry traces (OTLP) to Fluoro's model: it decodes
// OTLP/protobuf and OTLP/JSON export requests with the collector's pdata
// types and turns each span into an X-Ray segment document (a model.Span
// with its Doc), following the OpenTelemetry collector's X-Ray exporter, so
// that OpenTelemetry services appear in the same service map, searches and
// analytics as X-Ray ones. docs/otlp.md has the mapping and where it differs
// from the exporter. It does no I/O.
package otlp

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// DecodeProto decodes an OTLP/protobuf ExportTraceServiceRequest.
func DecodeProto(b []byte) (ptrace.Traces, error) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return ptrace.Traces{}, fmt.Errorf("decode OTLP protobuf: %w", err)
	}
	return req.Traces(), nil
}

// DecodeJSON decodes an OTLP/JSON ExportTraceServiceRequest (ids in hex,
// enums as numbers or names, 64-bit integers as numbers or strings).
func DecodeJSON(b []byte) (ptrace.Traces, error) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON(b); err != nil {
		return ptrace.Traces{}, fmt.Errorf("decode OTLP JSON: %w", err)
	}
	return req.Traces(), nil
}
