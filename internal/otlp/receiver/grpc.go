package receiver

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // registers the gzip compressor OTLP exporters may use
	"google.golang.org/grpc/status"

	"github.com/fluoro-dev/fluoro/internal/otlp"
)

// The OTLP/gRPC trace service, as opentelemetry/proto/collector/trace/v1
// names it.
const (
	traceService = "opentelemetry.proto.collector.trace.v1.TraceService"
	exportMethod = "/" + traceService + "/Export"
)

// exportRequest is what the codec decodes an Export request into. Decoding
// errors are kept rather than returned, so the handler can answer
// InvalidArgument as OTLP asks (gRPC itself would answer Internal).
type exportRequest struct {
	td  ptrace.Traces
	err error
}

// exportResponse is an encoded ExportTraceServiceResponse.
type exportResponse struct{ b []byte }

// codec is the server's only codec: it decodes Export requests with pdata
// and passes encoded responses through.
type codec struct{}

func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) ([]byte, error) {
	r, ok := v.(*exportResponse)
	if !ok {
		return nil, fmt.Errorf("otlp codec cannot marshal %T", v)
	}
	return r.b, nil
}

func (codec) Unmarshal(data []byte, v any) error {
	r, ok := v.(*exportRequest)
	if !ok {
		return fmt.Errorf("otlp codec cannot unmarshal into %T", v)
	}
	// gRPC reuses data once Unmarshal returns; decoding copies what it keeps.
	r.td, r.err = otlp.DecodeProto(data)
	return nil
}

func newGRPCServer(h *handler) *grpc.Server {
	s := grpc.NewServer(grpc.ForceServerCodec(codec{}), grpc.MaxRecvMsgSize(h.maxBytes))
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: traceService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Export",
			Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var req exportRequest
				if err := dec(&req); err != nil {
					return nil, err
				}
				return h.exportGRPC(ctx, &req)
			},
		}},
		Metadata: "opentelemetry/proto/collector/trace/v1/trace_service.proto",
	}, nil)
	return s
}

func (h *handler) exportGRPC(_ context.Context, req *exportRequest) (*exportResponse, error) {
	if req.err != nil {
		h.sink.Reject(CodeInvalidRequest, "", req.err)
		return nil, status.Error(codes.InvalidArgument, req.err.Error())
	}
	rejected, msg, err := h.export(TransportGRPC, req.td)
	if err == errMapping {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	resp := ptraceotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	b, err := resp.MarshalProto()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &exportResponse{b: b}, nil
}
