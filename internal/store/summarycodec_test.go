package store_test

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
	"github.com/fluoro-dev/fluoro/internal/store/storetest"
)

var codecID = storetest.TraceID(1_767_225_600, 42)

// codecCases are summaries that must survive encoding unchanged. Empty
// slices are nil: decoding does not tell nil from empty.
func codecCases() map[string]model.Summary {
	full := storetest.FullSummary(codecID)
	svc := func(i int) model.ServiceID {
		return model.ServiceID{Name: strings.Repeat("n", i), Type: "AWS::Lambda", AccountID: ""}
	}
	many := model.Summary{TraceID: codecID}
	for i := range 300 { // indexes past one varint byte
		many.Services = append(many.Services, svc(i))
	}
	ep := svc(299)
	many.EntryPoint = &ep
	many.Annotations = []model.SummaryAnnotation{{Key: "k", Value: model.Value{Kind: model.Number, Num: 1}, Services: many.Services[128:140]}}
	many.Users = []model.SummaryUser{{Name: "", Services: []model.ServiceID{svc(0), svc(299)}}}
	dup := model.ServiceID{Name: "same"}
	return map[string]model.Summary{
		"zero":  {TraceID: codecID},
		"full":  full,
		"small": storetest.SmallSummary(codecID, 2),
		"extremes": {
			TraceID: codecID, Start: math.Inf(-1), End: math.Inf(1), ResponseTime: math.Copysign(0, -1),
			Updated: math.SmallestNonzeroFloat64, Revision: math.MaxInt, Spans: math.MaxInt32,
			HTTP:        model.HTTP{Status: 999, URL: strings.Repeat("/x", 5000), Traced: true},
			Annotations: []model.SummaryAnnotation{{Key: "", Value: model.Value{Kind: model.String}}},
			InstanceIDs: []string{"", "\x00\xff"},
		},
		"many services": many,
		"duplicate services": {
			TraceID:    codecID,
			Services:   []model.ServiceID{dup, dup},
			EntryPoint: &dup,
			Users:      []model.SummaryUser{{Name: "u", Services: []model.ServiceID{dup, dup}}},
		},
		"flags one by one": {TraceID: codecID, HasThrottle: true, HTTP: model.HTTP{Method: "GET"}},
		"sampled by":       {TraceID: codecID, HasFault: true, SampledBy: "filter:vip"},
	}
}

func TestSummaryRoundTrip(t *testing.T) {
	for name, want := range codecCases() {
		b := store.AppendSummary([]byte("prefix"), &want)
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Errorf("%s: AppendSummary clobbered dst", name)
		}
		var got model.Summary
		if err := store.DecodeSummary(codecID, b[len("prefix"):], &got); err != nil {
			t.Errorf("%s: DecodeSummary: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: round trip:\ngot  %+v\nwant %+v", name, got, want)
		}
	}
}

func TestDecodeSummaryOverwrites(t *testing.T) {
	full, small := storetest.FullSummary(codecID), storetest.SmallSummary(codecID, 1)
	got := full
	if err := store.DecodeSummary(codecID, store.AppendSummary(nil, &small), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, small) {
		t.Errorf("decoding into a used summary:\ngot  %+v\nwant %+v", got, small)
	}
}

func TestDecodeSummaryCopiesStrings(t *testing.T) {
	want := storetest.FullSummary(codecID)
	b := store.AppendSummary(nil, &want)
	var got model.Summary
	if err := store.DecodeSummary(codecID, b, &got); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summary changed with the bytes it was decoded from:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestDecodeSummaryErrors(t *testing.T) {
	full := storetest.FullSummary(codecID)
	valid := store.AppendSummary(nil, &full)
	check := func(name string, b []byte) {
		t.Helper()
		var s model.Summary
		if err := store.DecodeSummary(codecID, b, &s); err == nil {
			t.Errorf("%s: DecodeSummary(%x) succeeded, want an error", name, b)
		}
	}
	check("empty", nil)
	check("version 0", append([]byte{0}, valid[1:]...))
	check("version 3", append([]byte{3}, valid[1:]...))
	// Every proper prefix of a valid encoding is short of some field, except
	// the one that ends where encodings ended before root causes were added
	// (three zero counts follow when a summary has none), and the one that
	// ends where encodings ended before SampledBy was added.
	full.SampledBy = "rate"
	valid = store.AppendSummary(nil, &full)
	beforeSampledBy := len(valid) - 1 - len(full.SampledBy)
	noCauses := full
	noCauses.FaultRootCauses, noCauses.ErrorRootCauses, noCauses.ResponseTimeRootCauses = nil, nil, nil
	noCauses.SampledBy = ""
	legacy := len(store.AppendSummary(nil, &noCauses)) - 4
	for n := range len(valid) {
		if n != legacy && n != beforeSampledBy {
			check("truncated", valid[:n])
		}
	}
	var old model.Summary
	if err := store.DecodeSummary(codecID, valid[:legacy], &old); err != nil || old.FaultRootCauses != nil {
		t.Errorf("an encoding without root causes: %v, root causes %v", err, old.FaultRootCauses)
	}
	if err := store.DecodeSummary(codecID, valid[:beforeSampledBy], &old); err != nil || old.SampledBy != "" || old.FaultRootCauses == nil {
		t.Errorf("an encoding without SampledBy: %v, SampledBy %q", err, old.SampledBy)
	}
	// A service index past Services: one service, an entry point of index 1.
	one := model.Summary{Services: []model.ServiceID{{Name: "a"}}, EntryPoint: &model.ServiceID{Name: "a"}}
	b := store.AppendSummary(nil, &one)
	i := bytes.Index(b, []byte{1, 1, 'a', 0, 0, 1, 0})
	if i < 0 {
		t.Fatalf("service list not found in %x", b)
	}
	b[i+6] = 1
	check("service index out of range", b)
	// An annotation of kind 0.
	ann := model.Summary{Annotations: []model.SummaryAnnotation{{Key: "k", Value: model.Value{Kind: model.Bool}}}}
	b = store.AppendSummary(nil, &ann)
	i = bytes.Index(b, []byte{1, 1, 'k', byte(model.Bool)})
	if i < 0 {
		t.Fatalf("annotation not found in %x", b)
	}
	b[i+3] = 0
	check("annotation kind 0", b)
	b[i+3] = 9
	check("annotation kind 9", b)
	// A list count larger than the bytes left.
	b = store.AppendSummary(nil, &model.Summary{})
	b[len(b)-1] = 100
	check("count past the end", b)
}

// FuzzDecodeSummary checks that no input makes DecodeSummary panic, and that
// whatever it accepts encodes to bytes that decode to the same summary.
func FuzzDecodeSummary(f *testing.F) {
	for _, s := range codecCases() {
		b := store.AppendSummary(nil, &s)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s model.Summary
		if err := store.DecodeSummary(codecID, b, &s); err != nil {
			return
		}
		enc := store.AppendSummary(nil, &s)
		var again model.Summary
		if err := store.DecodeSummary(codecID, enc, &again); err != nil {
			t.Fatalf("re-encoded summary does not decode: %v\nsummary %+v\nencoding %x", err, s, enc)
		}
		// The encoding holds float bits exactly, so equal encodings mean
		// equal summaries even where NaN defeats DeepEqual.
		if enc2 := store.AppendSummary(nil, &again); !bytes.Equal(enc, enc2) {
			t.Fatalf("decode(encode(s)) differs from s:\nfirst  %+v\nsecond %+v", s, again)
		}
		if !hasNaN(&s) && !reflect.DeepEqual(s, again) {
			t.Fatalf("decode(encode(s)) differs from s:\nfirst  %+v\nsecond %+v", s, again)
		}
	})
}

func hasNaN(s *model.Summary) bool {
	for _, f := range []float64{s.Start, s.End, s.ResponseTime, s.Updated} {
		if math.IsNaN(f) {
			return true
		}
	}
	for _, a := range s.Annotations {
		if math.IsNaN(a.Value.Num) {
			return true
		}
	}
	return false
}
