package otlp

import (
	"encoding/binary"
	"sync"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// The window in which the first four bytes of a W3C trace id are taken for
// the trace's start second: X-Ray's 30 days of history before the span's
// start, and 5 minutes of clock skew after it (the collector's exporter uses
// 28 days and 5 minutes around the wall clock).
const (
	maxTraceAge  = 30 * 24 * 3600
	maxTraceSkew = 5 * 60
)

// epochs remembers the start second Fluoro gave each trace whose W3C id
// does not carry one, so that every span of the trace, whatever request or
// service it arrives from, maps to the same X-Ray id. It holds two
// generations: ids seen in the current one or the previous one are found;
// the previous generation is dropped when the current one fills.
type epochs struct {
	mu        sync.Mutex
	cur, prev map[[16]byte]uint32
	max       int
}

func newEpochs(max int) *epochs {
	return &epochs{cur: make(map[[16]byte]uint32), max: max}
}

// get returns the start second assigned to id, assigning start if the trace
// is new.
func (e *epochs) get(id [16]byte, start uint32) uint32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.cur[id]; ok {
		return v
	}
	if v, ok := e.prev[id]; ok {
		e.cur[id] = v
		return v
	}
	if len(e.cur) >= e.max {
		e.prev, e.cur = e.cur, make(map[[16]byte]uint32, len(e.cur))
	}
	e.cur[id] = start
	return start
}

// traceID maps a W3C trace id to an X-Ray one. An id whose first four bytes
// read as a plausible start second for a span starting at startSec (at most
// 30 days before it, at most 5 minutes after) is kept byte for byte: that is
// what the OpenTelemetry X-Ray id generator produces and what the X-Ray
// propagator carries, so such a trace stays one trace across X-Ray SDKs and
// OpenTelemetry. Any other id (the random ids of the default OpenTelemetry
// generator) keeps its last 12 bytes, and its first 4 become the start
// second of the first span of the trace Fluoro saw, remembered in e; the
// original first 4 bytes are folded into bytes 4–7 so that two W3C ids that
// differ only there stay distinct.
func traceID(id [16]byte, startSec uint32, e *epochs) model.TraceID {
	epoch := binary.BigEndian.Uint32(id[:4])
	if plausible(epoch, startSec) {
		return model.TraceID(id)
	}
	out := model.TraceID(id)
	binary.BigEndian.PutUint32(out[:4], e.get(id, startSec))
	binary.BigEndian.PutUint32(out[4:8], binary.BigEndian.Uint32(id[4:8])^epoch)
	return out
}

func plausible(epoch, startSec uint32) bool {
	return int64(epoch) >= int64(startSec)-maxTraceAge && int64(epoch) <= int64(startSec)+maxTraceSkew
}

// derivedID makes a deterministic span id from a span id and a salt, for the
// ids Fluoro must invent (the service segment of a client root span,
// exception ids), so that mapping the same span twice gives the same
// documents. It is never zero.
func derivedID(span [8]byte, salt uint64) model.SpanID {
	x := binary.BigEndian.Uint64(span[:]) ^ (salt+1)*0x9e3779b97f4a7c15
	// splitmix64 finaliser
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	if x == 0 {
		x = 1
	}
	return model.SpanID(x)
}
