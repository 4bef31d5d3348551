// Package store defines the storage seam: what Fluoro asks of a storage
// engine. Engines live in sub-packages (pebble: the embedded default); every
// engine passes the conformance suite in storetest.
package store

import (
	"context"
	"errors"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("store is closed")

// Record is one stored span document.
type Record struct {
	ID          model.SpanID
	ParentID    model.SpanID
	Independent bool
	InProgress  bool
	Doc         []byte
}

// SummaryQuery selects trace summaries by the start second carried in the
// trace id: From inclusive, To exclusive (epoch seconds).
type SummaryQuery struct {
	From, To uint32
	// After resumes a scan: only traces ordered strictly after it are
	// returned. The scan runs newest first, so "after" means older.
	After *model.TraceID
	// Hint, when set, lets the engine skip traces that cannot match.
	Hint *Hint
	// Prefilter, when set, is called first for every summary scanned, with
	// only its head decoded: TraceID, the times, the flags, Revision, Spans
	// and HTTP, whose strings are valid only during the call. Summaries it
	// rejects are skipped without decoding the rest; fn gets, whole, only
	// those it accepts.
	Prefilter func(*model.Summary) bool
}

// Store persists span documents and trace summaries.
//
// Writes are durable once Sync returns; between Syncs a crash may lose what
// was written since the last one. Implementations are safe for concurrent use.
type Store interface {
	// Append stores spans and marks their traces pending (see Pending). A
	// span replaces a stored span with the same trace and id, except that an
	// in-progress span never replaces a complete one. Spans need not be
	// sorted; the Doc slices are not retained.
	Append(ctx context.Context, spans []model.Span) error
	// Trace returns every stored span of a trace, ordered by id; an
	// unknown trace yields no records and no error.
	Trace(ctx context.Context, id model.TraceID) ([]Record, error)
	// PutSummaries stores summaries, replacing earlier ones of the same
	// traces, and clears their traces' pending marks.
	PutSummaries(ctx context.Context, sums []model.Summary) error
	// Summary returns a trace's stored summary; ok is false if it has none.
	Summary(ctx context.Context, id model.TraceID) (sum model.Summary, ok bool, err error)
	// Summaries calls fn with the summaries q selects, newest trace id
	// first, until fn returns false. The summary passed to fn is valid only
	// during the call.
	Summaries(ctx context.Context, q SummaryQuery, fn func(*model.Summary) bool) error
	// Pending calls fn for each trace with spans appended but no summary put
	// since, until fn returns false: what a restart after a crash must
	// summarise again.
	Pending(ctx context.Context, fn func(model.TraceID) bool) error
	// DeleteBefore removes spans, summaries and pending marks of traces whose
	// id carries a start second before epoch, and graph buckets that start
	// before it.
	DeleteBefore(ctx context.Context, epoch uint32) error
	// PutGraphBuckets stores pre-aggregated service-graph buckets, replacing
	// those with the same Start and Group. Like summaries they are durable
	// after the next Sync. The Data slices are not retained.
	PutGraphBuckets(ctx context.Context, buckets []GraphBucket) error
	// GraphBuckets calls fn with group's buckets whose Start is in
	// [from, to), in increasing Start, until fn returns false. The bucket
	// passed to fn is valid only during the call.
	GraphBuckets(ctx context.Context, group string, from, to uint32, fn func(GraphBucket) bool) error
	// Sync makes everything written so far durable.
	Sync() error
	// Objects is the store's small, durable key-value space for
	// configuration: sampling rules, groups, boosts, dashboards.
	Objects() Objects
	// Stats reports the engine's size on disk and counts, for /metrics.
	Stats() Stats
	// Close syncs and releases the store. Calls after Close return ErrClosed.
	Close() error
}

// GraphBucket is one time bucket of a group's service graph, encoded by
// package servicegraph (opaque to the store). Group is non-empty and has no
// NUL byte.
type GraphBucket struct {
	Start uint32 // epoch second the bucket begins at
	Group string
	Data  []byte
}

// Stats is a snapshot of an engine's size.
type Stats struct {
	// DiskBytes is everything the engine has on disk, logs included.
	DiskBytes int64
	// TableBytes is the size of the stored data alone, after compression.
	TableBytes int64
}

// Objects holds small named configuration objects, grouped by kind (for
// example "sampling-rule" or "group"). Unlike spans, objects are durable as
// soon as a call returns, are never removed by retention, and are few (tens
// of thousands at most): List reads a whole kind. Values are opaque bytes
// (callers encode JSON); the slices passed in are not retained and the ones
// returned belong to the caller. Kind and name are non-empty and must not
// contain a NUL byte.
type Objects interface {
	// Put creates or replaces an object.
	Put(ctx context.Context, kind, name string, value []byte) error
	// Get returns an object; ok is false if there is none.
	Get(ctx context.Context, kind, name string) (value []byte, ok bool, err error)
	// Delete removes an object; deleting an absent object is not an error.
	// ok reports whether it existed.
	Delete(ctx context.Context, kind, name string) (ok bool, err error)
	// List calls fn for every object of kind, ordered by name, until fn
	// returns false. The value is valid only during the call.
	List(ctx context.Context, kind string, fn func(name string, value []byte) bool) error
}
