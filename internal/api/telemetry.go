package api

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// PutTelemetryRecords (POST /TelemetryRecords) takes the health counts the
// X-Ray daemon (and `fluoro daemon`) send every minute. Fluoro keeps them as
// Prometheus counters by hostname and resource ARN:
// fluoro_api_daemon_segments_total{hostname, resource, kind} with kind
// received, sent, spillover or rejected, and
// fluoro_api_daemon_backend_errors_total{hostname, resource, kind}.

type telemetryRecordsInput struct {
	TelemetryRecords *[]telemetryRecordIn
	EC2InstanceId    *string
	Hostname         *string
	ResourceARN      *string
}

type telemetryRecordIn struct {
	Timestamp               *float64
	SegmentsReceivedCount   *int64
	SegmentsSentCount       *int64
	SegmentsSpilloverCount  *int64
	SegmentsRejectedCount   *int64
	BackendConnectionErrors *struct {
		TimeoutCount           *int64
		ConnectionRefusedCount *int64
		HTTPCode4XXCount       *int64
		HTTPCode5XXCount       *int64
		UnknownHostCount       *int64
		OtherCount             *int64
	}
}

// maxTelemetrySources bounds the label sets: past it, new daemons are
// counted under hostname and resource "other".
const maxTelemetrySources = 1000

type telemetryCounters struct {
	segments *prometheus.CounterVec
	errors   *prometheus.CounterVec
	records  prometheus.Counter

	mu      sync.Mutex
	sources map[[2]string]bool
}

func newTelemetryCounters(reg prometheus.Registerer) *telemetryCounters {
	t := &telemetryCounters{
		segments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fluoro_api_daemon_segments_total",
			Help: "Segment counts daemons reported with PutTelemetryRecords, by hostname, resource ARN and kind (received, sent, spillover, rejected)."},
			[]string{"hostname", "resource", "kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fluoro_api_daemon_backend_errors_total",
			Help: "Backend connection errors daemons reported with PutTelemetryRecords, by hostname, resource ARN and kind."},
			[]string{"hostname", "resource", "kind"}),
		records: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_api_telemetry_records_total",
			Help: "TelemetryRecords accepted by PutTelemetryRecords."}),
		sources: map[[2]string]bool{},
	}
	if reg != nil {
		reg.MustRegister(t.segments, t.errors, t.records)
	}
	return t
}

// source returns the labels for a daemon, folding new ones into "other"
// past maxTelemetrySources.
func (t *telemetryCounters) source(host, resource string) (string, string) {
	k := [2]string{host, resource}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sources[k] {
		return host, resource
	}
	if len(t.sources) >= maxTelemetrySources {
		return "other", "other"
	}
	t.sources[k] = true
	return host, resource
}

func (s *Server) putTelemetryRecords(_ context.Context, body []byte) (any, error) {
	var in telemetryRecordsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.TelemetryRecords == nil {
		return nil, invalid("TelemetryRecords is required")
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	host, instance, resource := str(in.Hostname), str(in.EC2InstanceId), str(in.ResourceARN)
	switch {
	case len(host) > 255:
		return nil, invalid("Hostname is longer than 255 characters")
	case len(instance) > 20:
		return nil, invalid("EC2InstanceId is longer than 20 characters")
	case len(resource) > 500:
		return nil, invalid("ResourceARN is longer than 500 characters")
	}
	for i, r := range *in.TelemetryRecords {
		if r.Timestamp == nil {
			return nil, invalid("TelemetryRecords[%d].Timestamp is required", i)
		}
		for _, p := range []*int64{r.SegmentsReceivedCount, r.SegmentsSentCount, r.SegmentsSpilloverCount, r.SegmentsRejectedCount} {
			if p != nil && *p < 0 {
				return nil, invalid("TelemetryRecords[%d] has a negative count", i)
			}
		}
	}
	if host == "" {
		host = instance
	}
	t := s.telemetry
	host, resource = t.source(host, resource)
	add := func(vec *prometheus.CounterVec, kind string, p *int64) {
		if p != nil && *p > 0 {
			vec.WithLabelValues(host, resource, kind).Add(float64(*p))
		}
	}
	for _, r := range *in.TelemetryRecords {
		add(t.segments, "received", r.SegmentsReceivedCount)
		add(t.segments, "sent", r.SegmentsSentCount)
		add(t.segments, "spillover", r.SegmentsSpilloverCount)
		add(t.segments, "rejected", r.SegmentsRejectedCount)
		if e := r.BackendConnectionErrors; e != nil {
			add(t.errors, "timeout", e.TimeoutCount)
			add(t.errors, "connection_refused", e.ConnectionRefusedCount)
			add(t.errors, "http_4xx", e.HTTPCode4XXCount)
			add(t.errors, "http_5xx", e.HTTPCode5XXCount)
			add(t.errors, "unknown_host", e.UnknownHostCount)
			add(t.errors, "other", e.OtherCount)
		}
		t.records.Inc()
	}
	return struct{}{}, nil
}
