// Package api serves the X-Ray REST API over HTTP: every operation is a POST
// to a fixed path with a JSON body, errors carry X-Ray's error type in the
// X-Amzn-ErrorType header and a {"__type", "Message"} body. It also serves
// /healthz and /metrics.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fluoro-dev/fluoro/internal/insight"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/sampling"
	"github.com/fluoro-dev/fluoro/internal/servicegraph"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// Ingester takes documents accepted by PutTraceSegments.
type Ingester interface {
	Spans(spans []model.Span) error
	CountReceived(transport string, n int)
	Reject(reason, id string, err error)
}

// Config wires the handlers to the rest of the server.
type Config struct {
	Store    store.Store
	Ingest   Ingester
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MaxBodyBytes bounds a request body (32 MiB when zero).
	MaxBodyBytes int64
	// Insights, when set, serves GetInsightSummaries, GetInsight,
	// GetInsightEvents and GetInsightImpactGraph.
	Insights *insight.Engine
	// Analytics, when set, serves /api/analytics/ (see internal/analytics).
	Analytics http.Handler
	// ServiceGraph, when set, serves the service map and groups
	// (servicegraph.go).
	ServiceGraph *servicegraph.Service
	// Sampling serves the sampling rules and targets (sampling.go); the
	// sampling operations answer UnknownOperationException when nil.
	Sampling *sampling.Service
	// SamplingPageSize is the page size of GetSamplingRules and
	// GetSamplingStatisticSummaries (100 when zero; the SDKs read only the
	// first page of rules, so it must stay above sampling.MaxRules+1).
	SamplingPageSize int
	// Registerer takes the API's own metrics (PutTelemetryRecords); nil
	// keeps them unregistered.
	Registerer prometheus.Registerer
}

// Server is the HTTP handler for the API.
type Server struct {
	cfg   Config
	mux   *http.ServeMux
	ready atomic.Bool

	telemetry *telemetryCounters
}

// New builds the handler. It answers /healthz with 503 until SetReady.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 32 << 20
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.mux.HandleFunc("/healthz", s.healthz)
	if cfg.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	s.op("/TraceSegments", s.putTraceSegments)
	s.op("/Traces", s.batchGetTraces)
	s.op("/TraceSummaries", s.getTraceSummaries)
	s.insightOps()
	if cfg.Analytics != nil {
		s.mux.Handle("/api/analytics/", cfg.Analytics)
	}
	if cfg.ServiceGraph != nil {
		s.serviceGraphOps()
	}
	s.registerSampling()
	s.telemetry = newTelemetryCounters(cfg.Registerer)
	s.op("/TelemetryRecords", s.putTelemetryRecords)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{Status: http.StatusNotFound, Code: "UnknownOperationException",
			Message: fmt.Sprintf("no X-Ray operation at %s %s", r.Method, r.URL.Path)})
	})
	return s
}

// SetReady makes /healthz answer 200.
func (s *Server) SetReady() { s.ready.Store(true) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

// op registers an X-Ray operation: POST only, JSON in and out, errors
// rendered in one place.
func (s *Server) op(path string, fn func(ctx context.Context, body []byte) (any, error)) {
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, &Error{Status: http.StatusMethodNotAllowed, Code: "InvalidRequestException",
				Message: path + " accepts only POST"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, invalid("request body is larger than %d bytes", tooBig.Limit))
				return
			}
			writeError(w, invalid("read request body: %v", err))
			return
		}
		out, err := fn(context.WithValue(r.Context(), userAgentKey{}, r.Header.Get("User-Agent")), body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				s.cfg.Logger.Error("api operation failed", "path", path, "err", err)
				e = &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()}
			}
			writeError(w, e)
			return
		}
		b, err := json.Marshal(out)
		if err != nil {
			writeError(w, &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amzn-RequestId", requestID())
		w.Write(b)
	})
}

// userAgentKey carries the request's User-Agent to an operation, for the
// one client quirk Fluoro serves (see nodeSDKQuirk).
type userAgentKey struct{}

// decode reads a request body into v; an empty body is {}.
func decode(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return invalid("request body is not valid JSON for this operation: %v", err)
	}
	return nil
}

func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
