package redact

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestDocument(t *testing.T) {
	r, err := New(Config{Enabled: true,
		BlockedKeys:   []string{"password", "*token*", "X-Api-*"},
		BlockedValues: []string{`[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`, `\b(?:\d[ -]?){13,16}\b`}})
	if err != nil {
		t.Fatal(err)
	}
	test := func(name, in, want string, wantChanged bool) {
		t.Helper()
		got, changed, err := r.Document(nil, []byte(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: output is not JSON: %s", name, got)
		}
		json.Unmarshal([]byte(want), &w)
		if !reflect.DeepEqual(g, w) || changed != wantChanged {
			t.Errorf("%s:\n got %s (changed %v)\nwant %s (changed %v)", name, got, changed, want, wantChanged)
		}
	}
	test("nothing to redact",
		`{"trace_id":"1-5f84c7a1-0123456789abcdef01234567","id":"a000000000000001","name":"api","start_time":1,"end_time":2,"annotations":{"tier":"gold"}}`,
		`{"trace_id":"1-5f84c7a1-0123456789abcdef01234567","id":"a000000000000001","name":"api","start_time":1,"end_time":2,"annotations":{"tier":"gold"}}`, false)
	test("keys dropped, values masked, at every depth and in subsegments",
		`{"trace_id":"1-5f84c7a1-0123456789abcdef01234567","id":"a000000000000001","name":"ann@example.com","start_time":1,"end_time":2,
		  "user":"ann@example.com","annotations":{"password":"hunter2","session_token":"abc","card":"4111 1111 1111 1111"},
		  "metadata":{"default":{"emails":["bob@example.org","none"],"X-Api-Key":"k"}},
		  "subsegments":[{"id":"b000000000000001","name":"db","start_time":1,"end_time":2,"sql":{"user":"svc","url":"postgres://x","password":"p"},
		    "http":{"request":{"url":"https://x/?email=cy@example.net"}}}]}`,
		`{"trace_id":"1-5f84c7a1-0123456789abcdef01234567","id":"a000000000000001","name":"ann@example.com","start_time":1,"end_time":2,
		  "user":"****","annotations":{"card":"****"},
		  "metadata":{"default":{"emails":["****","none"]}},
		  "subsegments":[{"id":"b000000000000001","name":"db","start_time":1,"end_time":2,"sql":{"user":"svc","url":"postgres://x"},
		    "http":{"request":{"url":"https://x/?email=****"}}}]}`, true)
	test("an array of subsegments sent on its own",
		`[{"trace_id":"1-5f84c7a1-0123456789abcdef01234567","id":"c000000000000001","parent_id":"a000000000000001","type":"subsegment","name":"s","start_time":1,"end_time":2,"annotations":{"auth_token":"t"}}]`,
		`[{"trace_id":"1-5f84c7a1-0123456789abcdef01234567","id":"c000000000000001","parent_id":"a000000000000001","type":"subsegment","name":"s","start_time":1,"end_time":2,"annotations":{}}]`, true)

	if _, _, err := r.Document(nil, []byte(`{"not json`)); err == nil {
		t.Errorf("a broken document redacted without error")
	}
	if _, err := New(Config{BlockedValues: []string{"("}}); err == nil {
		t.Errorf("a bad regular expression was accepted")
	}
}

func FuzzDocument(f *testing.F) {
	f.Add([]byte(`{"id":"a","name":"x","annotations":{"password":"p","e":"a@b.co"},"subsegments":[{"id":"b","metadata":{"k":["a@b.co"]}}]}`))
	f.Add([]byte(`[{"id":"c","user":"a@b.co"}]`))
	r, err := New(Config{BlockedKeys: []string{"pass*"}, BlockedValues: []string{`[a-z]+@[a-z.]+`}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, _, err := r.Document(nil, doc)
		if err != nil {
			return
		}
		if !json.Valid(out) && json.Valid(doc) {
			t.Fatalf("valid JSON in, invalid out: %s -> %s", doc, out)
		}
	})
}
