package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// telemetryRecord is X-Ray's TelemetryRecord: counts over one interval.
type telemetryRecord struct {
	Timestamp               float64
	SegmentsReceivedCount   int64
	SegmentsSentCount       int64
	SegmentsSpilloverCount  int64
	SegmentsRejectedCount   int64
	BackendConnectionErrors backendConnectionErrors
}

type backendConnectionErrors struct {
	TimeoutCount           int64
	ConnectionRefusedCount int64
	HTTPCode4XXCount       int64
	HTTPCode5XXCount       int64
	UnknownHostCount       int64
	OtherCount             int64
}

type putTelemetryRecordsInput struct {
	TelemetryRecords []telemetryRecord
	EC2InstanceId    string `json:",omitempty"`
	Hostname         string `json:",omitempty"`
	ResourceARN      string `json:",omitempty"`
}

const (
	maxTelemetryPending = 30 // records kept while the server does not take them (X-Ray's buffer)
	telemetryChunk      = 10 // records per call (X-Ray's chunk)
)

// telemetry makes one record per interval from the counters' deltas and
// sends pending records with PutTelemetryRecords, as the X-Ray daemon does.
// An interval with nothing to report makes no record.
type telemetry struct {
	cfg  Config
	m    *metrics
	up   *upstream
	log  *slog.Logger
	prev [4 + numBackendKinds]int64

	pending []telemetryRecord
	stop    chan struct{}
	wg      sync.WaitGroup
}

func newTelemetry(cfg Config, m *metrics, up *upstream, log *slog.Logger) *telemetry {
	return &telemetry{cfg: cfg, m: m, up: up, log: log, stop: make(chan struct{})}
}

func (t *telemetry) start() {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		tick := time.NewTicker(t.cfg.TelemetryInterval)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case now := <-tick.C:
				t.record(now)
				t.send()
			}
		}
	}()
}

func (t *telemetry) close() {
	close(t.stop)
	t.wg.Wait()
}

// record appends the deltas since the last record, if any is not zero.
func (t *telemetry) record(now time.Time) {
	var cur [4 + numBackendKinds]int64
	cur[0], cur[1], cur[2], cur[3] = t.m.teleReceived.Load(), t.m.teleSent.Load(), t.m.teleSpillover.Load(), t.m.teleRejected.Load()
	for i := range numBackendKinds {
		cur[4+i] = t.m.teleBackend[i].Load()
	}
	var d [len(cur)]int64
	any := false
	for i := range cur {
		d[i] = cur[i] - t.prev[i]
		any = any || d[i] != 0
	}
	t.prev = cur
	if !any {
		return
	}
	rec := telemetryRecord{
		Timestamp:             float64(now.UnixMilli()) / 1e3,
		SegmentsReceivedCount: d[0], SegmentsSentCount: d[1], SegmentsSpilloverCount: d[2], SegmentsRejectedCount: d[3],
	}
	for i, k := range backendKinds {
		v := d[4+i]
		switch k {
		case errTimeout:
			rec.BackendConnectionErrors.TimeoutCount = v
		case errRefused:
			rec.BackendConnectionErrors.ConnectionRefusedCount = v
		case errHTTP4xx:
			rec.BackendConnectionErrors.HTTPCode4XXCount = v
		case errHTTP5xx:
			rec.BackendConnectionErrors.HTTPCode5XXCount = v
		case errUnknownHost:
			rec.BackendConnectionErrors.UnknownHostCount = v
		default:
			rec.BackendConnectionErrors.OtherCount = v
		}
	}
	t.pending = append(t.pending, rec)
	if len(t.pending) > maxTelemetryPending {
		t.pending = t.pending[len(t.pending)-maxTelemetryPending:]
	}
}

// send posts pending records, oldest first, in chunks; a chunk the server
// does not take stays pending for the next interval.
func (t *telemetry) send() {
	for len(t.pending) > 0 {
		n := min(len(t.pending), telemetryChunk)
		body, err := json.Marshal(putTelemetryRecordsInput{TelemetryRecords: t.pending[:n],
			EC2InstanceId: t.cfg.InstanceID, Hostname: t.cfg.Hostname, ResourceARN: t.cfg.ResourceARN})
		if err != nil {
			t.log.Error("encode telemetry", "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), t.cfg.RequestTimeout)
		status, resp, err := t.up.post(ctx, t.up.telemetryURL, body)
		cancel()
		t.up.putBuf(resp)
		if err != nil || status != http.StatusOK {
			return
		}
		t.m.telemetrySent.Add(float64(n))
		t.pending = t.pending[n:]
	}
}
