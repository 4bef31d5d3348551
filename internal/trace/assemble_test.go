package trace

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// assembledGolden is how an assembled trace is written to an
// .assembled.golden file: documents as JSON, not base64.
type assembledGolden struct {
	Duration float64
	Segments []segmentGolden
}

type segmentGolden struct {
	ID       string
	Document json.RawMessage
}

// TestAssembleGolden checks Assemble(records) against
// testdata/<case>.assembled.golden (xray-protocol.md §1.11).
func TestAssembleGolden(t *testing.T) {
	for _, lc := range goldenCases(t) {
		t.Run(lc.name, func(t *testing.T) {
			recs := lc.records()
			got, err := Assemble(lc.traceID(), recs)
			if err != nil {
				t.Fatalf("Assemble: %v", err)
			}
			out := assembledGolden{Duration: got.Duration}
			for _, s := range got.Segments {
				var doc map[string]any
				if err := json.Unmarshal(s.Document, &doc); err != nil {
					t.Fatalf("segment %s: %v", s.ID, err)
				}
				if doc["trace_id"] != lc.traceID().String() {
					t.Errorf("segment %s: trace_id %v; want %s", s.ID, doc["trace_id"], lc.traceID())
				}
				if doc["id"] != s.ID {
					t.Errorf("segment ID %s; document id %v", s.ID, doc["id"])
				}
				out.Segments = append(out.Segments, segmentGolden{s.ID, s.Document})
			}
			compareGolden(t, lc, "assembled", prettyJSON(t, out))
		})
	}
}

// TestAssembleIdempotent: assembling twice gives the same documents, and
// Assemble does not change the records it is given.
func TestAssembleIdempotent(t *testing.T) {
	for _, lc := range goldenCases(t) {
		recs := lc.records()
		before := make([]string, len(recs))
		for i, r := range recs {
			before[i] = string(r.Doc)
		}
		a, err := Assemble(lc.traceID(), recs)
		if err != nil {
			t.Fatalf("%s: %v", lc.name, err)
		}
		b, _ := Assemble(lc.traceID(), recs)
		if !jsonEqual(t, a, b) {
			t.Errorf("%s: two Assemble calls differ", lc.name)
		}
		for i, r := range recs {
			if string(r.Doc) != before[i] {
				t.Errorf("%s: Assemble changed record %s", lc.name, r.ID)
			}
		}
	}
}

func jsonEqual(t *testing.T, a, b Assembled) bool {
	return string(prettyJSON(t, a)) == string(prettyJSON(t, b))
}

func TestAssembleBadRecord(t *testing.T) {
	tid, _ := model.ParseTraceID("1-581cf771-a006649127e371903a2de979")
	_, err := Assemble(tid, []store.Record{{ID: 1, Doc: []byte(`{"id":`)}})
	if err == nil || !strings.Contains(err.Error(), tid.String()) {
		t.Errorf("Assemble(broken document) error = %v; want one naming the trace", err)
	}
	got, err := Assemble(tid, nil)
	if err != nil || len(got.Segments) != 0 || got.Duration != 0 {
		t.Errorf("Assemble(no records) = %+v, %v; want nothing", got, err)
	}
}

// TestAssembleArrayDocument: the subsegments of an array document are
// stored one record each and come back nested under their parent.
func TestAssembleArrayDocument(t *testing.T) {
	docs := []string{
		`[{"id":"2bc9b9692af27f86","name":"apply-discount","start_time":1795642198.063,"end_time":1795642198.066,"type":"subsegment","parent_id":"04e26bd89e25a7fe","trace_id":"1-6b075356-066b7ae9989ba5150d9edd5b"},` +
			`{"id":"2bc9b9692af27f87","name":"apply-shipping","start_time":1795642198.066,"end_time":1795642198.068,"type":"subsegment","parent_id":"04e26bd89e25a7fe","trace_id":"1-6b075356-066b7ae9989ba5150d9edd5b"}]`,
		`{"trace_id":"1-6b075356-066b7ae9989ba5150d9edd5b","id":"04e26bd89e25a7fe","start_time":1795642198.021,"end_time":1795642198.075,"name":"node-checkout"}`,
	}
	var recs []store.Record
	var tid model.TraceID
	for _, d := range docs {
		spans, err := xray.Decode([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range spans {
			tid = s.TraceID
			recs = append(recs, store.Record{ID: s.Root.ID, ParentID: s.Root.ParentID, Independent: s.Independent, Doc: s.Doc})
		}
	}
	got, err := Assemble(tid, recs)
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	if len(got.Segments) != 1 {
		t.Fatalf("Assemble returned %d documents; want the segment alone", len(got.Segments))
	}
	var seg struct{ Subsegments []struct{ Name string } }
	if err := json.Unmarshal(got.Segments[0].Document, &seg); err != nil {
		t.Fatal(err)
	}
	if len(seg.Subsegments) != 2 || seg.Subsegments[0].Name != "apply-discount" || seg.Subsegments[1].Name != "apply-shipping" {
		t.Errorf("subsegments = %+v; want apply-discount, apply-shipping", seg.Subsegments)
	}
}

// TestAssembleSiblingOrder: subsegments come back ordered by start time among
// their siblings (Assemble's contract), whether they were embedded out of
// order or sent on their own, and the order is the same either way.
func TestAssembleSiblingOrder(t *testing.T) {
	const tid = "1-6b0753d0-1a2b3c4d5e6f708192a3b4c5"
	seg := func(subs string) string {
		return `{"trace_id":"` + tid + `","id":"a1b2c3d4e5f60701","name":"frontend","start_time":10,"end_time":20,"subsegments":[` + subs + `]}`
	}
	const (
		late  = `{"id":"a1b2c3d4e5f60703","name":"late","start_time":15,"end_time":16}`
		early = `{"id":"a1b2c3d4e5f60702","name":"early","start_time":11,"end_time":12}`
		alone = `{"trace_id":"` + tid + `","type":"subsegment","parent_id":"a1b2c3d4e5f60701","id":"a1b2c3d4e5f60704","name":"middle","start_time":13,"end_time":14}`
	)
	check := func(name string, want []string, docs ...string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			var recs []store.Record
			var id model.TraceID
			for _, d := range docs {
				spans, err := xray.Decode([]byte(d))
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range spans {
					id = s.TraceID
					recs = append(recs, store.Record{ID: s.Root.ID, ParentID: s.Root.ParentID, Independent: s.Independent, Doc: s.Doc})
				}
			}
			got, err := Assemble(id, recs)
			if err != nil || len(got.Segments) != 1 {
				t.Fatalf("Assemble = %d segments, %v; want 1", len(got.Segments), err)
			}
			var doc struct{ Subsegments []struct{ Name string } }
			if err := json.Unmarshal(got.Segments[0].Document, &doc); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range doc.Subsegments {
				names = append(names, s.Name)
			}
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("subsegments = %v; want %v", names, want)
			}
		})
	}
	check("embedded in order", []string{"early", "late"}, seg(early+","+late))
	check("embedded out of order", []string{"early", "late"}, seg(late+","+early))
	check("embedded out of order, one sent alone", []string{"early", "middle", "late"}, seg(late+","+early), alone)
	check("sent alone before its segment", []string{"early", "middle", "late"}, alone, seg(late+","+early))
}
