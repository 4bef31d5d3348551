package analytics

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
	"github.com/fluoro-dev/fluoro/internal/trace"
)

// TestSelect stores 100 traces one second apart (every fifth faulted) and
// checks selection, even sampling and span loading.
func TestSelect(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(t.TempDir(), embedded.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var spans []model.Span
	var sums []model.Summary
	for i := 0; i < 100; i++ {
		var id model.TraceID
		binary.BigEndian.PutUint32(id[:4], uint32(t0)+uint32(i))
		binary.BigEndian.PutUint64(id[8:], uint64(i))
		s := model.Span{TraceID: id, Root: model.Entity{ID: model.SpanID(i + 1), Name: "svc", Start: t0 + float64(i), End: t0 + float64(i) + 0.1, Fault: i%5 == 0},
			Doc: fmt.Appendf(nil, `{"trace_id":"%s","id":"%s","name":"svc","start_time":%f,"end_time":%f,"fault":%t}`,
				id, model.SpanID(i+1), t0+float64(i), t0+float64(i)+0.1, i%5 == 0)}
		spans = append(spans, s)
		sums = append(sums, trace.Summarize([]*model.Span{&s}))
	}
	if err := st.Append(ctx, spans); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSummaries(ctx, sums); err != nil {
		t.Fatal(err)
	}
	run := func(req Request, withSpans bool) (Coverage, []float64) {
		t.Helper()
		var starts []float64
		cov, err := Select(ctx, st, req, withSpans, func(tr *Trace) error {
			if withSpans && len(tr.Spans) != 1 {
				t.Errorf("trace %s: %d spans loaded", tr.Summary.TraceID, len(tr.Spans))
			}
			starts = append(starts, tr.Summary.Start)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(starts)
		return cov, starts
	}
	cov, starts := run(Request{Start: t0, End: t0 + 100}, true)
	if cov != (Coverage{Matched: 100, Analyzed: 100}) || len(starts) != 100 {
		t.Errorf("all: %+v, %d traces", cov, len(starts))
	}
	cov, starts = run(Request{Start: t0, End: t0 + 100, Limit: 10}, false)
	if cov != (Coverage{Matched: 100, Analyzed: 10, Sampled: true}) || len(starts) != 10 {
		t.Fatalf("sampled: %+v, %d traces", cov, len(starts))
	}
	for i := 1; i < len(starts); i++ {
		if gap := starts[i] - starts[i-1]; gap != 10 {
			t.Errorf("sampled starts %v are not evenly spaced", starts)
			break
		}
	}
	cov, _ = run(Request{Start: t0, End: t0 + 100, Filter: "fault"}, false)
	if cov.Matched != 20 || cov.Analyzed != 20 {
		t.Errorf("filter fault: %+v, want 20", cov)
	}
	cov, _ = run(Request{Start: t0 + 50, End: t0 + 60, Filter: `service("svc") { fault }`}, true)
	if cov.Matched != 2 {
		t.Errorf("filter with spans over 10 s: %+v, want 2", cov)
	}
	_, err = Select(ctx, st, Request{Start: t0, End: t0 + 1, Filter: "http.status = "}, false, func(*Trace) error { return nil })
	var pe *ParamError
	var fe *filterexpr.Error
	if !errors.As(err, &pe) || pe.Param != "filter" || !errors.As(err, &fe) || fe.Line != 1 {
		t.Errorf("bad filter: %v", err)
	}
	stop := errors.New("stop")
	if _, err := Select(ctx, st, Request{Start: t0, End: t0 + 100}, false, func(*Trace) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error: %v", err)
	}
	for _, req := range []Request{{Start: 5, End: 5}, {Start: t0, End: t0 + 1, Limit: MaxLimit + 1}} {
		if _, err := Select(ctx, st, req, false, func(*Trace) error { return nil }); !errors.As(err, &pe) {
			t.Errorf("%+v: %v, want a ParamError", req, err)
		}
	}
}
