package daemon

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// otlpSink hands the documents the OTLP receiver mapped to the relay, so
// that OpenTelemetry spans travel to the server as the SDKs' segments do:
// batched, retried and spooled.
type otlpSink struct {
	relay  *relay
	edge   *edgeSampler // nil without tail sampling at the edge
	redact *redactor    // nil without redaction
	m      *metrics
}

func (s *otlpSink) Spans(spans []model.Span) error {
	if s.redact != nil {
		s.redact.spans(spans)
	}
	if s.edge != nil {
		s.m.received.Add(float64(len(spans)))
		s.m.teleReceived.Add(int64(len(spans)))
		s.edge.spans(spans)
		return nil
	}
	for i := range spans {
		s.relay.AddDocument(spans[i].Doc)
	}
	return nil
}

func (s *otlpSink) CountReceived(transport string, n int) {
	s.m.otlpReceived.WithLabelValues(transport).Add(float64(n))
}

func (s *otlpSink) Reject(reason, _ string, _ error) {
	s.m.otlpRejected.WithLabelValues(reason).Inc()
}

func newOTLPMetrics(m *metrics, reg prometheus.Registerer) {
	m.otlpReceived = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fluoro_daemon_otlp_spans_received_total",
		Help: "OpenTelemetry spans received, by transport (otlp-grpc, otlp-http)."}, []string{"transport"})
	m.redacted = prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_daemon_documents_redacted_total",
		Help: "Documents in which redaction dropped a key or masked a value."})
	m.otlpRejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fluoro_daemon_otlp_spans_rejected_total",
		Help: "OpenTelemetry spans (or whole requests) refused, by reason."}, []string{"reason"})
	if reg != nil {
		reg.MustRegister(m.otlpReceived, m.otlpRejected, m.redacted)
	}
}
