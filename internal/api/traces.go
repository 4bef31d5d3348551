package api

import (
	"context"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/query"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// maxBatchGetTraces is how many trace ids X-Ray accepts per BatchGetTraces.
const maxBatchGetTraces = 5

func (s *Server) putTraceSegments(_ context.Context, body []byte) (any, error) {
	var in xray.PutTraceSegmentsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.TraceSegmentDocuments == nil {
		return nil, invalid("TraceSegmentDocuments is required")
	}
	out := xray.PutTraceSegmentsOutput{UnprocessedTraceSegments: []xray.UnprocessedTraceSegment{}}
	var accepted []model.Span
	for _, doc := range in.TraceSegmentDocuments {
		spans, err := xray.Decode([]byte(doc))
		if err != nil {
			var de *xray.DocError
			if !errors.As(err, &de) {
				de = &xray.DocError{Code: xray.CodeInvalidSegment, Message: err.Error()}
			}
			s.cfg.Ingest.Reject(de.Code, de.ID, err)
			out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments,
				xray.UnprocessedTraceSegment{Id: de.ID, ErrorCode: de.Code, Message: de.Message})
			continue
		}
		accepted = append(accepted, spans...)
	}
	s.cfg.Ingest.CountReceived("api", len(in.TraceSegmentDocuments))
	if len(accepted) > 0 {
		if err := s.cfg.Ingest.Spans(accepted); err != nil {
			return nil, &Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailableException", Message: err.Error()}
		}
	}
	return out, nil
}

func (s *Server) batchGetTraces(ctx context.Context, body []byte) (any, error) {
	var in xray.BatchGetTracesInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.TraceIds) == 0 {
		return nil, invalid("TraceIds is required")
	}
	if len(in.TraceIds) > maxBatchGetTraces {
		return nil, invalid("TraceIds has %d ids; at most %d are allowed per call", len(in.TraceIds), maxBatchGetTraces)
	}
	out := xray.BatchGetTracesOutput{Traces: []xray.Trace{}, UnprocessedTraceIds: []string{}}
	for _, raw := range in.TraceIds {
		id, err := model.ParseTraceID(raw)
		if err != nil {
			out.UnprocessedTraceIds = append(out.UnprocessedTraceIds, raw)
			continue
		}
		recs, err := s.cfg.Store.Trace(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			out.UnprocessedTraceIds = append(out.UnprocessedTraceIds, raw)
			continue
		}
		a, err := trace.Assemble(id, recs)
		if err != nil {
			return nil, err
		}
		t := xray.Trace{Id: id.String(), Duration: a.Duration, Segments: make([]xray.Segment, len(a.Segments))}
		for i, seg := range a.Segments {
			t.Segments[i] = xray.Segment{Id: seg.ID, Document: string(seg.Document)}
		}
		out.Traces = append(out.Traces, t)
	}
	return out, nil
}

// Limits of one GetTraceSummaries page: the summaries returned, and the
// traces examined (so that a sparse match cannot make one call scan
// everything).
const (
	pageSummaries = 100
	pageScanned   = 200_000
	// pageTime bounds one call's scan; a filter that must read each trace's
	// spans stops here and hands out a NextToken.
	pageTime = 2 * time.Second
	// eventLookback widens Event and Service scans backwards: a trace that
	// started this long before the range can still have activity in it.
	eventLookback = 3600
)

func (s *Server) getTraceSummaries(ctx context.Context, body []byte) (any, error) {
	var in xray.GetTraceSummariesInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.StartTime == nil || in.EndTime == nil {
		return nil, invalid("StartTime and EndTime are required")
	}
	start, end := *in.StartTime, *in.EndTime
	if math.IsNaN(start) || math.IsNaN(end) || start < 0 || end <= start {
		return nil, invalid("EndTime must be after StartTime")
	}
	var filter filterexpr.Expr
	needsSpans := false
	if in.FilterExpression != nil && strings.TrimSpace(*in.FilterExpression) != "" {
		expr, err := filterexpr.Parse(*in.FilterExpression)
		if err != nil {
			return nil, invalid("FilterExpression: %v", err)
		}
		if expr, err = query.ExpandGroups(expr, s.groupLookup()); err != nil {
			return nil, invalid("FilterExpression: %v", err)
		}
		if err := query.Check(expr); err != nil {
			return nil, invalid("FilterExpression: %v", err)
		}
		filter, needsSpans = expr, query.NeedsSpans(expr)
	}
	rate, partial, err := sampleRate(in)
	if err != nil {
		return nil, err
	}
	rangeType := in.TimeRangeType
	if rangeType == "" {
		rangeType = "TraceId"
	}
	q := store.SummaryQuery{From: epochFloor(start), To: epochCeil(end)}
	switch rangeType {
	case "TraceId":
	case "Event", "Service":
		q.From = epochFloor(start - eventLookback)
	default:
		return nil, invalid("TimeRangeType %q is not one of TraceId, Event, Service", in.TimeRangeType)
	}
	if filter != nil {
		q.Hint = query.Hint(filter)
	}
	if in.NextToken != nil && *in.NextToken != "" {
		after, err := parseToken(*in.NextToken)
		if err != nil {
			return nil, err
		}
		q.After = &after
	}
	out := xray.GetTraceSummariesOutput{TraceSummaries: []xray.TraceSummary{}, ApproximateTime: start}
	var last model.TraceID
	scanned, more := 0, false
	deadline := s.cfg.Now().Add(pageTime)
	var scanErr error
	// examine decides on one scanned summary: keep it, skip it, or stop the
	// page before it (which then leaves it for the next page).
	examine := func(sum *model.Summary) (keep, stop bool) {
		if len(out.TraceSummaries) == pageSummaries || scanned == pageScanned ||
			(scanned%64 == 63 && s.cfg.Now().After(deadline)) {
			return false, true
		}
		scanned++
		last = sum.TraceID
		if partial && sampled(sum.TraceID) >= rate {
			return false, false // PartialScan: not even examined
		}
		if filter != nil {
			t := query.Trace{Summary: sum}
			if needsSpans {
				if t.Spans, scanErr = trace.Load(ctx, s.cfg.Store, sum.TraceID); scanErr != nil {
					return false, true
				}
			}
			if !query.Match(filter, &t) {
				return false, false
			}
		}
		switch rangeType {
		case "Event":
			if sum.Updated < start || sum.Start >= end {
				return false, false
			}
		case "Service":
			if sum.End < start || sum.End >= end {
				return false, false
			}
		}
		if !partial && rate < 1 && sampled(sum.TraceID) >= rate {
			return false, false
		}
		return true, false
	}
	output := func(sum *model.Summary) {
		ts := xray.SummaryOf(sum)
		if rangeType == "Event" {
			t := math.Max(math.Min(sum.Updated, end), start)
			ts.MatchedEventTime = &t
		}
		out.TraceSummaries = append(out.TraceSummaries, ts)
	}
	var fn func(*model.Summary) bool
	if filter == nil || query.HeadOnly(filter) {
		// Decide on the summary's head alone; decode whole only what is kept.
		stopNow := false
		q.Prefilter = func(sum *model.Summary) bool {
			keep, stop := examine(sum)
			stopNow = stop
			return keep || stop
		}
		fn = func(sum *model.Summary) bool {
			if stopNow {
				more = scanErr == nil
				return false
			}
			output(sum)
			return true
		}
	} else {
		fn = func(sum *model.Summary) bool {
			keep, stop := examine(sum)
			if stop {
				more = scanErr == nil
				return false
			}
			if keep {
				output(sum)
			}
			return true
		}
	}
	err = s.cfg.Store.Summaries(ctx, q, fn)
	if err == nil {
		err = scanErr
	}
	if err != nil {
		return nil, err
	}
	out.TracesProcessedCount = int64(scanned)
	if more {
		tok := hex.EncodeToString(last[:])
		out.NextToken = &tok
		out.ApproximateTime = float64(last.Epoch())
	}
	return out, nil
}

// sampleRate reads Sampling and SamplingStrategy. Both strategies keep the
// fraction Value of the traces, chosen by trace id so that pages are stable:
// FixedRate samples the matching traces; PartialScan examines only that
// fraction of the traces in the range (skipping the filter, and the spans it
// may read, for the rest), which is cheaper. Sampling without a strategy
// keeps everything.
func sampleRate(in xray.GetTraceSummariesInput) (rate float64, partial bool, err error) {
	if in.Sampling == nil || !*in.Sampling {
		return 1, false, nil
	}
	st := in.SamplingStrategy
	if st == nil || st.Name == "" {
		return 1, false, nil
	}
	if st.Name != "FixedRate" && st.Name != "PartialScan" {
		return 0, false, invalid("SamplingStrategy Name %q is not one of PartialScan, FixedRate", st.Name)
	}
	if st.Value == nil || *st.Value < 0 || *st.Value > 1 {
		return 0, false, invalid("SamplingStrategy %s needs a Value between 0 and 1", st.Name)
	}
	return *st.Value, st.Name == "PartialScan", nil
}

// sampled maps a trace id to [0, 1) uniformly and stably: FNV-1a, then
// splitmix64's finaliser, since FNV alone barely moves its high bits for ids
// that differ only at the end.
func sampled(id model.TraceID) float64 {
	h := fnv.New64a()
	h.Write(id[:])
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

func parseToken(tok string) (model.TraceID, error) {
	var id model.TraceID
	b, err := hex.DecodeString(tok)
	if err != nil || len(b) != len(id) {
		return id, invalid("NextToken %q is not a token this server issued", tok)
	}
	copy(id[:], b)
	return id, nil
}

func epochFloor(t float64) uint32 {
	if t <= 0 {
		return 0
	}
	if t >= math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(math.Floor(t))
}

func epochCeil(t float64) uint32 {
	if t >= math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(math.Ceil(t))
}

// groupLookup resolves group.name and group.arn in filter expressions to
// the groups' own filters; nil without the groups API.
func (s *Server) groupLookup() query.GroupLookup {
	if s.cfg.ServiceGraph == nil {
		return nil
	}
	return func(name, arn string) (filterexpr.Expr, error) {
		g, err := s.cfg.ServiceGraph.Resolve(name, arn)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(g.FilterExpression) == "" {
			return nil, nil
		}
		return filterexpr.Parse(g.FilterExpression)
	}
}
