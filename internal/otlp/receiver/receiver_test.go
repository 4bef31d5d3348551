package receiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// recorder is a Sink that keeps what it is given.
type recorder struct {
	mu       sync.Mutex
	spans    []model.Span
	received map[string]int
	rejected map[string]int
	closed   bool
}

func (r *recorder) Spans(s []model.Span) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("closed")
	}
	r.spans = append(r.spans, s...)
	return nil
}

func (r *recorder) CountReceived(transport string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.received[transport] += n
}

func (r *recorder) Reject(reason, _ string, _ error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected[reason]++
}

func start(t *testing.T, maxBytes int) (*Receiver, *recorder) {
	t.Helper()
	rec := &recorder{received: map[string]int{}, rejected: map[string]int{}}
	r, err := Start(Config{GRPC: "127.0.0.1:0", HTTP: "127.0.0.1:0", Sink: rec, MaxRequestBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r, rec
}

// mixedRequest has three spans: one valid, one with an all-zero span id and
// one ending before it starts.
func mixedRequest() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	tid := [16]byte{0x6b, 0x07, 0x52, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	for i, sid := range [][8]byte{{1}, {}, {3}} {
		sp := spans.AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		sp.SetName("op")
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetStartTimestamp(1795642095_000000000)
		sp.SetEndTimestamp(1795642096_000000000)
		if i == 2 {
			sp.SetEndTimestamp(1795642094_000000000)
		}
	}
	return td
}

func post(t *testing.T, url, ctype, encoding string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// TestHTTPBadInput: every malformed OTLP/HTTP request gets its status and a
// google.rpc.Status body in the request's encoding; nothing reaches the sink.
func TestHTTPBadInput(t *testing.T) {
	r, rec := start(t, 4096)
	url := "http://" + r.HTTPAddr().String() + "/v1/traces"
	check := func(name, method, ctype, encoding string, body []byte, wantStatus int, wantMsg string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Errorf("%s: status %d, want %d (%q)", name, resp.StatusCode, wantStatus, b)
			return
		}
		var st spb.Status
		if ctype == typeJSON {
			var js struct {
				Code    int32  `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(b, &js); err != nil {
				t.Errorf("%s: body %q is not a JSON Status: %v", name, b, err)
				return
			}
			st.Code, st.Message = js.Code, js.Message
		} else if err := proto.Unmarshal(b, &st); err != nil {
			t.Errorf("%s: body is not a protobuf Status: %v", name, err)
			return
		}
		if st.Code != int32(codes.InvalidArgument) || !strings.Contains(st.Message, wantMsg) {
			t.Errorf("%s: Status %d %q, want InvalidArgument containing %q", name, st.Code, st.Message, wantMsg)
		}
	}
	check("GET", "GET", typeProto, "", nil, http.StatusMethodNotAllowed, "POST")
	check("text/plain", "POST", "text/plain", "", []byte("hi"), http.StatusUnsupportedMediaType, "content type")
	check("bad protobuf", "POST", typeProto, "", []byte{0x0a, 0xff, 0xff, 0xff}, http.StatusBadRequest, "decode OTLP protobuf")
	check("bad JSON", "POST", typeJSON, "", []byte(`{"resourceSpans": [`), http.StatusBadRequest, "decode OTLP JSON")
	check("JSON with a short trace id", "POST", typeJSON, "",
		[]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc","spanId":"0102030405060708"}]}]}]}`), http.StatusBadRequest, "decode OTLP JSON")
	check("not gzip", "POST", typeProto, "gzip", []byte("plain"), http.StatusBadRequest, "gzip")
	check("brotli", "POST", typeProto, "br", []byte("x"), http.StatusUnsupportedMediaType, "content encoding")
	check("too large", "POST", typeProto, "", make([]byte, 5000), http.StatusRequestEntityTooLarge, "limit")
	check("gzip bomb", "POST", typeJSON, "gzip", gz(make([]byte, 100_000)), http.StatusRequestEntityTooLarge, "limit")
	if len(rec.spans) != 0 {
		t.Errorf("bad requests put %d spans in the sink", len(rec.spans))
	}
	if rec.rejected[CodeInvalidRequest] != 4 {
		t.Errorf("rejected %v, want 4 undecodable requests", rec.rejected)
	}
}

// TestHTTPPartialSuccess: spans with bad ids or times are refused one by
// one, in the response's partial_success, in both encodings and gzipped.
func TestHTTPPartialSuccess(t *testing.T) {
	r, rec := start(t, 0)
	url := "http://" + r.HTTPAddr().String() + "/v1/traces"
	req := ptraceotlp.NewExportRequestFromTraces(mixedRequest())
	pb, _ := req.MarshalProto()
	js, _ := req.MarshalJSON()
	for _, c := range []struct {
		name, ctype, enc string
		body             []byte
	}{{"protobuf", typeProto, "", pb}, {"json", typeJSON, "", js}, {"json-gzip", typeJSON, "gzip", gz(js)}, {"protobuf-gzip", typeProto, "gzip", gz(pb)}} {
		resp, b := post(t, url, c.ctype, c.enc, c.body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != c.ctype {
			t.Fatalf("%s: %d %s %q", c.name, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		out := ptraceotlp.NewExportResponse()
		var err error
		if c.ctype == typeJSON {
			err = out.UnmarshalJSON(b)
		} else {
			err = out.UnmarshalProto(b)
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ps := out.PartialSuccess(); ps.RejectedSpans() != 2 || !strings.Contains(ps.ErrorMessage(), "2 of 3 spans rejected") {
			t.Errorf("%s: partial success %d %q", c.name, ps.RejectedSpans(), ps.ErrorMessage())
		}
	}
	if len(rec.spans) != 4 || rec.received[TransportHTTP] != 12 || rec.rejected["MissingId"] != 4 || rec.rejected["InvalidTimes"] != 4 {
		t.Errorf("sink: %d spans, received %v, rejected %v", len(rec.spans), rec.received, rec.rejected)
	}
}

// rawCodec sends bytes as they are, to put malformed protobuf on the wire.
type rawCodec struct{}

func (rawCodec) Name() string                  { return "proto" }
func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), b...)
	return nil
}

// TestGRPC: malformed protobuf is InvalidArgument; refused spans come back
// as partial success; a closed sink is Unavailable, which exporters retry.
func TestGRPC(t *testing.T) {
	r, rec := start(t, 0)
	conn, err := grpc.NewClient(r.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()

	in, out := []byte{0x0a, 0xff, 0xff}, []byte(nil)
	err = conn.Invoke(ctx, exportMethod, &in, &out, grpc.ForceCodec(rawCodec{}))
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "decode OTLP protobuf") {
		t.Errorf("garbage: %v, want InvalidArgument", err)
	}

	client := ptraceotlp.NewGRPCClient(conn)
	resp, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(mixedRequest()))
	if err != nil {
		t.Fatal(err)
	}
	if ps := resp.PartialSuccess(); ps.RejectedSpans() != 2 || !strings.Contains(ps.ErrorMessage(), "MissingId") {
		t.Errorf("partial success %d %q", ps.RejectedSpans(), ps.ErrorMessage())
	}
	if len(rec.spans) != 1 || rec.received[TransportGRPC] != 3 || rec.rejected[CodeInvalidRequest] != 1 {
		t.Errorf("sink: %d spans, received %v, rejected %v", len(rec.spans), rec.received, rec.rejected)
	}

	rec.mu.Lock()
	rec.closed = true
	rec.mu.Unlock()
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(mixedRequest())); status.Code(err) != codes.Unavailable {
		t.Errorf("closed sink: %v, want Unavailable", err)
	}
	resp2, b := post(t, "http://"+r.HTTPAddr().String()+"/v1/traces", typeJSON, "", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"6b0752ef0102030405060708090a0b0c","spanId":"0102030405060708","startTimeUnixNano":"1795642095000000000","endTimeUnixNano":"1795642096000000000"}]}]}]}`))
	if resp2.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("closed sink over HTTP: %d %q, want 503", resp2.StatusCode, b)
	}
}
