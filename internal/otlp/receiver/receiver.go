// Package receiver serves OTLP trace ingest: the OTLP/gRPC TraceService and
// OTLP/HTTP's POST /v1/traces (protobuf and JSON, optionally gzip-encoded).
// It decodes and maps requests with package otlp and hands the documents to
// a Sink: `fluoro server` passes its ingest pipeline, and `fluoro daemon` can
// pass anything that forwards spans.
package receiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/otlp"
)

// Sink takes the documents OTLP requests map to. *ingest.Pipeline satisfies
// it. Implementations must be safe for concurrent use.
type Sink interface {
	// Spans accepts mapped documents; the slice is the Sink's to keep. An
	// error means the Sink takes nothing more (it is closed): the request
	// fails with gRPC Unavailable / HTTP 503, which OTLP exporters retry.
	Spans(spans []model.Span) error
	// CountReceived counts n spans received over transport ("otlp-grpc",
	// "otlp-http").
	CountReceived(transport string, n int)
	// Reject counts one refused span (or a whole request, with id "")
	// under reason, an X-Ray error code.
	Reject(reason, id string, err error)
}

// Transports, as CountReceived is told them.
const (
	TransportGRPC = "otlp-grpc"
	TransportHTTP = "otlp-http"
)

// CodeInvalidRequest is the reason Reject is given for a request that could
// not be decoded at all.
const CodeInvalidRequest = "InvalidOTLPRequest"

// Config says where to listen and where spans go.
type Config struct {
	// GRPC and HTTP are the listen addresses; an empty one is not served.
	GRPC string
	HTTP string
	Sink Sink
	// Mapper maps spans; nil makes one. Share one per process.
	Mapper *otlp.Mapper
	// MaxRequestBytes bounds one request, decompressed (16 MiB).
	MaxRequestBytes int
	Logger          *slog.Logger
}

// Receiver is a running pair of OTLP listeners.
type Receiver struct {
	h      *handler
	grpc   *grpc.Server
	grpcLn net.Listener
	http   *http.Server
	httpLn net.Listener
	wg     sync.WaitGroup
}

// handler is what both transports share: map a decoded request, hand the
// documents to the sink, count.
type handler struct {
	sink     Sink
	mapper   *otlp.Mapper
	maxBytes int
	log      *slog.Logger
}

func newHandler(cfg Config) *handler {
	if cfg.Mapper == nil {
		cfg.Mapper = otlp.NewMapper()
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 16 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &handler{sink: cfg.Sink, mapper: cfg.Mapper, maxBytes: cfg.MaxRequestBytes, log: cfg.Logger}
}

// errUnavailable is returned when the sink refuses documents.
var errUnavailable = errors.New("ingest is shutting down")

// errMapping is returned when mapping a request failed unexpectedly.
var errMapping = errors.New("internal error mapping the request")

// export maps td and hands the result to the sink. It returns the number of
// spans refused and a message naming the first refusal, for OTLP's partial
// success.
func (h *handler) export(transport string, td ptrace.Traces) (rejected int64, msg string, err error) {
	// A mapping bug must cost one request, not the process: gRPC and
	// net/http would otherwise crash or drop the connection.
	defer func() {
		if r := recover(); r != nil {
			h.log.Error("otlp mapping panicked", "panic", r, "transport", transport)
			h.sink.Reject(CodeInvalidRequest, "", fmt.Errorf("mapping panicked: %v", r))
			rejected, msg, err = 0, "", errMapping
		}
	}()
	n := td.SpanCount()
	if n == 0 {
		return 0, "", nil
	}
	h.sink.CountReceived(transport, n)
	spans, rej := h.mapper.Map(td, make([]model.Span, 0, n+n/8))
	for _, r := range rej {
		h.sink.Reject(r.Code, r.ID, errors.New(r.Message))
	}
	if len(spans) > 0 {
		if err := h.sink.Spans(spans); err != nil {
			return 0, "", errUnavailable
		}
	}
	if len(rej) > 0 {
		msg = fmt.Sprintf("%d of %d spans rejected; first: %s: %s", len(rej), n, rej[0].Code, rej[0].Message)
	}
	return int64(len(rej)), msg, nil
}

// Start listens on the configured addresses and serves until Close.
func Start(cfg Config) (_ *Receiver, err error) {
	if cfg.Sink == nil {
		return nil, errors.New("otlp receiver needs a sink")
	}
	r := &Receiver{h: newHandler(cfg)}
	defer func() {
		if err != nil {
			r.Close(context.Background())
		}
	}()
	if cfg.GRPC != "" {
		if r.grpcLn, err = net.Listen("tcp", cfg.GRPC); err != nil {
			return nil, fmt.Errorf("listen otlp grpc: %w", err)
		}
		r.grpc = newGRPCServer(r.h)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := r.grpc.Serve(r.grpcLn); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				r.h.log.Error("otlp grpc server stopped", "err", err)
			}
		}()
	}
	if cfg.HTTP != "" {
		if r.httpLn, err = net.Listen("tcp", cfg.HTTP); err != nil {
			return nil, fmt.Errorf("listen otlp http: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/v1/traces", r.h)
		r.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := r.http.Serve(r.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				r.h.log.Error("otlp http server stopped", "err", err)
			}
		}()
	}
	return r, nil
}

// GRPCAddr and HTTPAddr are the bound addresses, nil when not served.
func (r *Receiver) GRPCAddr() net.Addr {
	if r.grpcLn == nil {
		return nil
	}
	return r.grpcLn.Addr()
}

func (r *Receiver) HTTPAddr() net.Addr {
	if r.httpLn == nil {
		return nil
	}
	return r.httpLn.Addr()
}

// Close stops accepting requests and waits for those in flight, until ctx
// ends; after it returns no more spans reach the sink.
func (r *Receiver) Close(ctx context.Context) error {
	var errs []error
	if r.http != nil {
		errs = append(errs, r.http.Shutdown(ctx))
	} else if r.httpLn != nil {
		r.httpLn.Close()
	}
	if r.grpc != nil {
		done := make(chan struct{})
		go func() { r.grpc.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			r.grpc.Stop()
			<-done
		}
	} else if r.grpcLn != nil {
		r.grpcLn.Close()
	}
	r.wg.Wait()
	return errors.Join(errs...)
}
