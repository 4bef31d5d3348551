package daemon

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a segment document is dropped, the values of
// fluoro_daemon_segments_dropped_total's reason label.
const (
	dropNoHeader     = "no_header"      // datagram without a header line
	dropBadHeader    = "bad_header"     // header is not {"format":"json","version":1}
	dropNoBody       = "no_body"        // header and nothing after it
	dropTooLarge     = "too_large"      // datagram longer than a read buffer
	dropQueueFull    = "queue_full"     // senders busy and no spool to take the batch
	dropUpstream     = "upstream"       // server unreachable after every attempt and no spool
	dropSpoolCap     = "spool_cap"      // oldest spooled batch dropped to stay under the cap
	dropSpoolError   = "spool_error"    // the spool could not be written (disk full, I/O error)
	dropSpoolCorrupt = "spool_corrupt"  // a spooled record failed its checksum
	dropUnprocessed  = "unprocessed"    // the server rejected the document (UnprocessedTraceSegments)
	dropBatchInvalid = "batch_rejected" // the server refused the whole call with a 4xx
	dropShutdown     = "shutdown"       // still unsent when the shutdown deadline passed, no spool
)

// Kinds of failed calls to the server, X-Ray's BackendConnectionErrors.
const (
	errTimeout      = "timeout"
	errRefused      = "connection_refused"
	errHTTP4xx      = "http_4xx"
	errHTTP5xx      = "http_5xx"
	errUnknownHost  = "unknown_host"
	errOther        = "other"
	numBackendKinds = 6
)

var backendKinds = [numBackendKinds]string{errTimeout, errRefused, errHTTP4xx, errHTTP5xx, errUnknownHost, errOther}

// metrics are the daemon's counters. The Prometheus ones serve /metrics; the
// tele* atomics are the running sums PutTelemetryRecords reports as deltas.
type metrics struct {
	received      prometheus.Counter
	dropped       *prometheus.CounterVec
	unprocessed   *prometheus.CounterVec
	sent          prometheus.Counter
	batches       prometheus.Counter
	retries       prometheus.Counter
	backendErrors *prometheus.CounterVec
	spooledRecs   prometheus.Counter
	spooledBytes  prometheus.Counter
	replayedRecs  prometheus.Counter
	replayedSegs  prometheus.Counter
	telemetrySent prometheus.Counter
	upstreamUp    prometheus.Gauge
	otlpReceived  *prometheus.CounterVec
	otlpRejected  *prometheus.CounterVec
	redacted      prometheus.Counter

	// Pre-resolved children for the hot path.
	dropHeader, dropNoHdr, dropEmpty, dropLarge prometheus.Counter

	teleReceived, teleSent, teleSpillover, teleRejected atomic.Int64
	teleBackend                                         [numBackendKinds]atomic.Int64
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_daemon_segments_received_total",
			Help: "Datagrams read from the UDP socket (and documents given to the relay by other sources)."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fluoro_daemon_segments_dropped_total",
			Help: "Segment documents dropped, by reason."}, []string{"reason"}),
		unprocessed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fluoro_daemon_segments_unprocessed_total",
			Help: "Documents the server rejected in UnprocessedTraceSegments, by X-Ray error code (also counted as dropped, reason unprocessed)."}, []string{"code"}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_daemon_segments_sent_total",
			Help: "Documents the server accepted."}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_daemon_batches_sent_total",
			Help: "PutTraceSegments calls the server answered with 200, replays included."}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_daemon_send_retries_total",
			Help: "PutTraceSegments attempts after a first failed one."}),
		backendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fluoro_daemon_backend_errors_total",
			Help: "Failed calls to the server, by kind (X-Ray's BackendConnectionErrors)."}, []string{"kind"}),
		spooledRecs: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_daemon_spooled_batches_total",
			Help: "Batches written to the spool."}),
		spooledBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_daemon_spooled_bytes_total",
			Help: "Bytes written to the spool, record headers included."}),
		replayedRecs: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_daemon_replayed_batches_total",
			Help: "Spooled batches the server has since accepted."}),
		replayedSegs: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_daemon_replayed_segments_total",
			Help: "Documents in the spooled batches the server has since accepted."}),
		telemetrySent: prometheus.NewCounter(prometheus.CounterOpts{Name: "fluoro_daemon_telemetry_records_sent_total",
			Help: "TelemetryRecords the server accepted."}),
		upstreamUp: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fluoro_daemon_upstream_up",
			Help: "1 while the last call to the server succeeded, 0 while batches go to the spool."}),
	}
	m.upstreamUp.Set(1)
	m.dropHeader = m.dropped.WithLabelValues(dropBadHeader)
	m.dropNoHdr = m.dropped.WithLabelValues(dropNoHeader)
	m.dropEmpty = m.dropped.WithLabelValues(dropNoBody)
	m.dropLarge = m.dropped.WithLabelValues(dropTooLarge)
	for _, k := range backendKinds {
		m.backendErrors.WithLabelValues(k)
	}
	for _, r := range []string{dropQueueFull, dropUpstream, dropSpoolCap, dropSpoolError, dropSpoolCorrupt, dropUnprocessed, dropBatchInvalid, dropShutdown} {
		m.dropped.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.received, m.dropped, m.unprocessed, m.sent, m.batches, m.retries, m.backendErrors,
			m.spooledRecs, m.spooledBytes, m.replayedRecs, m.replayedSegs, m.telemetrySent, m.upstreamUp)
	}
	newOTLPMetrics(m, reg)
	return m
}

// registerSpool adds the spool's gauges.
func registerSpool(reg prometheus.Registerer, sp *spool) {
	if reg != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fluoro_daemon_spool_bytes",
				Help: "Bytes the spool holds on disk."}, func() float64 { return float64(sp.stats().bytes) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fluoro_daemon_spool_batches",
				Help: "Spooled batches not yet replayed."}, func() float64 { return float64(sp.stats().records) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fluoro_daemon_spool_segments",
				Help: "Documents in spooled batches not yet replayed."}, func() float64 { return float64(sp.stats().segments) }))
	}
}

// drop counts n documents dropped for reason; every reason but the header
// ones is X-Ray's spillover (the datagram was good, the daemon lost it).
func (m *metrics) drop(reason string, n int) {
	if n <= 0 {
		return
	}
	m.dropped.WithLabelValues(reason).Add(float64(n))
	switch reason {
	case dropUnprocessed, dropBatchInvalid:
		// the server's rejections: X-Ray counts them as sent-then-rejected
	default:
		m.teleSpillover.Add(int64(n))
	}
}

// backendError counts one failed call.
func (m *metrics) backendError(kind string) {
	m.backendErrors.WithLabelValues(kind).Inc()
	for i, k := range backendKinds {
		if k == kind {
			m.teleBackend[i].Add(1)
		}
	}
}

// spoolDrop is the spool's onDrop.
func (m *metrics) spoolDrop(reason string, records, segments int) {
	m.drop(reason, segments)
}
