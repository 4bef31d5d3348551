package receiver

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/fluoro-dev/fluoro/internal/otlp"
)

const (
	typeProto = "application/x-protobuf"
	typeJSON  = "application/json"
)

// ServeHTTP is OTLP/HTTP's POST /v1/traces: a protobuf or JSON
// ExportTraceServiceRequest, optionally gzip-encoded, answered with an
// ExportTraceServiceResponse in the same encoding (with partial_success
// when spans were refused), or with a google.rpc.Status and 400 (bad
// input), 405, 413, 415 or 503 (shutting down).
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != typeJSON {
		ct = typeProto // errors about the request itself are answered in protobuf
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, ct, http.StatusMethodNotAllowed, codes.InvalidArgument, "OTLP/HTTP takes POST only")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != typeProto && mt != typeJSON {
		h.fail(w, ct, http.StatusUnsupportedMediaType, codes.InvalidArgument,
			fmt.Sprintf("content type %q: OTLP/HTTP takes %s or %s", r.Header.Get("Content-Type"), typeProto, typeJSON))
		return
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, int64(h.maxBytes))
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			h.bad(w, ct, fmt.Errorf("gzip body: %w", err))
			return
		}
		defer zr.Close()
		body = io.LimitReader(zr, int64(h.maxBytes)+1)
	default:
		h.fail(w, ct, http.StatusUnsupportedMediaType, codes.InvalidArgument,
			fmt.Sprintf("content encoding %q: OTLP/HTTP takes gzip or none", enc))
		return
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.fail(w, ct, http.StatusRequestEntityTooLarge, codes.InvalidArgument,
				fmt.Sprintf("request is over the %d-byte limit", h.maxBytes))
			return
		}
		h.bad(w, ct, fmt.Errorf("read body: %w", err))
		return
	}
	if buf.Len() > h.maxBytes {
		h.fail(w, ct, http.StatusRequestEntityTooLarge, codes.InvalidArgument,
			fmt.Sprintf("request is over the %d-byte limit once decompressed", h.maxBytes))
		return
	}
	var (
		td  ptrace.Traces
		err error
	)
	if ct == typeJSON {
		td, err = otlp.DecodeJSON(buf.Bytes())
	} else {
		td, err = otlp.DecodeProto(buf.Bytes())
	}
	if err != nil {
		h.bad(w, ct, err)
		return
	}
	rejected, msg, err := h.export(TransportHTTP, td)
	if err == errMapping {
		h.fail(w, ct, http.StatusInternalServerError, codes.Internal, err.Error())
		return
	}
	if err != nil {
		h.fail(w, ct, http.StatusServiceUnavailable, codes.Unavailable, err.Error())
		return
	}
	resp := ptraceotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	var out []byte
	if ct == typeJSON {
		out, err = resp.MarshalJSON()
	} else {
		out, err = resp.MarshalProto()
	}
	if err != nil {
		h.fail(w, ct, http.StatusInternalServerError, codes.Internal, err.Error())
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// bad answers a request that could not be decoded.
func (h *handler) bad(w http.ResponseWriter, ct string, err error) {
	h.sink.Reject(CodeInvalidRequest, "", err)
	h.fail(w, ct, http.StatusBadRequest, codes.InvalidArgument, err.Error())
}

// fail writes a google.rpc.Status, as OTLP/HTTP specifies for failures.
func (h *handler) fail(w http.ResponseWriter, ct string, httpStatus int, code codes.Code, msg string) {
	st := &spb.Status{Code: int32(code), Message: msg}
	var out []byte
	if ct == typeJSON {
		out, _ = protojson.Marshal(st)
	} else {
		out, _ = proto.Marshal(st)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(httpStatus)
	w.Write(out)
}
