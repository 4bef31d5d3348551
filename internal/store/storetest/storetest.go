// Package storetest is the conformance suite of the storage seam: every
// engine behind store.Store runs Run from its own tests. The suite checks
// only what the interface's doc comments promise, so it must stay free of
// anything one engine happens to do.
package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// Run runs the conformance suite against the engine open opens. open opens
// the store called name for test t: opening the same name again within one
// test, after the previous handle was closed, must yield the same data, and
// different tests must never share data. The suite closes every store it
// opens.
func Run(t *testing.T, open func(t *testing.T, name string) store.Store) {
	s := suite{open: open}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"AppendTrace", s.appendTrace},
		{"UnknownTrace", s.unknownTrace},
		{"TraceBoundaries", s.traceBoundaries},
		{"Replace", s.replace},
		{"ReplaceAcrossReopen", s.replaceAcrossReopen},
		{"DocNotRetained", s.docNotRetained},
		{"Interleaved", s.interleaved},
		{"SummaryRoundTrip", s.summaryRoundTrip},
		{"SummaryReplace", s.summaryReplace},
		{"SummariesOrder", s.summariesOrder},
		{"SummariesRange", s.summariesRange},
		{"SummariesAfter", s.summariesAfter},
		{"SummariesPaging", s.summariesPaging},
		{"SummariesStop", s.summariesStop},
		{"SummariesHint", s.summariesHint},
		{"SummariesPrefilter", s.summariesPrefilter},
		{"Pending", s.pending},
		{"DeleteBefore", s.deleteBefore},
		{"Persistence", s.persistence},
		{"Closed", s.closed},
		{"Concurrent", s.concurrent},
		{"Objects", s.objects},
		{"ObjectsPersist", s.objectsPersist},
		{"GraphBuckets", s.graphBuckets},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
}

// TraceID returns a trace id that carries start second epoch and n in its
// random part, so that ids sort by (epoch, n).
func TraceID(epoch uint32, n uint64) model.TraceID {
	var id model.TraceID
	binary.BigEndian.PutUint32(id[0:4], epoch)
	binary.BigEndian.PutUint32(id[4:8], 0x5eed0000)
	binary.BigEndian.PutUint64(id[8:16], n)
	return id
}

// Span returns a complete span of trace tid with a small JSON document
// naming it; note ends up in the document, so that two versions of one span
// differ. A span with a parent is an independent subsegment.
func Span(tid model.TraceID, id, parent model.SpanID, note string) model.Span {
	start := float64(tid.Epoch()) + 0.25
	var b strings.Builder
	fmt.Fprintf(&b, `{"trace_id":%q,"id":%q,"name":"svc-%s","start_time":%.3f,"end_time":%.3f`,
		tid.String(), id.String(), note, start, start+0.5)
	if parent != 0 {
		fmt.Fprintf(&b, `,"type":"subsegment","parent_id":%q`, parent.String())
	}
	b.WriteString("}")
	return model.Span{
		TraceID:     tid,
		Independent: parent != 0,
		Root: model.Entity{
			ID: id, ParentID: parent, Name: "svc-" + note,
			Start: start, End: start + 0.5,
		},
		Doc: []byte(b.String()),
	}
}

// InProgress returns sp turned into an in-progress document: no end time.
func InProgress(sp model.Span) model.Span {
	start := sp.Root.Start
	var b strings.Builder
	fmt.Fprintf(&b, `{"trace_id":%q,"id":%q,"name":%q,"start_time":%.3f,"in_progress":true`,
		sp.TraceID.String(), sp.Root.ID.String(), sp.Root.Name, start)
	if sp.Root.ParentID != 0 {
		fmt.Fprintf(&b, `,"type":"subsegment","parent_id":%q`, sp.Root.ParentID.String())
	}
	b.WriteString("}")
	sp.Root.InProgress = true
	sp.Root.End = 0
	sp.Doc = []byte(b.String())
	return sp
}

// Record returns the record a store should hold for sp.
func Record(sp model.Span) store.Record {
	return store.Record{
		ID:          sp.Root.ID,
		ParentID:    sp.Root.ParentID,
		Independent: sp.Independent,
		InProgress:  sp.Root.InProgress,
		Doc:         bytes.Clone(sp.Doc),
	}
}

type suite struct {
	open func(t *testing.T, name string) store.Store
}

// openStore opens name and closes it when the test ends, unless the test
// closed it first.
func (s suite) openStore(t *testing.T, name string) store.Store {
	t.Helper()
	st := s.open(t, name)
	if st == nil {
		t.Fatalf("open %q returned a nil store", name)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("close %q: %v", name, err)
		}
	})
	return st
}

// epoch0 is a realistic start second (2026-01-01) most tests build on.
const epoch0 = 1_767_225_600

func appendSpans(t *testing.T, st store.Store, spans ...model.Span) {
	t.Helper()
	if err := st.Append(context.Background(), spans); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

func putSummaries(t *testing.T, st store.Store, sums ...model.Summary) {
	t.Helper()
	if err := st.PutSummaries(context.Background(), sums); err != nil {
		t.Fatalf("PutSummaries: %v", err)
	}
}

func readTrace(t *testing.T, st store.Store, id model.TraceID) []store.Record {
	t.Helper()
	recs, err := st.Trace(context.Background(), id)
	if err != nil {
		t.Fatalf("Trace(%s): %v", id, err)
	}
	return recs
}

// wantTrace checks that trace id holds exactly the records of spans, in id
// order.
func wantTrace(t *testing.T, st store.Store, id model.TraceID, spans ...model.Span) {
	t.Helper()
	want := make([]store.Record, len(spans))
	for i, sp := range spans {
		want[i] = Record(sp)
	}
	slices.SortFunc(want, func(a, b store.Record) int { return cmpSpanID(a.ID, b.ID) })
	got := readTrace(t, st, id)
	if !equalRecords(got, want) {
		t.Errorf("Trace(%s):\ngot  %s\nwant %s", id, formatRecords(got), formatRecords(want))
	}
}

func cmpSpanID(a, b model.SpanID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// equalRecords treats a nil and an empty Doc alike: the contract says
// nothing about which one an empty document comes back as.
func equalRecords(a, b []store.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.ParentID != y.ParentID || x.Independent != y.Independent ||
			x.InProgress != y.InProgress || !bytes.Equal(x.Doc, y.Doc) {
			return false
		}
	}
	return true
}

func formatRecords(recs []store.Record) string {
	if len(recs) == 0 {
		return "[]"
	}
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "\n\t{id %s parent %s independent %t in-progress %t doc %s}",
			r.ID, r.ParentID, r.Independent, r.InProgress, r.Doc)
	}
	return b.String()
}

func (s suite) appendTrace(t *testing.T) {
	st := s.openStore(t, "a")
	tid := TraceID(epoch0, 1)
	root := Span(tid, 0x8000_0000_0000_0001, 0, "root") // sorts after small ids only if unsigned
	spans := []model.Span{
		root,
		Span(tid, 0xffff_ffff_ffff_ffff, root.Root.ID, "max"),
		Span(tid, 1, root.Root.ID, "one"),
		InProgress(Span(tid, 0x7fff_ffff_ffff_ffff, root.Root.ID, "open")),
		Span(tid, 0x42, 0x7fff_ffff_ffff_ffff, "nested"),
	}
	spans[2].Independent = false // a parent id without being independent must survive too
	empty := Span(tid, 0x43, 0, "empty")
	empty.Doc = nil
	spans = append(spans, empty)
	appendSpans(t, st, spans...)
	wantTrace(t, st, tid, spans...)

	// A second Append of other spans adds to the trace.
	more := []model.Span{Span(tid, 0x10, root.Root.ID, "later"), Span(tid, 0x9000_0000_0000_0000, root.Root.ID, "later2")}
	appendSpans(t, st, more...)
	wantTrace(t, st, tid, append(spans, more...)...)

	// Empty calls are not errors.
	if err := st.Append(context.Background(), nil); err != nil {
		t.Errorf("Append(nil): %v", err)
	}
	if err := st.PutSummaries(context.Background(), nil); err != nil {
		t.Errorf("PutSummaries(nil): %v", err)
	}
	if err := st.Sync(); err != nil {
		t.Errorf("Sync: %v", err)
	}
}

func (s suite) unknownTrace(t *testing.T) {
	st := s.openStore(t, "a")
	check := func(when string) {
		t.Helper()
		for _, id := range []model.TraceID{{}, TraceID(epoch0, 2), TraceID(epoch0+1, 1), TraceID(math.MaxUint32, math.MaxUint64)} {
			recs, err := st.Trace(context.Background(), id)
			if err != nil || len(recs) != 0 {
				t.Errorf("%s: Trace(%s) = %d records, %v; want none, nil", when, id, len(recs), err)
			}
		}
	}
	check("empty store")
	appendSpans(t, st, Span(TraceID(epoch0, 1), 1, 0, "x"), Span(TraceID(epoch0, 3), 1, 0, "y"))
	check("other traces stored")
}

// traceBoundaries checks that traces with neighbouring ids do not leak into
// each other, down to the extreme ids.
func (s suite) traceBoundaries(t *testing.T) {
	st := s.openStore(t, "a")
	var lo, hi model.TraceID
	for i := range hi {
		hi[i] = 0xff
	}
	ids := []model.TraceID{lo, TraceID(0, 1), TraceID(epoch0, 0), TraceID(epoch0, 1), TraceID(epoch0, 2),
		TraceID(epoch0+1, 0), TraceID(math.MaxUint32, math.MaxUint64-1), hi}
	byTrace := map[model.TraceID][]model.Span{}
	var all []model.Span
	for i, tid := range ids {
		for _, sid := range []model.SpanID{1, model.SpanID(i + 2), math.MaxUint64} {
			sp := Span(tid, sid, 0, fmt.Sprintf("t%d", i))
			byTrace[tid] = append(byTrace[tid], sp)
			all = append(all, sp)
		}
	}
	appendSpans(t, st, all...)
	for _, tid := range ids {
		wantTrace(t, st, tid, byTrace[tid]...)
	}
}

// replace covers the replacement rule of Append: a newer write replaces an
// older one, except that an in-progress span never replaces a complete one.
func (s suite) replace(t *testing.T) {
	st := s.openStore(t, "a")
	n := uint64(0)
	// run appends the versions, each in its own Append unless together, and
	// checks the trace holds want.
	run := func(name string, together bool, want int, versions ...model.Span) {
		t.Helper()
		n++
		tid := TraceID(epoch0, n)
		for i := range versions {
			versions[i].TraceID = tid
		}
		other := Span(tid, 0x99, 0, "bystander")
		if together {
			appendSpans(t, st, append([]model.Span{other}, versions...)...)
		} else {
			appendSpans(t, st, other)
			for _, v := range versions {
				appendSpans(t, st, v)
			}
		}
		got := readTrace(t, st, tid)
		wantRecs := []store.Record{Record(versions[want]), Record(other)}
		if !equalRecords(got, wantRecs) {
			t.Errorf("%s: Trace:\ngot  %s\nwant %s", name, formatRecords(got), formatRecords(wantRecs))
		}
	}
	tid := model.TraceID{} // replaced by run
	complete1 := Span(tid, 7, 0, "complete-1")
	complete2 := Span(tid, 7, 3, "complete-2") // also a new parent: the whole record is replaced
	open1 := InProgress(Span(tid, 7, 0, "open-1"))
	open2 := InProgress(Span(tid, 7, 0, "open-2"))

	run("complete replaces in-progress", false, 1, open1, complete1)
	run("in-progress after complete is ignored", false, 0, complete1, open1)
	run("newer complete replaces older", false, 1, complete1, complete2)
	run("newer in-progress replaces older in-progress", false, 1, open1, open2)
	run("in-progress, complete, in-progress", false, 1, open1, complete1, open2)
	run("complete, in-progress, complete", false, 2, complete1, open1, complete2)
	run("complete then in-progress in one Append", true, 0, complete1, open1)
	run("in-progress then complete in one Append", true, 1, open1, complete1)
}

// replaceAcrossReopen applies the replacement rule to spans written before
// the store was closed.
func (s suite) replaceAcrossReopen(t *testing.T) {
	st := s.openStore(t, "a")
	t1, t2, t3 := TraceID(epoch0, 1), TraceID(epoch0, 2), TraceID(epoch0, 3)
	c1 := Span(t1, 5, 0, "complete")
	o2 := InProgress(Span(t2, 5, 0, "open"))
	c3 := Span(t3, 5, 0, "complete-1")
	appendSpans(t, st, c1, o2, c3)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st = s.openStore(t, "a")
	o1 := InProgress(Span(t1, 5, 0, "open"))
	c2 := Span(t2, 5, 0, "complete")
	c3b := Span(t3, 5, 0, "complete-2")
	appendSpans(t, st, o1, c2, c3b)
	wantTrace(t, st, t1, c1)
	wantTrace(t, st, t2, c2)
	wantTrace(t, st, t3, c3b)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st = s.openStore(t, "a")
	wantTrace(t, st, t1, c1)
	wantTrace(t, st, t2, c2)
	wantTrace(t, st, t3, c3b)
}

func (s suite) docNotRetained(t *testing.T) {
	st := s.openStore(t, "a")
	tid := TraceID(epoch0, 1)
	spans := []model.Span{Span(tid, 1, 0, "a"), Span(tid, 2, 1, "b")}
	want := []model.Span{spans[0], spans[1]}
	for i := range want {
		want[i].Doc = bytes.Clone(want[i].Doc)
	}
	appendSpans(t, st, spans...)
	for i := range spans {
		for j := range spans[i].Doc {
			spans[i].Doc[j] = 'X'
		}
		spans[i].Root.ID = 99
		spans[i].TraceID = TraceID(epoch0, 2)
	}
	wantTrace(t, st, tid, want...)
	wantTrace(t, st, TraceID(epoch0, 2))

	// Nor are the records Trace returns: they belong to the caller.
	for _, r := range readTrace(t, st, tid) {
		for j := range r.Doc {
			r.Doc[j] = 'Y'
		}
	}
	wantTrace(t, st, tid, want...)
}

// interleaved appends the spans of many traces shuffled into one Append.
func (s suite) interleaved(t *testing.T) {
	st := s.openStore(t, "a")
	rng := rand.New(rand.NewPCG(1, 2))
	const traces, perTrace = 50, 12
	byTrace := map[model.TraceID][]model.Span{}
	var all []model.Span
	for i := range traces {
		tid := TraceID(epoch0+uint32(i%5), rng.Uint64())
		for j := range perTrace {
			sp := Span(tid, model.SpanID(rng.Uint64()), 0, fmt.Sprintf("%d-%d", i, j))
			byTrace[tid] = append(byTrace[tid], sp)
			all = append(all, sp)
		}
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	appendSpans(t, st, all...)
	for tid, spans := range byTrace {
		wantTrace(t, st, tid, spans...)
	}
	got := pendingSet(t, st)
	if len(got) != traces {
		t.Errorf("Pending: %d traces, want %d", len(got), traces)
	}
	for tid := range byTrace {
		if !got[tid] {
			t.Errorf("Pending: %s missing", tid)
		}
	}
}

// FullSummary returns a summary of trace id with every field set.
func FullSummary(id model.TraceID) model.Summary {
	web := model.ServiceID{Name: "web", Type: "AWS::EC2::Instance", AccountID: "123456789012"}
	db := model.ServiceID{Name: "orders", Type: "AWS::DynamoDB::Table", AccountID: "123456789012"}
	queue := model.ServiceID{Name: "jobs", Type: "AWS::SQS::Queue"}
	start := float64(id.Epoch()) + 0.125
	return model.Summary{
		TraceID:      id,
		Start:        start,
		End:          start + 1.5,
		ResponseTime: 1.25,
		HasFault:     true,
		HasError:     true,
		HasThrottle:  true,
		IsPartial:    true,
		RootThrottle: true,
		HTTP: model.HTTP{
			Method: "POST", URL: "https://example.com/orders?id=7", UserAgent: "curl/8.5.0",
			ClientIP: "192.0.2.7", Status: 502, Traced: true,
		},
		Annotations: []model.SummaryAnnotation{
			{Key: "customer", Value: model.Value{Kind: model.String, Str: "ünïcode ✓"}, Services: []model.ServiceID{web}},
			{Key: "items", Value: model.Value{Kind: model.Number, Num: -3.5e-7}, Services: []model.ServiceID{web, db}},
			{Key: "retried", Value: model.Value{Kind: model.Bool, Bool: true}, Services: []model.ServiceID{queue}},
			{Key: "cached", Value: model.Value{Kind: model.Bool, Bool: false}},
		},
		Users: []model.SummaryUser{
			{Name: "alice", Services: []model.ServiceID{web}},
			{Name: "bob", Services: []model.ServiceID{web, queue}},
		},
		Services:          []model.ServiceID{web, db, queue},
		ResourceARNs:      []string{"arn:aws:dynamodb:eu-west-1:123456789012:table/orders", "arn:aws:sqs:eu-west-1:123456789012:jobs"},
		InstanceIDs:       []string{"i-0abc", "i-0def"},
		AvailabilityZones: []string{"eu-west-1a"},
		EntryPoint:        &model.ServiceID{Name: "web", Type: "AWS::EC2::Instance", AccountID: "123456789012"},
		HasInferred:       true,
		FaultRootCauses: []model.RootCause{{ClientImpacting: true, Services: []model.RootCauseService{
			{ID: web, EntityPath: []model.RootCauseEntity{{Name: "web"}, {Name: "DynamoDB", Remote: true}}},
			{ID: db, Inferred: true, EntityPath: []model.RootCauseEntity{{Name: "orders", Remote: true,
				Exceptions: []model.Exception{{ID: "0123456789abcdef", Type: "InternalServerError", Message: "try again", Remote: true}}}}},
		}}},
		ErrorRootCauses: []model.RootCause{{Services: []model.RootCauseService{{ID: queue, EntityPath: []model.RootCauseEntity{{Name: "jobs"}}}}}},
		ResponseTimeRootCauses: []model.RootCause{{ClientImpacting: true, Services: []model.RootCauseService{
			{ID: web, EntityPath: []model.RootCauseEntity{{Name: "web", Coverage: 1}, {Name: "DynamoDB", Coverage: 0.75, Remote: true}}},
		}}},
		Revision: 3,
		Spans:    17,
		Updated:  start + 2,
	}
}

// SmallSummary returns a summary of trace id with only a few fields set.
func SmallSummary(id model.TraceID, revision int) model.Summary {
	start := float64(id.Epoch())
	return model.Summary{TraceID: id, Start: start, End: start + 0.5, ResponseTime: 0.5, Revision: revision, Spans: 1}
}

func readSummary(t *testing.T, st store.Store, id model.TraceID) (model.Summary, bool) {
	t.Helper()
	sum, ok, err := st.Summary(context.Background(), id)
	if err != nil {
		t.Fatalf("Summary(%s): %v", id, err)
	}
	return sum, ok
}

func wantSummary(t *testing.T, st store.Store, want model.Summary) {
	t.Helper()
	got, ok := readSummary(t, st, want.TraceID)
	if !ok {
		t.Errorf("Summary(%s): not found", want.TraceID)
		return
	}
	if d := summaryDiff(got, want); d != "" {
		t.Errorf("Summary(%s):%s", want.TraceID, d)
	}
}

// summaryDiff lists the fields in which got and want differ.
func summaryDiff(got, want model.Summary) string {
	var b strings.Builder
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			fmt.Fprintf(&b, "\n\t%s: got %s, want %s", gv.Type().Field(i).Name, show(g), show(w))
		}
	}
	return b.String()
}

func show(v any) string {
	if p, ok := v.(*model.ServiceID); ok && p != nil {
		return fmt.Sprintf("&%+v", *p)
	}
	return fmt.Sprintf("%+v", v)
}

func (s suite) summaryRoundTrip(t *testing.T) {
	st := s.openStore(t, "a")
	full := FullSummary(TraceID(epoch0, 1))
	small := SmallSummary(TraceID(epoch0, 2), 0)
	zero := model.Summary{TraceID: TraceID(epoch0, 3)}
	putSummaries(t, st, full, small, zero)
	wantSummary(t, st, full)
	wantSummary(t, st, small)
	wantSummary(t, st, zero)
	if _, ok := readSummary(t, st, TraceID(epoch0, 4)); ok {
		t.Errorf("Summary of a trace without one: ok = true")
	}
	// Summaries hands out the same values.
	var got []model.Summary
	scan(t, st, store.SummaryQuery{From: epoch0, To: epoch0 + 1}, func(s *model.Summary) bool {
		got = append(got, cloneSummary(s))
		return true
	})
	want := []model.Summary{zero, small, full}
	if len(got) != len(want) {
		t.Fatalf("Summaries: %d summaries, want %d", len(got), len(want))
	}
	for i := range want {
		if d := summaryDiff(got[i], want[i]); d != "" {
			t.Errorf("Summaries, summary %d:%s", i, d)
		}
	}
}

// cloneSummary copies what the store may reuse after fn returns.
func cloneSummary(s *model.Summary) model.Summary {
	c := *s
	c.Annotations = slices.Clone(s.Annotations)
	for i := range c.Annotations {
		c.Annotations[i].Services = slices.Clone(c.Annotations[i].Services)
	}
	c.Users = slices.Clone(s.Users)
	for i := range c.Users {
		c.Users[i].Services = slices.Clone(c.Users[i].Services)
	}
	c.Services = slices.Clone(s.Services)
	c.ResourceARNs = slices.Clone(s.ResourceARNs)
	c.InstanceIDs = slices.Clone(s.InstanceIDs)
	c.AvailabilityZones = slices.Clone(s.AvailabilityZones)
	if s.EntryPoint != nil {
		ep := *s.EntryPoint
		c.EntryPoint = &ep
	}
	return c
}

func (s suite) summaryReplace(t *testing.T) {
	st := s.openStore(t, "a")
	id := TraceID(epoch0, 1)
	full := FullSummary(id)
	putSummaries(t, st, full)
	small := SmallSummary(id, 4)
	putSummaries(t, st, small)
	wantSummary(t, st, small) // no field of the full summary survives
	putSummaries(t, st, full)
	wantSummary(t, st, full)
	n := 0
	scan(t, st, store.SummaryQuery{From: 0, To: math.MaxUint32}, func(*model.Summary) bool { n++; return true })
	if n != 1 {
		t.Errorf("Summaries after replacing: %d summaries, want 1", n)
	}
}

func scan(t *testing.T, st store.Store, q store.SummaryQuery, fn func(*model.Summary) bool) {
	t.Helper()
	if err := st.Summaries(context.Background(), q, fn); err != nil {
		t.Fatalf("Summaries(%s): %v", formatQuery(q), err)
	}
}

// scanIDs returns the trace ids of the summaries q selects.
func scanIDs(t *testing.T, st store.Store, q store.SummaryQuery) []model.TraceID {
	t.Helper()
	var ids []model.TraceID
	scan(t, st, q, func(s *model.Summary) bool {
		ids = append(ids, s.TraceID)
		return true
	})
	return ids
}

func formatQuery(q store.SummaryQuery) string {
	after := "nil"
	if q.After != nil {
		after = q.After.String()
	}
	return fmt.Sprintf("From %d To %d After %s", q.From, q.To, after)
}

func formatIDs(ids []model.TraceID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// newestFirst sorts ids as Summaries must return them.
func newestFirst(ids []model.TraceID) []model.TraceID {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b model.TraceID) int { return bytes.Compare(b[:], a[:]) })
	return ids
}

// selectIDs returns ids whose epoch is in [from, to) and that sort before
// after, newest first.
func selectIDs(ids []model.TraceID, q store.SummaryQuery) []model.TraceID {
	var out []model.TraceID
	for _, id := range ids {
		if id.Epoch() < q.From || id.Epoch() >= q.To {
			continue
		}
		if q.After != nil && bytes.Compare(id[:], q.After[:]) >= 0 {
			continue
		}
		out = append(out, id)
	}
	return newestFirst(out)
}

func (s suite) summariesOrder(t *testing.T) {
	st := s.openStore(t, "a")
	rng := rand.New(rand.NewPCG(3, 4))
	var ids []model.TraceID
	var sums []model.Summary
	for i := range 200 {
		id := TraceID(epoch0+uint32(rng.IntN(20)), rng.Uint64())
		if i%3 == 0 {
			id[4] = byte(rng.Uint32()) // vary the first random byte too
		}
		ids = append(ids, id)
		sums = append(sums, SmallSummary(id, i))
	}
	rng.Shuffle(len(sums), func(i, j int) { sums[i], sums[j] = sums[j], sums[i] })
	putSummaries(t, st, sums[:100]...)
	putSummaries(t, st, sums[100:]...)
	got := scanIDs(t, st, store.SummaryQuery{From: 0, To: math.MaxUint32})
	if want := newestFirst(ids); !slices.Equal(got, want) {
		t.Errorf("Summaries:\ngot  %s\nwant %s", formatIDs(got), formatIDs(want))
	}
}

func (s suite) summariesRange(t *testing.T) {
	st := s.openStore(t, "a")
	var ids []model.TraceID
	for _, e := range []uint32{0, 1, 99, 100, 101, 102, 105, 106, 110, epoch0, math.MaxUint32 - 1, math.MaxUint32} {
		for n := range uint64(3) {
			id := TraceID(e, n*0x1111_1111_1111_1111)
			ids = append(ids, id)
			putSummaries(t, st, SmallSummary(id, 0))
		}
	}
	check := func(from, to uint32) {
		t.Helper()
		q := store.SummaryQuery{From: from, To: to}
		got := scanIDs(t, st, q)
		if want := selectIDs(ids, q); !slices.Equal(got, want) {
			t.Errorf("Summaries(%s):\ngot  %s\nwant %s", formatQuery(q), formatIDs(got), formatIDs(want))
		}
	}
	check(0, math.MaxUint32)
	check(100, 106) // 100..105: From inclusive, To exclusive
	check(101, 102)
	check(0, 1)
	check(1, 100)
	check(102, 105)
	check(epoch0, epoch0+1)
	check(math.MaxUint32-1, math.MaxUint32)
	// Empty ranges.
	check(103, 105) // nothing stored there
	check(100, 100)
	check(106, 100)
	check(0, 0)
	check(math.MaxUint32, math.MaxUint32)
	check(math.MaxUint32, 0)
}

func (s suite) summariesAfter(t *testing.T) {
	st := s.openStore(t, "a")
	var ids []model.TraceID
	for e := uint32(100); e < 110; e++ {
		for n := range uint64(4) {
			id := TraceID(e, n*10+10)
			ids = append(ids, id)
			putSummaries(t, st, SmallSummary(id, 0))
		}
	}
	check := func(from, to uint32, after model.TraceID) {
		t.Helper()
		q := store.SummaryQuery{From: from, To: to, After: &after}
		got := scanIDs(t, st, q)
		if want := selectIDs(ids, q); !slices.Equal(got, want) {
			t.Errorf("Summaries(%s):\ngot  %s\nwant %s", formatQuery(q), formatIDs(got), formatIDs(want))
		}
	}
	check(0, 200, TraceID(105, 30))   // a stored id: strictly older ones only
	check(0, 200, TraceID(105, 10))   // the oldest of its second
	check(0, 200, TraceID(105, 25))   // an id not stored
	check(0, 200, TraceID(105, 0))    // before every id of its second
	check(0, 200, TraceID(109, 40))   // the newest stored id
	check(102, 107, TraceID(108, 0))  // newer than To: the whole range
	check(102, 107, TraceID(102, 10)) // the oldest of the range: nothing
	check(102, 107, TraceID(101, 99)) // older than From: nothing
	check(102, 107, TraceID(106, 10)) // within the range
	check(0, 200, model.TraceID{})    // the smallest id: nothing
	check(0, 200, TraceID(500, 0))    // newer than everything: everything
	check(102, 102, TraceID(105, 30)) // empty range stays empty
	check(0, math.MaxUint32, TraceID(math.MaxUint32, math.MaxUint64))
}

// summariesPaging pages through 1,000 traces the way the API does.
func (s suite) summariesPaging(t *testing.T) {
	st := s.openStore(t, "a")
	rng := rand.New(rand.NewPCG(5, 6))
	const total, page = 1000, 7
	seen := map[model.TraceID]bool{}
	var ids []model.TraceID
	var sums []model.Summary
	for len(ids) < total {
		id := TraceID(epoch0+uint32(rng.IntN(50)), rng.Uint64()%64) // many collide on one second
		if seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
		sums = append(sums, SmallSummary(id, len(ids)))
	}
	putSummaries(t, st, sums...)
	q := store.SummaryQuery{From: epoch0 + 3, To: epoch0 + 47}
	want := selectIDs(ids, q)
	var got []model.TraceID
	for pages := 0; ; pages++ {
		if pages > total {
			t.Fatalf("paging did not end after %d pages", pages)
		}
		var this []model.TraceID
		scan(t, st, q, func(s *model.Summary) bool {
			this = append(this, s.TraceID)
			return len(this) < page
		})
		if len(this) > page {
			t.Fatalf("page %d: fn called %d times after returning false", pages, len(this)-page)
		}
		got = append(got, this...)
		if len(this) < page {
			break
		}
		last := this[len(this)-1]
		q.After = &last
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged Summaries: got %d ids, want %d; first difference at %d",
			len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []model.TraceID) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func (s suite) summariesStop(t *testing.T) {
	st := s.openStore(t, "a")
	for n := range uint64(10) {
		putSummaries(t, st, SmallSummary(TraceID(epoch0, n), 0))
	}
	for _, stop := range []int{1, 3, 10} {
		calls := 0
		scan(t, st, store.SummaryQuery{From: 0, To: math.MaxUint32}, func(*model.Summary) bool {
			calls++
			return calls < stop
		})
		if calls != stop {
			t.Errorf("fn returning false at call %d: called %d times", stop, calls)
		}
	}
}

func pendingSet(t *testing.T, st store.Store) map[model.TraceID]bool {
	t.Helper()
	got := map[model.TraceID]bool{}
	err := st.Pending(context.Background(), func(id model.TraceID) bool {
		if got[id] {
			t.Errorf("Pending: %s reported twice", id)
		}
		got[id] = true
		return true
	})
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	return got
}

func wantPending(t *testing.T, st store.Store, ids ...model.TraceID) {
	t.Helper()
	got := pendingSet(t, st)
	want := map[model.TraceID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Pending:\ngot  %s\nwant %s", formatIDs(sortedIDs(got)), formatIDs(sortedIDs(want)))
	}
}

func sortedIDs(set map[model.TraceID]bool) []model.TraceID {
	var ids []model.TraceID
	for id := range set {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b model.TraceID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

func (s suite) pending(t *testing.T) {
	st := s.openStore(t, "a")
	wantPending(t, st)
	a, b, c := TraceID(epoch0, 1), TraceID(epoch0+1, 2), TraceID(epoch0-1, 3)
	appendSpans(t, st, Span(a, 1, 0, "a"), Span(b, 1, 0, "b"), Span(a, 2, 1, "a"))
	appendSpans(t, st, Span(c, 1, 0, "c"))
	wantPending(t, st, a, b, c)

	putSummaries(t, st, SmallSummary(a, 0), SmallSummary(c, 0))
	wantPending(t, st, b)
	// More spans make a summarised trace pending again.
	appendSpans(t, st, Span(a, 3, 1, "a"))
	wantPending(t, st, a, b)
	// A summary of a trace without spans clears nothing else.
	putSummaries(t, st, SmallSummary(TraceID(epoch0, 9), 0))
	wantPending(t, st, a, b)
	putSummaries(t, st, SmallSummary(a, 1), SmallSummary(b, 0))
	wantPending(t, st)

	appendSpans(t, st, Span(a, 4, 1, "a"), Span(b, 2, 1, "b"), Span(c, 2, 1, "c"))
	calls := 0
	if err := st.Pending(context.Background(), func(model.TraceID) bool { calls++; return false }); err != nil {
		t.Fatalf("Pending: %v", err)
	}
	if calls != 1 {
		t.Errorf("Pending with fn returning false: called %d times, want 1", calls)
	}
}

func (s suite) deleteBefore(t *testing.T) {
	st := s.openStore(t, "a")
	const cutoff = epoch0 + 5
	type trace struct {
		id    model.TraceID
		spans []model.Span
		sum   bool
	}
	var traces []trace
	for e := uint32(epoch0); e < epoch0+10; e++ {
		for n := range uint64(3) {
			tr := trace{id: TraceID(e, n), sum: n != 0}
			for i := range 4 {
				tr.spans = append(tr.spans, Span(tr.id, model.SpanID(i+1), 0, "d"))
			}
			appendSpans(t, st, tr.spans...)
			if tr.sum {
				putSummaries(t, st, SmallSummary(tr.id, 0))
			}
			traces = append(traces, tr)
		}
	}
	// Traces at the extremes of the id space.
	early := trace{id: TraceID(0, 0), spans: []model.Span{Span(TraceID(0, 0), 1, 0, "early")}, sum: true}
	late := trace{id: TraceID(math.MaxUint32, math.MaxUint64), spans: []model.Span{Span(TraceID(math.MaxUint32, math.MaxUint64), 1, 0, "late")}, sum: true}
	for _, tr := range []trace{early, late} {
		appendSpans(t, st, tr.spans...)
		putSummaries(t, st, SmallSummary(tr.id, 0))
		appendSpans(t, st, tr.spans...) // pending again
		traces = append(traces, tr)
	}

	if err := st.DeleteBefore(context.Background(), 0); err != nil {
		t.Fatalf("DeleteBefore(0): %v", err)
	}
	if err := st.DeleteBefore(context.Background(), cutoff); err != nil {
		t.Fatalf("DeleteBefore: %v", err)
	}
	var kept, pending []model.TraceID
	for _, tr := range traces {
		_, hasSum := readSummary(t, st, tr.id)
		if tr.id.Epoch() < cutoff {
			if recs := readTrace(t, st, tr.id); len(recs) != 0 {
				t.Errorf("trace %s (epoch %d < %d): %d spans left", tr.id, tr.id.Epoch(), uint32(cutoff), len(recs))
			}
			if hasSum {
				t.Errorf("trace %s (epoch %d < %d): summary left", tr.id, tr.id.Epoch(), uint32(cutoff))
			}
			continue
		}
		wantTrace(t, st, tr.id, tr.spans...)
		if hasSum != tr.sum {
			t.Errorf("trace %s: has summary %t, want %t", tr.id, hasSum, tr.sum)
		}
		if tr.sum {
			kept = append(kept, tr.id)
		}
		if !tr.sum || tr.id == late.id {
			pending = append(pending, tr.id)
		}
	}
	wantPending(t, st, pending...)
	got := scanIDs(t, st, store.SummaryQuery{From: 0, To: math.MaxUint32})
	// The late trace's epoch is excluded by To.
	want := newestFirst(slices.DeleteFunc(kept, func(id model.TraceID) bool { return id == late.id }))
	if !slices.Equal(got, want) {
		t.Errorf("Summaries after DeleteBefore:\ngot  %s\nwant %s", formatIDs(got), formatIDs(want))
	}
	// Deleting again, or less, changes nothing.
	if err := st.DeleteBefore(context.Background(), cutoff-3); err != nil {
		t.Fatalf("DeleteBefore: %v", err)
	}
	if got2 := scanIDs(t, st, store.SummaryQuery{From: 0, To: math.MaxUint32}); !slices.Equal(got2, want) {
		t.Errorf("Summaries after a second DeleteBefore:\ngot  %s\nwant %s", formatIDs(got2), formatIDs(want))
	}
	// A deleted trace can be written again.
	again := Span(TraceID(epoch0, 1), 1, 0, "again")
	appendSpans(t, st, again)
	wantTrace(t, st, again.TraceID, again)
}

// persistence writes, syncs, writes more and closes; everything must be
// there after reopening, twice.
func (s suite) persistence(t *testing.T) {
	st := s.openStore(t, "p")
	before := []model.Span{Span(TraceID(epoch0, 1), 1, 0, "synced"), Span(TraceID(epoch0, 1), 2, 1, "synced")}
	sumBefore := FullSummary(TraceID(epoch0, 2))
	appendSpans(t, st, before...)
	appendSpans(t, st, Span(sumBefore.TraceID, 1, 0, "summarised"))
	putSummaries(t, st, sumBefore)
	if err := st.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	after := []model.Span{Span(TraceID(epoch0, 3), 1, 0, "closed"), InProgress(Span(TraceID(epoch0, 1), 3, 1, "closed"))}
	sumAfter := SmallSummary(TraceID(epoch0+1, 4), 2)
	appendSpans(t, st, after...)
	appendSpans(t, st, Span(sumAfter.TraceID, 1, 0, "summarised"))
	putSummaries(t, st, sumAfter)
	if err := st.DeleteBefore(context.Background(), epoch0-10); err != nil {
		t.Fatalf("DeleteBefore: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Another store of the same test is separate.
	other := s.openStore(t, "q")
	wantTrace(t, other, TraceID(epoch0, 1))
	wantPending(t, other)

	var held []store.Record
	for round := range 2 {
		st = s.openStore(t, "p")
		wantTrace(t, st, TraceID(epoch0, 1), before[0], before[1], after[1])
		if round == 0 {
			held = readTrace(t, st, TraceID(epoch0, 1))
		}
		wantTrace(t, st, TraceID(epoch0, 3), after[0])
		wantSummary(t, st, sumBefore)
		wantSummary(t, st, sumAfter)
		if got, want := scanIDs(t, st, store.SummaryQuery{From: 0, To: math.MaxUint32}), []model.TraceID{sumAfter.TraceID, sumBefore.TraceID}; !slices.Equal(got, want) {
			t.Errorf("round %d: Summaries:\ngot  %s\nwant %s", round, formatIDs(got), formatIDs(want))
		}
		wantPending(t, st, TraceID(epoch0, 1), TraceID(epoch0, 3))
		if err := st.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	// Records belong to the caller: they outlive the store that read them.
	want := []store.Record{Record(before[0]), Record(before[1]), Record(after[1])}
	if !equalRecords(held, want) {
		t.Errorf("records read before Close, after Close:\ngot  %s\nwant %s", formatRecords(held), formatRecords(want))
	}
}

func (s suite) closed(t *testing.T) {
	st := s.openStore(t, "a")
	tid := TraceID(epoch0, 1)
	appendSpans(t, st, Span(tid, 1, 0, "x"))
	putSummaries(t, st, SmallSummary(tid, 0))
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := context.Background()
	called := false
	calls := []struct {
		name string
		call func() error
	}{
		{"Append", func() error { return st.Append(ctx, []model.Span{Span(tid, 2, 0, "y")}) }},
		{"Trace", func() error { _, err := st.Trace(ctx, tid); return err }},
		{"PutSummaries", func() error { return st.PutSummaries(ctx, []model.Summary{SmallSummary(tid, 1)}) }},
		{"Summary", func() error { _, _, err := st.Summary(ctx, tid); return err }},
		{"Summaries", func() error {
			return st.Summaries(ctx, store.SummaryQuery{From: 0, To: math.MaxUint32}, func(*model.Summary) bool { called = true; return true })
		}},
		{"Pending", func() error { return st.Pending(ctx, func(model.TraceID) bool { called = true; return true }) }},
		{"DeleteBefore", func() error { return st.DeleteBefore(ctx, epoch0+1) }},
		{"Sync", st.Sync},
		{"ObjectsPut", func() error { return st.Objects().Put(ctx, "k", "n", []byte("v")) }},
		{"ObjectsList", func() error {
			return st.Objects().List(ctx, "k", func(string, []byte) bool { called = true; return true })
		}},
		{"Close", st.Close},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: error %v, want %v", c.name, err, store.ErrClosed)
		}
	}
	if called {
		t.Errorf("a scan after Close called fn")
	}
	_ = st.Stats() // reports nothing useful, but must not panic
}

// concurrent runs writers and readers at once; run it with -race. Writers
// own disjoint traces and share one more.
func (s suite) concurrent(t *testing.T) {
	st := s.openStore(t, "a")
	const writers, batches, tracesPerBatch, spansPerTrace = 4, 20, 5, 4
	shared := TraceID(epoch0, math.MaxUint64)
	ctx := context.Background()

	var writing sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, writers+3)
	for w := range writers {
		writing.Add(1)
		go func() {
			defer writing.Done()
			for b := range batches {
				var spans []model.Span
				var sums []model.Summary
				for tr := range tracesPerBatch {
					tid := TraceID(epoch0+uint32(b), uint64(w*1000+tr))
					for i := range spansPerTrace {
						spans = append(spans, Span(tid, model.SpanID(i+1), 0, "c"))
					}
					sums = append(sums, SmallSummary(tid, b))
				}
				spans = append(spans, Span(shared, model.SpanID(w*batches+b+1), 0, "shared"))
				if err := st.Append(ctx, spans); err != nil {
					errs <- fmt.Errorf("Append: %w", err)
					return
				}
				if err := st.PutSummaries(ctx, sums); err != nil {
					errs <- fmt.Errorf("PutSummaries: %w", err)
					return
				}
			}
		}()
	}
	var reading sync.WaitGroup
	reader := func(read func() error) {
		reading.Add(1)
		go func() {
			defer reading.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := read(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	reader(func() error {
		recs, err := st.Trace(ctx, shared)
		if err != nil {
			return fmt.Errorf("Trace: %w", err)
		}
		for i := 1; i < len(recs); i++ {
			if recs[i-1].ID >= recs[i].ID {
				return fmt.Errorf("Trace: records out of order")
			}
		}
		return nil
	})
	reader(func() error {
		var prev *model.TraceID
		var order error
		err := st.Summaries(ctx, store.SummaryQuery{From: 0, To: math.MaxUint32}, func(s *model.Summary) bool {
			if prev != nil && bytes.Compare(s.TraceID[:], prev[:]) >= 0 {
				order = fmt.Errorf("Summaries: %s after %s", s.TraceID, *prev)
				return false
			}
			id := s.TraceID
			prev = &id
			return true
		})
		if err != nil {
			return fmt.Errorf("Summaries: %w", err)
		}
		return order
	})
	reader(func() error {
		return st.Pending(ctx, func(model.TraceID) bool { return true })
	})
	writing.Wait()
	close(done)
	reading.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	if got := readTrace(t, st, shared); len(got) != writers*batches {
		t.Errorf("shared trace: %d spans, want %d", len(got), writers*batches)
	}
	for w := range writers {
		for b := range batches {
			for tr := range tracesPerBatch {
				tid := TraceID(epoch0+uint32(b), uint64(w*1000+tr))
				if got := readTrace(t, st, tid); len(got) != spansPerTrace {
					t.Errorf("trace %s: %d spans, want %d", tid, len(got), spansPerTrace)
				}
			}
		}
	}
	if got := scanIDs(t, st, store.SummaryQuery{From: 0, To: math.MaxUint32}); len(got) != writers*batches*tracesPerBatch {
		t.Errorf("Summaries: %d, want %d", len(got), writers*batches*tracesPerBatch)
	}
	wantPending(t, st, shared)
}

// summariesHint: a hinted scan returns every summary the hint holds for,
// in the query's range and order (an engine may return more; the caller
// re-checks), across hours and pages, and after deletion none it dropped.
func (s suite) summariesHint(t *testing.T) {
	st := s.openStore(t, "a")
	rng := rand.New(rand.NewPCG(7, 8))
	api := model.ServiceID{Name: "api"}
	db := model.ServiceID{Name: "db", Type: "Database::SQL"}
	var sums []model.Summary
	for i := range 300 {
		// Spread over 5 hours so that hint scans cross hour boundaries.
		id := TraceID(epoch0+uint32(rng.IntN(5*3600)), rng.Uint64())
		sum := SmallSummary(id, 0)
		sum.Services = []model.ServiceID{api}
		if i%3 == 0 {
			sum.Services = append(sum.Services, db)
		}
		sum.HasFault = i%5 == 0
		sum.HasThrottle = i%7 == 0
		sum.RootThrottle = i%7 == 0
		if i%4 == 0 {
			sum.Users = []model.SummaryUser{{Name: "alice"}}
		}
		sum.Annotations = []model.SummaryAnnotation{
			{Key: "tier", Value: model.Value{Kind: model.String, Str: []string{"gold", "free"}[i%2]}},
			{Key: "items", Value: model.Value{Kind: model.Number, Num: float64(i % 3)}},
			{Key: "test", Value: model.Value{Kind: model.Bool, Bool: i%6 == 0}},
		}
		sums = append(sums, sum)
	}
	putSummaries(t, st, sums...)
	holds := func(sum *model.Summary, h store.Hint) bool {
		for _, x := range store.Terms(sum) {
			if x == h {
				return true
			}
		}
		return false
	}
	hints := []store.Hint{
		{Field: store.HintService, Value: model.Value{Kind: model.String, Str: "db"}},
		{Field: store.HintService, Value: model.Value{Kind: model.String, Str: "nowhere"}},
		{Field: store.HintUser, Value: model.Value{Kind: model.String, Str: "alice"}},
		{Field: store.HintFault},
		{Field: store.HintThrottle},
		{Field: store.HintError},
		{Field: store.HintAnnotation, Key: "tier", Value: model.Value{Kind: model.String, Str: "gold"}},
		{Field: store.HintAnnotation, Key: "items", Value: model.Value{Kind: model.Number, Num: 2}},
		{Field: store.HintAnnotation, Key: "test", Value: model.Value{Kind: model.Bool, Bool: true}},
	}
	ranges := []store.SummaryQuery{
		{From: epoch0, To: epoch0 + 5*3600},
		{From: epoch0 + 1800, To: epoch0 + 3*3600 + 17},
		{From: epoch0 + 3600, To: epoch0 + 3601},
	}
	for _, h := range hints {
		for _, r := range ranges {
			q := r
			q.Hint = &h
			var want []model.TraceID
			for i := range sums {
				if holds(&sums[i], h) {
					want = append(want, sums[i].TraceID)
				}
			}
			want = selectIDs(want, r)
			var got []model.TraceID
			scan(t, st, q, func(sum *model.Summary) bool {
				if holds(sum, h) { // the superset the engine may add is the caller's to drop
					got = append(got, sum.TraceID)
				}
				return true
			})
			if !slices.Equal(got, want) {
				t.Errorf("hint %+v, %s: got %d traces %s, want %d %s", h, formatQuery(r), len(got), formatIDs(got), len(want), formatIDs(want))
			}
			// Paging with After, 25 at a time, gives the same.
			var paged []model.TraceID
			var after *model.TraceID
			for {
				pq := q
				pq.After = after
				n := 0
				scan(t, st, pq, func(sum *model.Summary) bool {
					if n == 25 {
						return false
					}
					n++
					id := sum.TraceID
					after = &id
					if holds(sum, h) {
						paged = append(paged, id)
					}
					return true
				})
				if n < 25 {
					break
				}
			}
			if !slices.Equal(paged, want) {
				t.Errorf("hint %+v, %s, paged by 25: got %d traces, want %d", h, formatQuery(r), len(paged), len(want))
			}
		}
	}
	// After DeleteBefore, no hinted scan returns a deleted trace.
	cut := uint32(epoch0 + 2*3600 + 600)
	if err := st.DeleteBefore(context.Background(), cut); err != nil {
		t.Fatal(err)
	}
	for _, h := range hints {
		scan(t, st, store.SummaryQuery{From: 0, To: epoch0 + 5*3600, Hint: &h}, func(sum *model.Summary) bool {
			if sum.TraceID.Epoch() < cut {
				t.Errorf("hint %+v returned trace %s deleted by DeleteBefore(%d)", h, sum.TraceID, cut)
			}
			return true
		})
	}
}

// summariesPrefilter: the prefilter sees every summary of the range with its
// head intact, and fn gets, whole, exactly the ones it accepts, with or
// without a hint.
func (s suite) summariesPrefilter(t *testing.T) {
	st := s.openStore(t, "a")
	var sums []model.Summary
	for i := range 60 {
		sum := FullSummary(TraceID(epoch0+uint32(i), uint64(i)))
		sum.HTTP.URL = fmt.Sprintf("https://example.com/item/%d", i)
		sum.HasFault = i%3 == 0
		sums = append(sums, sum)
	}
	putSummaries(t, st, sums...)
	byID := map[model.TraceID]model.Summary{}
	for _, sum := range sums {
		byID[sum.TraceID] = sum
	}
	for _, hint := range []*store.Hint{nil, {Field: store.HintFault}} {
		seen, got := 0, 0
		q := store.SummaryQuery{From: epoch0, To: epoch0 + 60, Hint: hint}
		q.Prefilter = func(head *model.Summary) bool {
			seen++
			want := byID[head.TraceID]
			if head.HTTP != want.HTTP || head.Start != want.Start || head.End != want.End ||
				head.HasFault != want.HasFault || head.Revision != want.Revision || head.RootThrottle != want.RootThrottle {
				t.Errorf("prefilter got head %+v, want that of %+v", head.HTTP, want.HTTP)
			}
			return strings.HasSuffix(head.HTTP.URL, "5") // 5, 15, 25, …
		}
		scan(t, st, q, func(sum *model.Summary) bool {
			got++
			if !strings.HasSuffix(sum.HTTP.URL, "5") {
				t.Errorf("fn got %s, which the prefilter rejected", sum.HTTP.URL)
			}
			if d := summaryDiff(*sum, byID[sum.TraceID]); d != "" {
				t.Errorf("fn got a summary unlike the stored one: %s", d)
			}
			return true
		})
		wantSeen, wantGot := 60, 6
		if hint != nil {
			wantSeen, wantGot = 20, 2 // faults: 0, 3, …, 57; of those 15 and 45 end in 5
		}
		if seen < wantSeen || got != wantGot {
			t.Errorf("hint %v: prefilter saw %d (want at least %d), fn got %d (want %d)", hint, seen, wantSeen, got, wantGot)
		}
	}
}
