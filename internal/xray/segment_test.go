package xray

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/model"
)

const (
	testTraceID = "1-581cf771-a006649127e371903a2de979"
	testID      = "70de5b6f19ff9a0a"
	testSubID   = "53995c3f42cd8ad8"
)

// segment returns a valid segment document after edit has changed its
// fields. Times are Java-style exponent numbers.
func segment(edit func(m map[string]any)) string {
	m := map[string]any{
		"name":       "Scorekeep",
		"id":         testID,
		"trace_id":   testTraceID,
		"start_time": json.Number("1.478293361271E9"),
		"end_time":   json.Number("1.478293361449E9"),
	}
	if edit != nil {
		edit(m)
	}
	return marshal(m)
}

// independent returns a valid independent subsegment after edit.
func independent(edit func(m map[string]any)) string {
	return segment(func(m map[string]any) {
		m["name"], m["id"], m["type"], m["parent_id"] = "api.example.com", testSubID, "subsegment", "defdfd9912dc5a56"
		if edit != nil {
			edit(m)
		}
	})
}

// withSub returns a segment holding one embedded subsegment changed by edit.
func withSub(edit func(sub map[string]any)) string {
	return segment(func(m map[string]any) {
		sub := map[string]any{"id": testSubID, "name": "DynamoDB", "start_time": 1478293361.3, "end_time": 1478293361.4}
		edit(sub)
		m["subsegments"] = []any{sub}
	})
}

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func readDocument(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "documents", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRejects(t *testing.T) {
	reject := func(name, doc, wantCode, wantID string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			spans, err := Decode([]byte(doc))
			var de *DocError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%.120s) = %d spans, error %v; want a *DocError %s", doc, len(spans), err, wantCode)
			}
			if spans != nil {
				t.Errorf("Decode returned %d spans with its error; want none", len(spans))
			}
			if de.Code != wantCode {
				t.Errorf("Code = %q (%s); want %q", de.Code, de.Message, wantCode)
			}
			if de.ID != wantID {
				t.Errorf("ID = %q; want %q", de.ID, wantID)
			}
			if de.Message == "" {
				t.Error("Message is empty")
			}
			if !strings.HasPrefix(de.Error(), de.Code+": ") {
				t.Errorf("Error() = %q; want it to start with the code", de.Error())
			}
		})
	}

	// Body parses as a JSON object (or an array of subsegment objects).
	reject("not JSON", `Scorekeep`, CodeInvalidJSON, "")
	reject("empty document", ``, CodeInvalidJSON, "")
	reject("only whitespace", " \n\t ", CodeInvalidJSON, "")
	reject("truncated object, id readable", `{"name":"Scorekeep","id":"70de5b6f19ff9a0a","start_time":1.478293361271E9`, CodeInvalidJSON, testID)
	reject("truncated object, id spaced", `{"name": "Scorekeep", "id" : "70de5b6f19ff9a0a", "start_time": `, CodeInvalidJSON, testID)
	reject("truncated object, id malformed", `{"id":"70de5b6f19ff9a0z","name":`, CodeInvalidJSON, "")
	reject("trailing garbage", segment(nil)+`}`, CodeInvalidJSON, testID)
	reject("two documents", segment(nil)+segment(nil), CodeInvalidJSON, testID)
	reject("a string", `"Scorekeep"`, CodeInvalidJSON, "")
	reject("a number", `1478293361`, CodeInvalidJSON, "")
	reject("a bool", `true`, CodeInvalidJSON, "")
	reject("truncated array", `[{"id":"70de5b6f19ff9a0a"`, CodeInvalidJSON, testID)
	for _, bad := range []struct{ name, value string }{
		{"invalid escape", `"\x"`}, {"invalid unicode escape", `"\u00zz"`}, {"escaped quote mark", `"\'"`},
		{"raw control character", "\"a\x01b\""}, {"raw tab", "\"a\tb\""},
		{"NaN", `NaN`}, {"-Inf", `-Inf`}, {"plus sign", `+1`}, {"leading dot", `.5`},
		{"trailing dot", `1.`}, {"leading zero", `01`}, {"exponent without digits", `1e`},
	} {
		doc := strings.Replace(segment(func(m map[string]any) { m["metadata"] = "BAD" }), `"BAD"`, bad.value, 1)
		reject("metadata "+bad.name, doc, CodeInvalidJSON, testID)
	}
	reject("metadata Infinity", strings.Replace(segment(func(m map[string]any) { m["metadata"] = "BAD" }), `"BAD"`, `Infinity`, 1), CodeInvalidJSON, testID)
	reject("end_time NaN", strings.Replace(segment(nil), `1.478293361449E9`, `NaN`, 1), CodeInvalidJSON, testID)
	reject("start_time leading zero", strings.Replace(segment(nil), `1.478293361271E9`, `01478293361.271`, 1), CodeInvalidJSON, testID)
	reject("name with invalid escape", strings.Replace(segment(nil), `Scorekeep`, `Score\qkeep`, 1), CodeInvalidJSON, testID)
	reject("array of strings", `["Scorekeep"]`, CodeInvalidJSON, "")
	reject("null", `null`, CodeInvalidJSON, "")
	reject("array holding null", `[null]`, CodeInvalidJSON, "")
	reject("annotations not an object", segment(func(m map[string]any) { m["annotations"] = []any{"a"} }), CodeInvalidAnnotaton, testID)

	// id present, 16 hex digits.
	reject("no id", segment(func(m map[string]any) { delete(m, "id") }), CodeMissingID, "")
	reject("empty id", segment(func(m map[string]any) { m["id"] = "" }), CodeMissingID, "")
	reject("id of 15 digits", segment(func(m map[string]any) { m["id"] = "70de5b6f19ff9a0" }), CodeMissingID, "70de5b6f19ff9a0")
	reject("id of 17 digits", segment(func(m map[string]any) { m["id"] = "70de5b6f19ff9a0a0" }), CodeMissingID, "70de5b6f19ff9a0a0")
	reject("id not hex", segment(func(m map[string]any) { m["id"] = "70de5b6f19ff9a0g" }), CodeMissingID, "70de5b6f19ff9a0g")
	reject("id with a prefix", segment(func(m map[string]any) { m["id"] = "0x70de5b6f19ff9a" }), CodeMissingID, "0x70de5b6f19ff9a")
	reject("id a number", segment(func(m map[string]any) { m["id"] = 8132164352387 }), CodeMissingID, "")
	reject("subsegment without id", withSub(func(s map[string]any) { delete(s, "id") }), CodeMissingID, testID)
	reject("subsegment id not hex", withSub(func(s map[string]any) { s["id"] = "not-hex-at-all!!" }), CodeMissingID, testID)

	// trace_id present on segments and independent subsegments, 1-8hex-24hex.
	reject("no trace_id", segment(func(m map[string]any) { delete(m, "trace_id") }), CodeInvalidTraceID, testID)
	reject("no trace_id and no id", segment(func(m map[string]any) { delete(m, "trace_id"); delete(m, "id") }), CodeInvalidTraceID, "")
	reject("empty trace_id", segment(func(m map[string]any) { m["trace_id"] = "" }), CodeInvalidTraceID, testID)
	reject("trace_id version 2", segment(func(m map[string]any) { m["trace_id"] = "2-581cf771-a006649127e371903a2de979" }), CodeInvalidTraceID, testID)
	reject("trace_id short", segment(func(m map[string]any) { m["trace_id"] = "1-581cf771-a006649127e371903a2de97" }), CodeInvalidTraceID, testID)
	reject("trace_id long", segment(func(m map[string]any) { m["trace_id"] = "1-581cf771-a006649127e371903a2de9790" }), CodeInvalidTraceID, testID)
	reject("trace_id epoch not hex", segment(func(m map[string]any) { m["trace_id"] = "1-581cf77g-a006649127e371903a2de979" }), CodeInvalidTraceID, testID)
	reject("trace_id random not hex", segment(func(m map[string]any) { m["trace_id"] = "1-581cf771-a006649127e371903a2de97z" }), CodeInvalidTraceID, testID)
	reject("trace_id without dashes", segment(func(m map[string]any) { m["trace_id"] = "1x581cf771xa006649127e371903a2de979" }), CodeInvalidTraceID, testID)
	reject("trace_id W3C form", segment(func(m map[string]any) { m["trace_id"] = "581cf771a006649127e371903a2de979" }), CodeInvalidTraceID, testID)
	reject("trace_id all zero", segment(func(m map[string]any) { m["trace_id"] = "1-00000000-000000000000000000000000" }), CodeInvalidTraceID, testID)
	reject("independent subsegment without trace_id", independent(func(m map[string]any) { delete(m, "trace_id") }), CodeInvalidTraceID, testSubID)

	// name present, at most 200 characters, allowed charset.
	reject("no name", segment(func(m map[string]any) { delete(m, "name") }), CodeInvalidName, testID)
	reject("empty name", segment(func(m map[string]any) { m["name"] = "" }), CodeInvalidName, testID)
	reject("name null", segment(func(m map[string]any) { m["name"] = nil }), CodeInvalidName, testID)
	reject("name of 201 characters", segment(func(m map[string]any) { m["name"] = strings.Repeat("a", 201) }), CodeInvalidName, testID)
	reject("name of 201 two-byte characters", segment(func(m map[string]any) { m["name"] = strings.Repeat("é", 201) }), CodeInvalidName, testID)
	for _, c := range []string{"?", ";", "*", "(", ")", "!", "$", "~", "^", "<", ">", `"`, "'", ",", "[", "{", "|", "`", "\x00", "\u2603", "\U0001F600"} {
		reject("name with "+c, segment(func(m map[string]any) { m["name"] = "GET /users" + c }), CodeInvalidName, testID)
	}
	reject("name invalid UTF-8", strings.Replace(segment(nil), "Scorekeep", "Score\xffkeep", 1), CodeInvalidName, testID)
	reject("subsegment name invalid", withSub(func(s map[string]any) { s["name"] = "SELECT * FROM games" }), CodeInvalidName, testID)
	reject("subsegment without name", withSub(func(s map[string]any) { delete(s, "name") }), CodeInvalidName, testID)

	// Independent subsegments need parent_id.
	reject("independent without parent_id", independent(func(m map[string]any) { delete(m, "parent_id") }), CodeMissingParentID, testSubID)
	reject("independent with empty parent_id", independent(func(m map[string]any) { m["parent_id"] = "" }), CodeMissingParentID, testSubID)
	reject("independent, type capitalised", independent(func(m map[string]any) { m["type"] = "Subsegment"; delete(m, "parent_id") }), CodeMissingParentID, testSubID)
	reject("independent parent_id not hex", independent(func(m map[string]any) { m["parent_id"] = "defdfd9912dc5a5z" }), CodeInvalidSegment, testSubID)
	reject("segment parent_id not hex", segment(func(m map[string]any) { m["parent_id"] = "Root=1-581cf771" }), CodeInvalidSegment, testID)

	// start_time a number; end_time a number not before it, or in_progress.
	reject("no start_time", segment(func(m map[string]any) { delete(m, "start_time") }), CodeInvalidTimes, testID)
	reject("start_time null", segment(func(m map[string]any) { m["start_time"] = nil }), CodeInvalidTimes, testID)
	reject("start_time a string", segment(func(m map[string]any) { m["start_time"] = "1478293361.271" }), CodeInvalidTimes, testID)
	reject("start_time ISO string", segment(func(m map[string]any) { m["start_time"] = "2016-11-04T21:02:41.271Z" }), CodeInvalidTimes, testID)
	reject("start_time a bool", segment(func(m map[string]any) { m["start_time"] = true }), CodeInvalidTimes, testID)
	reject("start_time an object", segment(func(m map[string]any) { m["start_time"] = map[string]any{"s": 1} }), CodeInvalidTimes, testID)
	reject("start_time overflows", segment(func(m map[string]any) { m["start_time"] = json.Number("1e400") }), CodeInvalidTimes, testID)
	reject("start_time overflows negative", segment(func(m map[string]any) { m["start_time"] = json.Number("-1e400") }), CodeInvalidTimes, testID)
	reject("end_time overflows", segment(func(m map[string]any) { m["end_time"] = json.Number("1e400") }), CodeInvalidTimes, testID)
	reject("no end_time, no in_progress", segment(func(m map[string]any) { delete(m, "end_time") }), CodeInvalidTimes, testID)
	reject("no end_time, in_progress false", segment(func(m map[string]any) { delete(m, "end_time"); m["in_progress"] = false }), CodeInvalidTimes, testID)
	reject("end_time null, no in_progress", segment(func(m map[string]any) { m["end_time"] = nil }), CodeInvalidTimes, testID)
	reject("end_time a string", segment(func(m map[string]any) { m["end_time"] = "1478293361.449" }), CodeInvalidTimes, testID)
	reject("end_time a string, in progress", segment(func(m map[string]any) { m["end_time"] = "soon"; m["in_progress"] = true }), CodeInvalidTimes, testID)
	reject("end_time before start_time", segment(func(m map[string]any) { m["end_time"] = json.Number("1.478293361270E9") }), CodeInvalidTimes, testID)
	reject("end_time zero", segment(func(m map[string]any) { m["end_time"] = 0 }), CodeInvalidTimes, testID)
	reject("subsegment without end_time", withSub(func(s map[string]any) { delete(s, "end_time") }), CodeInvalidTimes, testID)
	reject("subsegment ends before it starts", withSub(func(s map[string]any) { s["end_time"] = 1478293361.2 }), CodeInvalidTimes, testID)

	// Annotation values are strings, numbers or booleans; keys non-empty.
	annotation := func(k string, v any) string {
		return segment(func(m map[string]any) { m["annotations"] = map[string]any{"ok": 1, k: v} })
	}
	reject("annotation object", annotation("customer", map[string]any{"tier": "gold"}), CodeInvalidAnnotaton, testID)
	reject("annotation array", annotation("tiers", []any{"gold"}), CodeInvalidAnnotaton, testID)
	reject("annotation empty array", annotation("tiers", []any{}), CodeInvalidAnnotaton, testID)
	reject("annotation null", annotation("tier", nil), CodeInvalidAnnotaton, testID)
	reject("annotation overflowing number", annotation("big", json.Number("1e999")), CodeInvalidAnnotaton, testID)
	reject("annotation overflowing negative number", annotation("small", json.Number("-1e999")), CodeInvalidAnnotaton, testID)
	reject("annotation empty key", annotation("", "gold"), CodeInvalidAnnotaton, testID)
	reject("annotation key with newline", annotation("tier\n", "gold"), CodeInvalidAnnotaton, testID)
	reject("annotation key with NUL", annotation("tier\x00", "gold"), CodeInvalidAnnotaton, testID)
	reject("annotation key of 501 bytes", annotation(strings.Repeat("k", 501), "gold"), CodeInvalidAnnotaton, testID)
	reject("subsegment annotation object", withSub(func(s map[string]any) { s["annotations"] = map[string]any{"x": map[string]any{}} }), CodeInvalidAnnotaton, testID)

	// Documents of at most 64 KiB.
	reject("64 KiB + 1", sized(t, MaxDocumentSize+1), CodeTooLarge, testID)
	reject("1 MiB of garbage", strings.Repeat("x", 1<<20), CodeTooLarge, "")

	// Arrays hold independent subsegments only.
	reject("empty array", `[]`, CodeInvalidSegment, "")
	reject("array holding a segment", "["+independent(nil)+","+segment(nil)+"]", CodeInvalidSegment, testID)
	reject("array holding an invalid subsegment", "["+independent(func(m map[string]any) { m["name"] = "a?b" })+"]", CodeInvalidName, testSubID)
	reject("array of arrays", "[["+independent(nil)+"]]", CodeInvalidJSON, "")

	// Nesting is bounded.
	reject("subsegments nested 100 deep", nested(100), CodeInvalidSegment, testID)
}

// sized returns a valid segment document of exactly n bytes, padded with
// metadata.
func sized(t testing.TB, n int) string {
	t.Helper()
	base := segment(func(m map[string]any) { m["metadata"] = map[string]any{"default": map[string]any{"pad": ""}} })
	if len(base) > n {
		t.Fatalf("cannot make a %d-byte document: the smallest is %d bytes", n, len(base))
	}
	doc := strings.Replace(base, `"pad":""`, `"pad":"`+strings.Repeat("p", n-len(base))+`"`, 1)
	if len(doc) != n {
		t.Fatalf("sized document is %d bytes, want %d", len(doc), n)
	}
	return doc
}

// nested returns a segment with a chain of depth embedded subsegments.
func nested(depth int) string {
	var b strings.Builder
	b.WriteString(`{"name":"deep","id":"70de5b6f19ff9a0a","trace_id":"` + testTraceID + `","start_time":1,"end_time":2`)
	for i := 0; i < depth; i++ {
		b.WriteString(`,"subsegments":[{"name":"level","id":"` + model.SpanID(i+1).String() + `","start_time":1,"end_time":2`)
	}
	for i := 0; i < depth; i++ {
		b.WriteString(`}]`)
	}
	b.WriteString(`}`)
	return b.String()
}

func TestDecodeAccepts(t *testing.T) {
	accept := func(name, doc string, check func(t *testing.T, s model.Span)) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			spans, err := Decode([]byte(doc))
			if err != nil {
				t.Fatalf("Decode(%.120s): %v; want it accepted", doc, err)
			}
			if len(spans) != 1 {
				t.Fatalf("Decode returned %d spans; want 1", len(spans))
			}
			if check != nil {
				check(t, spans[0])
			}
		})
	}
	name := func(want string) func(t *testing.T, s model.Span) {
		return func(t *testing.T, s model.Span) {
			if s.Root.Name != want {
				t.Errorf("Name = %q; want %q", s.Root.Name, want)
			}
		}
	}
	accept("name of 200 characters", segment(func(m map[string]any) { m["name"] = strings.Repeat("a", 200) }), nil)
	accept("name of 200 two-byte characters", segment(func(m map[string]any) { m["name"] = strings.Repeat("é", 200) }), nil)
	accept("name with every allowed symbol", segment(func(m map[string]any) { m["name"] = `a_b.c:d/e%f&g#h=i+j\k-l@m n` }), name(`a_b.c:d/e%f&g#h=i+j\k-l@m n`))
	accept("name host:port", segment(func(m map[string]any) { m["name"] = "127.0.0.1:37735" }), name("127.0.0.1:37735"))
	accept("name db@host", segment(func(m map[string]any) { m["name"] = "checkout@pg.internal" }), name("checkout@pg.internal"))
	accept("name in other scripts", segment(func(m map[string]any) { m["name"] = "Zahlungsdienst München 注文サービス" }), name("Zahlungsdienst München 注文サービス"))
	accept("name Lambda style", segment(func(m map[string]any) { m["name"] = "## lambda_handler" }), name("## lambda_handler"))
	accept("end_time equal to start_time", segment(func(m map[string]any) { m["end_time"] = m["start_time"] }), nil)
	accept("exactly 64 KiB", sized(t, MaxDocumentSize), nil)
	accept("64 KiB inside whitespace", "\n  "+sized(t, MaxDocumentSize)+"\r\n", nil)
	accept("trace_id epoch zero", segment(func(m map[string]any) { m["trace_id"] = "1-00000000-a006649127e371903a2de979" }), nil)
	accept("subsegments nested 60 deep", nested(60), nil)
	accept("annotation keys OTel and filter syntax", segment(func(m map[string]any) {
		m["annotations"] = map[string]any{"http.route": "/v1/charge", "aws:region": "us-west-2", "UserID": "5M388M1E", "名前": "値"}
	}), nil)
	accept("in progress, end_time null", segment(func(m map[string]any) { m["end_time"] = nil; m["in_progress"] = true }), func(t *testing.T, s model.Span) {
		if !s.Root.InProgress || s.Root.End != 0 {
			t.Errorf("InProgress, End = %v, %v; want true, 0", s.Root.InProgress, s.Root.End)
		}
	})
	accept("in_progress true beside an end_time", segment(func(m map[string]any) { m["in_progress"] = true }), func(t *testing.T, s model.Span) {
		if s.Root.InProgress || s.Root.End != 1478293361.449 {
			t.Errorf("InProgress, End = %v, %v; want false, 1478293361.449 (the end_time wins)", s.Root.InProgress, s.Root.End)
		}
	})
	accept("http status out of range ignored", segment(func(m map[string]any) {
		m["http"] = map[string]any{"response": map[string]any{"status": 1000}}
	}), func(t *testing.T, s model.Span) {
		if s.Root.HTTP.Status != 0 {
			t.Errorf("HTTP.Status = %d; want 0", s.Root.HTTP.Status)
		}
	})
	accept("exponent and decimal times", `{"name":"t","id":"70de5b6f19ff9a0a","trace_id":"`+testTraceID+`","start_time":1.480615200010E9,"end_time":1480615200.090}`,
		func(t *testing.T, s model.Span) {
			if s.Root.Start != 1480615200.010 || s.Root.End != 1480615200.090 {
				t.Errorf("Start, End = %v, %v; want 1480615200.010, 1480615200.090", s.Root.Start, s.Root.End)
			}
		})
	accept("upper-case hex ids", segment(func(m map[string]any) {
		m["id"], m["trace_id"] = "70DE5B6F19FF9A0A", "1-581CF771-A006649127E371903A2DE979"
	}), func(t *testing.T, s model.Span) {
		if s.Root.ID.String() != testID || s.TraceID.String() != testTraceID {
			t.Errorf("ids = %s, %s; want %s, %s", s.Root.ID, s.TraceID, testID, testTraceID)
		}
	})
}

// TestDecodeSegment decodes a segment that uses every field Fluoro reads,
// in the odd forms producers send, and compares the whole result.
func TestDecodeSegment(t *testing.T) {
	doc := `{
  "name": "Scorekeep", "id": "70de5b6f19ff9a0a", "trace_id": "1-581cf771-a006649127e371903a2de979",
  "start_time": 1.478293361271E9, "end_time": 1.478293361449E9,
  "origin": "AWS::EC2::Instance", "user": "5M388M1E", "resource_arn": "arn:aws:elasticbeanstalk:us-west-2:123456789012:environment/scorekeep/scorekeep-dev",
  "fault": true, "error": true, "throttle": true,
  "http": {
    "request": {"method": "POST", "url": "http://scorekeep.elasticbeanstalk.com/api/user", "user_agent": "Mozilla/5.0", "client_ip": "205.255.255.183", "x_forwarded_for": true},
    "response": {"status": 429, "content_length": -1}
  },
  "aws": {"account_id": "123456789012", "ec2": {"instance_id": "i-075ad396f12bc325a", "availability_zone": "us-west-2c", "instance_size": "m5.large"},
          "xray": {"sdk": "X-Ray for Java", "sdk_version": "2.4.0"}, "elastic_beanstalk": {"deployment_id": 32}},
  "service": {"version": "1.0.4", "runtime": "OpenJDK 64-Bit Server VM"},
  "annotations": {"zeta": "last", "UserID": "5M388M1E", "count": 3, "ratio": -0.25, "flag": false, "Name": "Ola", "on": true},
  "metadata": {"default": {"anything": [1, {"goes": null}]}},
  "cause": {"working_directory": "/var/app/current", "paths": ["/var/app/current/lib"], "id": "4ed4a0e3c1b02a9d", "message": "ignored here",
            "exceptions": [
              {"id": "4ed4a0e3c1b02a9d", "message": "Rate exceeded", "type": "ThrottledException", "remote": true, "truncated": 3, "skipped": 1, "cause": "0f735fc11d273b27",
               "stack": [{"path": null, "line": -1, "label": "GeneratedMethodAccessor42.invoke"}, {"path": "GameModel.java", "line": 54, "label": "saveGame"}]},
              {"message": "no id"}]},
  "future_field": {"nested": [true]},
  "Dummy": false,
  "subsegments": [
    {"id": "6f1d8a2b3c4e5f70", "name": "DynamoDB", "namespace": "aws", "start_time": 1.478293361310E9, "end_time": 1.478293361432E9,
     "http": {"response": {"status": 200, "content_length": "57"}},
     "aws": {"operation": "UpdateItem", "region": "us-west-2", "table_name": "scorekeep-user", "request_id": "MFQ8CGJ3", "resource_names": ["scorekeep-user"], "retries": 0, "consistent_read": null},
     "precursor_ids": ["a2c4e6f8091b3d5f"],
     "cause": "0f735fc11d273b27"},
    {"id": "a2c4e6f8091b3d5f", "name": "SQS", "namespace": "aws", "start_time": 1478293361.300, "end_time": 1478293361.305, "throttle": true, "error": true,
     "aws": {"operation": "SendMessage", "queue_url": "https://sqs.us-west-2.amazonaws.com/123456789012/notifications", "region": "us-west-2"},
     "cause": {"id": "0f735fc11d273b27"}},
    {"id": "1500f8244cce344f", "name": "S3", "namespace": "aws", "start_time": 1478293361.306, "end_time": 1478293361.307,
     "aws": {"operation": "GetObject", "bucket_name": "scorekeep-assets", "key": "logo.png"}},
    {"id": "d6e33bfc3f6a5c46", "name": "Lambda", "namespace": "aws", "start_time": 1478293361.308, "in_progress": true,
     "aws": {"operation": "Invoke", "function_name": "random-name"}},
    {"id": "689b6d3aeca479df", "name": "scorekeep@db.example.com", "namespace": "remote", "start_time": 1478293361.309, "end_time": 1478293361.31,
     "sql": {"url": "jdbc:postgresql://db.example.com:5432/scorekeep", "sanitized_query": "SELECT * FROM games WHERE id = ?", "database_type": "PostgreSQL",
             "database_version": "15.4", "driver_version": "42.6.0", "user": "app", "preparation": "statement"}},
    {"id": "f1212f489a2ad92c", "name": "GameModel.saveGame", "start_time": 1478293361.311, "end_time": 1478293361.44,
     "annotations": {"gameid": "3A89FJ5Q"},
     "subsegments": [
       {"id": "dc5be4cf69551ab7", "name": "backend.internal", "namespace": "remote", "start_time": 1478293361.312, "end_time": 1478293361.43,
        "http": {"request": {"method": "GET", "url": "http://backend.internal/games/3A89FJ5Q", "traced": true}, "response": {"status": 200}}}]}
  ]
}`
	spans, err := Decode([]byte(doc))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(spans) != 1 {
		t.Fatalf("Decode returned %d spans; want 1", len(spans))
	}
	got := spans[0]
	if !bytes.Equal(got.Doc, bytes.TrimSpace([]byte(doc))) {
		t.Errorf("Doc is not the document as received")
	}
	got.Doc = nil
	// Exact rounding of exponent times is TestDecodeExponentTimes's job.
	got.Root.Walk(func(e *model.Entity, _ int) { e.Start, e.End = micros(e.Start), micros(e.End) })
	want := model.Span{
		TraceID: mustTraceID(t, testTraceID),
		Root: model.Entity{
			ID: 0x70de5b6f19ff9a0a, Name: "Scorekeep", Origin: "AWS::EC2::Instance",
			Start: 1478293361.271, End: 1478293361.449,
			Fault: true, Error: true, Throttle: true,
			HTTP: model.HTTP{Method: "POST", URL: "http://scorekeep.elasticbeanstalk.com/api/user", UserAgent: "Mozilla/5.0",
				ClientIP: "205.255.255.183", Status: 429},
			User:             "5M388M1E",
			ResourceARN:      "arn:aws:elasticbeanstalk:us-west-2:123456789012:environment/scorekeep/scorekeep-dev",
			InstanceID:       "i-075ad396f12bc325a",
			AvailabilityZone: "us-west-2c",
			AccountID:        "123456789012",
			Exceptions: []model.Exception{
				{ID: "4ed4a0e3c1b02a9d", Type: "ThrottledException", Message: "Rate exceeded", Remote: true},
				{Message: "no id"},
			},
			Annotations: []model.Annotation{ // sorted by key, byte order
				{Key: "Name", Value: model.Value{Kind: model.String, Str: "Ola"}},
				{Key: "UserID", Value: model.Value{Kind: model.String, Str: "5M388M1E"}},
				{Key: "count", Value: model.Value{Kind: model.Number, Num: 3}},
				{Key: "flag", Value: model.Value{Kind: model.Bool, Bool: false}},
				{Key: "on", Value: model.Value{Kind: model.Bool, Bool: true}},
				{Key: "ratio", Value: model.Value{Kind: model.Number, Num: -0.25}},
				{Key: "zeta", Value: model.Value{Kind: model.String, Str: "last"}},
			},
			Subsegments: []model.Entity{
				{ID: 0x6f1d8a2b3c4e5f70, Name: "DynamoDB", Namespace: "aws", Start: 1478293361.310, End: 1478293361.432,
					HTTP: model.HTTP{Status: 200},
					AWS:  model.AWSCall{Operation: "UpdateItem", Region: "us-west-2", TableName: "scorekeep-user"}},
				{ID: 0xa2c4e6f8091b3d5f, Name: "SQS", Namespace: "aws", Start: 1478293361.300, End: 1478293361.305, Throttle: true, Error: true,
					AWS: model.AWSCall{Operation: "SendMessage", Region: "us-west-2", QueueURL: "https://sqs.us-west-2.amazonaws.com/123456789012/notifications"}},
				{ID: 0x1500f8244cce344f, Name: "S3", Namespace: "aws", Start: 1478293361.306, End: 1478293361.307,
					AWS: model.AWSCall{Operation: "GetObject", Bucket: "scorekeep-assets"}},
				{ID: 0xd6e33bfc3f6a5c46, Name: "Lambda", Namespace: "aws", Start: 1478293361.308, InProgress: true,
					AWS: model.AWSCall{Operation: "Invoke", Function: "random-name"}},
				{ID: 0x689b6d3aeca479df, Name: "scorekeep@db.example.com", Namespace: "remote", Start: 1478293361.309, End: 1478293361.31,
					SQL: &model.SQL{URL: "jdbc:postgresql://db.example.com:5432/scorekeep", SanitizedQuery: "SELECT * FROM games WHERE id = ?",
						DatabaseType: "PostgreSQL", User: "app"}},
				{ID: 0xf1212f489a2ad92c, Name: "GameModel.saveGame", Start: 1478293361.311, End: 1478293361.44,
					Annotations: []model.Annotation{{Key: "gameid", Value: model.Value{Kind: model.String, Str: "3A89FJ5Q"}}},
					Subsegments: []model.Entity{
						{ID: 0xdc5be4cf69551ab7, Name: "backend.internal", Namespace: "remote", Start: 1478293361.312, End: 1478293361.43,
							HTTP: model.HTTP{Method: "GET", URL: "http://backend.internal/games/3A89FJ5Q", Traced: true, Status: 200}},
					}},
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode:\n got %s\nwant %s", dump(got), dump(want))
	}
}

func mustTraceID(t testing.TB, s string) model.TraceID {
	t.Helper()
	id, err := model.ParseTraceID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// TestDecodeCause checks the three wire forms of cause: only the object
// form carries exceptions; the others point at one recorded below and must
// not reject the document.
func TestDecodeCause(t *testing.T) {
	check := func(name, cause string, want []model.Exception) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			doc := strings.Replace(segment(func(m map[string]any) { m["fault"] = true; m["cause"] = "CAUSE" }), `"CAUSE"`, cause, 1)
			spans, err := Decode([]byte(doc))
			if err != nil {
				t.Fatalf("Decode(%s): %v", doc, err)
			}
			if got := spans[0].Root.Exceptions; !reflect.DeepEqual(got, want) {
				t.Errorf("Exceptions = %+v; want %+v", got, want)
			}
		})
	}
	check("object with exceptions", `{"working_directory":"/app","exceptions":[{"id":"42b3e366dfe93689","type":"errors.errorString","message":"card declined","stack":[{"path":"main.go","line":94,"label":"main"}]}]}`,
		[]model.Exception{{ID: "42b3e366dfe93689", Type: "errors.errorString", Message: "card declined"}})
	check("object, remote exception", `{"exceptions":[{"id":"77924e47b4a34e32","type":"Error","message":"payment declined by bank","remote":true}]}`,
		[]model.Exception{{ID: "77924e47b4a34e32", Type: "Error", Message: "payment declined by bank", Remote: true}})
	check("object, Java path null", `{"exceptions":[{"id":"4ed4a0e3c1b02a9d","type":"java.lang.RuntimeException","stack":[{"path":null,"line":-1,"label":"x"}]}]}`,
		[]model.Exception{{ID: "4ed4a0e3c1b02a9d", Type: "java.lang.RuntimeException"}})
	check("bare exception id (Java)", `"4ed4a0e3c1b02a9d"`, nil)
	check(`{"id"} (Node)`, `{"id":"d3102534253d4434"}`, nil)
	check(`{"id", "exceptions": []} (Node)`, `{"id":"d3102534253d4434","exceptions":[]}`, nil)
	check("object without exceptions", `{"working_directory":"/app","paths":[]}`, nil)
	check("null", `null`, nil)
	check("exceptions of the wrong type", `{"exceptions":"none"}`, nil)
	check("an array", `["4ed4a0e3c1b02a9d"]`, nil)
	check("a number", `42`, nil)
}

// TestDecodeDocuments decodes the producers' documents in testdata.
func TestDecodeDocuments(t *testing.T) {
	type want struct {
		traceID, id, parentID, name string
		independent, inProgress     bool
		entities                    int
	}
	check := func(file string, w want, more func(t *testing.T, s model.Span)) {
		t.Helper()
		t.Run(file, func(t *testing.T) {
			doc := readDocument(t, file)
			spans, err := Decode(doc)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(spans) != 1 {
				t.Fatalf("Decode returned %d spans; want 1", len(spans))
			}
			s := spans[0]
			var parent string
			if s.Root.ParentID != 0 {
				parent = s.Root.ParentID.String()
			}
			n := 0
			s.Root.Walk(func(*model.Entity, int) { n++ })
			got := want{s.TraceID.String(), s.Root.ID.String(), parent, s.Root.Name, s.Independent, s.Root.InProgress, n}
			if got != w {
				t.Errorf("got %+v\nwant %+v", got, w)
			}
			if !bytes.Equal(s.Doc, bytes.TrimSpace(doc)) {
				t.Error("Doc is not the document as received")
			}
			if more != nil {
				more(t, s)
			}
		})
	}
	check("node_segment.json", want{"1-6b075356-066b7ae9989ba5150d9edd5b", "04e26bd89e25a7fe", "", "node-checkout", false, false, 2},
		func(t *testing.T, s model.Span) {
			r := s.Root
			wantHTTP := model.HTTP{Method: "POST", URL: "http://shop.example.com/checkout", UserAgent: "fluoro-fixture/1.0 (node)", ClientIP: "203.0.113.7", Status: 200}
			if r.HTTP != wantHTTP || r.User != "alice" {
				t.Errorf("HTTP, User = %+v, %q; want %+v, alice", r.HTTP, r.User, wantHTTP)
			}
			wantAnn := []model.Annotation{
				{Key: "cart_items", Value: model.Value{Kind: model.Number, Num: 3}},
				{Key: "customer_tier", Value: model.Value{Kind: model.String, Str: "gold"}},
				{Key: "is_test", Value: model.Value{Kind: model.Bool, Bool: true}},
			}
			if !reflect.DeepEqual(r.Annotations, wantAnn) {
				t.Errorf("Annotations = %+v; want %+v", r.Annotations, wantAnn)
			}
		})
	check("node_in_progress_segment.json", want{"1-6b075356-066b7ae9989ba5150d9edd5b", "04e26bd89e25a7fe", "", "node-checkout", false, true, 1}, nil)
	check("node_sql_subsegment.json", want{"1-6b075356-066b7ae9989ba5150d9edd5b", "2bc9b9692af27f85", "04e26bd89e25a7fe", "checkout@pg.internal", true, false, 1},
		func(t *testing.T, s model.Span) {
			want := &model.SQL{URL: "postgresql://pg.internal:5432/checkout", SanitizedQuery: "SELECT * FROM carts WHERE id = ?", DatabaseType: "PostgreSQL", User: "app"}
			if !reflect.DeepEqual(s.Root.SQL, want) || s.Root.Namespace != "remote" {
				t.Errorf("SQL, Namespace = %+v, %q; want %+v, remote", s.Root.SQL, s.Root.Namespace, want)
			}
		})
	check("node_http_subsegment.json", want{"1-6b075356-066b7ae9989ba5150d9edd5b", "36fc9b4d20e05554", "04e26bd89e25a7fe", "payments.example.com", true, false, 1}, nil)
	check("node_local_subsegment.json", want{"1-6b075356-066b7ae9989ba5150d9edd5b", "a00d652e21ca6f90", "8fb77526fc476a55", "apply-tax", true, false, 1}, nil)
	check("node_redis_subsegment.json", want{"1-6b075356-0f2341a58080febe8d23462d", "67dc054caa120daa", "a25d2601b0941108", "redis@cache.internal", true, false, 1}, nil)
	check("node_remote_fault_subsegment.json", want{"1-6b075356-7999ef3172b6309a555f1162", "d3102534253d4434", "d900ffa5d4a7a8b6", "bank.example.com", true, false, 1},
		func(t *testing.T, s model.Span) {
			want := []model.Exception{{ID: "77924e47b4a34e32", Type: "Error", Message: "payment declined by bank", Remote: true}}
			if !reflect.DeepEqual(s.Root.Exceptions, want) || !s.Root.Fault || s.Root.HTTP.Status != 500 {
				t.Errorf("Exceptions, Fault, Status = %+v, %v, %d; want %+v, true, 500", s.Root.Exceptions, s.Root.Fault, s.Root.HTTP.Status, want)
			}
		})
	check("node_fault_segment.json", want{"1-6b075356-7999ef3172b6309a555f1162", "105e35e523bfc20d", "", "node-checkout", false, false, 2},
		func(t *testing.T, s model.Span) {
			if !s.Root.Fault || s.Root.Exceptions != nil || !s.Root.Subsegments[0].Fault {
				t.Errorf(`cause {"id"}: Fault, Exceptions = %v, %+v; want true, none`, s.Root.Fault, s.Root.Exceptions)
			}
		})
	check("node_throttle_segment.json", want{"1-6b075356-0f2341a58080febe8d23462d", "d2d0d88ad5c5ca0c", "", "node-checkout", false, false, 2},
		func(t *testing.T, s model.Span) {
			r := s.Root
			if !r.Throttle || !r.Error || r.Fault || r.HTTP.Status != 429 {
				t.Errorf("Throttle, Error, Fault, Status = %v, %v, %v, %d; want true, true, false, 429", r.Throttle, r.Error, r.Fault, r.HTTP.Status)
			}
		})
	check("go_backend_segment.json", want{"1-6b0753a8-534116e244a7af8f97ae0184", "a10acff09685dddb", "121caef86bd67c59", "backend", false, false, 2}, nil)
	check("go_frontend_segment.json", want{"1-6b0753a8-534116e244a7af8f97ae0184", "a2d0a649eabe261b", "", "frontend", false, false, 13},
		func(t *testing.T, s model.Span) {
			ddb := s.Root.Subsegments[1]
			wantAWS := model.AWSCall{Operation: "GetItem", Region: "us-east-1", TableName: "scorekeep-user"}
			if ddb.Name != "dynamodb" || ddb.Namespace != "aws" || ddb.AWS != wantAWS {
				t.Errorf("dynamodb subsegment = %q %q %+v; want dynamodb aws %+v", ddb.Name, ddb.Namespace, ddb.AWS, wantAWS)
			}
			// The SDK leaves the request subsegment of the call open.
			if req := ddb.Subsegments[1].Subsegments[1]; req.Name != "request" || !req.InProgress {
				t.Errorf("attempt/request = %q in progress %v; want request in progress", req.Name, req.InProgress)
			}
		})
	check("go_backend_fault_segment.json", want{"1-6b0753a8-7bee4a473f87d98691adc139", "1c94999165424130", "84aefc5558f147d8", "backend", false, false, 2}, nil)
	check("go_frontend_fault_segment.json", want{"1-6b0753a8-7bee4a473f87d98691adc139", "83d0c4d6bf7f910f", "", "frontend", false, false, 10},
		func(t *testing.T, s model.Span) {
			charge := s.Root.Subsegments[2]
			want := []model.Exception{{ID: "f15cd962c1b83121", Type: "errors.errorString", Message: "card declined"}}
			if !charge.Fault || !reflect.DeepEqual(charge.Exceptions, want) {
				t.Errorf("charge Fault, Exceptions = %v, %+v; want true, %+v", charge.Fault, charge.Exceptions, want)
			}
		})
	check("daemon_independent_subsegment.json", want{"1-581cf771-a006649127e371903a2de979", "53995c3f42cd8ad8", "defdfd9912dc5a56", "api.example.com", true, false, 1},
		func(t *testing.T, s model.Span) {
			want := model.HTTP{Method: "POST", URL: "https://api.example.com/health", Traced: true, Status: 200}
			if s.Root.HTTP != want || micros(s.Root.Start) != 1478293361.271 || micros(s.Root.End) != 1478293361.449 {
				t.Errorf("HTTP, Start, End = %+v, %v, %v; want %+v, 1478293361.271, 1478293361.449", s.Root.HTTP, s.Root.Start, s.Root.End, want)
			}
		})
	check("java_segment.json", want{"1-581cf771-a006649127e371903a2de979", "70de5b6f19ff9a0a", "", "Scorekeep", false, false, 3},
		func(t *testing.T, s model.Span) {
			if s.Root.Exceptions != nil || !s.Root.Fault {
				t.Errorf("bare-string cause: Exceptions, Fault = %+v, %v; want none, true", s.Root.Exceptions, s.Root.Fault)
			}
			ex := s.Root.Subsegments[0].Exceptions
			if len(ex) != 1 || ex[0].ID != "4ed4a0e3c1b02a9d" || ex[0].Type != "scorekeep.GameNotFoundException" {
				t.Errorf("GameModel.saveGame exceptions = %+v; want the GameNotFoundException", ex)
			}
		})
	check("otel_subsegment.json", want{"1-65afd780-8d1e8f05f3a3a0bd2fb2b3c4", "5fb4c9c45ebd6c3e", "c5ae0e4e2b3f9a71", "payments", true, false, 1},
		func(t *testing.T, s model.Span) {
			if s.Root.HTTP.Status != 404 || !s.Root.Error {
				t.Errorf("string content_length: Status, Error = %d, %v; want 404, true", s.Root.HTTP.Status, s.Root.Error)
			}
			if len(s.Root.Annotations) != 2 || s.Root.Annotations[0].Key != "http.route" {
				t.Errorf("Annotations = %+v; want http.route and retry_count", s.Root.Annotations)
			}
		})
	check("python_ec2_segment.json", want{"1-6b075356-2f9c1e0a7b3d4c5e6f708192", "1c5ae1d2b3a40f96", "", "orders", false, false, 2},
		func(t *testing.T, s model.Span) {
			r := s.Root
			if r.InstanceID != "i-0b5a4678fc325bd98" || r.AvailabilityZone != "us-west-2c" || r.AccountID != "123456789012" || r.Origin != "AWS::EC2::Instance" {
				t.Errorf("InstanceID, AvailabilityZone, AccountID, Origin = %q, %q, %q, %q", r.InstanceID, r.AvailabilityZone, r.AccountID, r.Origin)
			}
		})
}

func TestDecodeArray(t *testing.T) {
	doc := readDocument(t, "array_subsegments.json")
	spans, err := Decode(doc)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(spans) != 2 {
		t.Fatalf("Decode returned %d spans; want 2", len(spans))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(doc, &elems); err != nil {
		t.Fatal(err)
	}
	for i, s := range spans {
		if !s.Independent || s.Root.ParentID.String() != "8fb77526fc476a55" || s.TraceID.String() != "1-6b075356-066b7ae9989ba5150d9edd5b" {
			t.Errorf("span %d: Independent %v, ParentID %s, TraceID %s", i, s.Independent, s.Root.ParentID, s.TraceID)
		}
	}
	if spans[0].Root.Name != "apply-discount" || spans[1].Root.Name != "apply-shipping" {
		t.Errorf("names = %q, %q; want apply-discount, apply-shipping in document order", spans[0].Root.Name, spans[1].Root.Name)
	}
	// Each span is stored and returned on its own: its Doc must be its
	// element, an object, not the whole array. Decode re-serialises the
	// element, so compare it as JSON, not byte for byte.
	t.Run("Doc is the element", func(t *testing.T) {
		for i, s := range spans {
			var got, want any
			if err := json.Unmarshal(s.Doc, &got); err != nil {
				t.Fatalf("span %d: Doc %s: %v", i, s.Doc, err)
			}
			if err := json.Unmarshal(elems[i], &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("span %d: Doc = %s; want its element %s", i, s.Doc, elems[i])
			}
		}
	})
}

// micros rounds epoch seconds to the microsecond.
func micros(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// TestDecodeExponentTimes: Java and the daemon's examples write times as
// 1.478293361271E9; they must decode to the same float64 as strconv does
// (the nearest one), as the decimal form does.
func TestDecodeExponentTimes(t *testing.T) {
	check := func(t *testing.T, start, end string) {
		t.Helper()
		t.Run(start+"-"+end, func(t *testing.T) {
			doc := `{"name":"t","id":"70de5b6f19ff9a0a","trace_id":"` + testTraceID + `","start_time":` + start + `,"end_time":` + end + `}`
			spans, err := Decode([]byte(doc))
			if err != nil {
				t.Fatalf("Decode(%s): %v", doc, err)
			}
			wantStart, _ := strconv.ParseFloat(start, 64)
			wantEnd, _ := strconv.ParseFloat(end, 64)
			if got := spans[0].Root; got.Start != wantStart || got.End != wantEnd {
				t.Errorf("Start, End = %v, %v; want %v, %v", got.Start, got.End, wantStart, wantEnd)
			}
		})
	}
	check(t, "1.480615200010E9", "1.480615200090E9")
	check(t, "1480615200.010", "1480615200.090")
	check(t, "1.49947341469E9", "1.499473414769E9") // xray-protocol.md Appendix C
	// fastjson's own conversion was one ulp off for these.
	check(t, "1.478293361271E9", "1.478293361449E9") // xray-protocol.md Appendix C
	check(t, "1.68695229338778E+09", "1.83135627245828E+09")
	// A zero-length subsegment written in both forms must not end before it
	// starts.
	check(t, "1.478293361271E9", "1478293361.271")
}

// TestDecodeErrorIDIsDocumentID: DocError.ID is "the document's id when one
// could be read", which is what PutTraceSegments reports as the
// unprocessed segment's Id. A fault in an embedded subsegment must still
// name the document.
func TestDecodeErrorIDIsDocumentID(t *testing.T) {
	check := func(name, doc, wantCode string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			_, err := Decode([]byte(doc))
			var de *DocError
			if !errors.As(err, &de) || de.Code != wantCode {
				t.Fatalf("Decode: %v; want a %s DocError", err, wantCode)
			}
			if de.ID != testID {
				t.Errorf("ID = %q; want the document's id %q", de.ID, testID)
			}
		})
	}
	check("subsegment without id", withSub(func(s map[string]any) { delete(s, "id") }), CodeMissingID)
	check("subsegment name invalid", withSub(func(s map[string]any) { s["name"] = "SELECT *" }), CodeInvalidName)
	check("subsegment without end_time", withSub(func(s map[string]any) { delete(s, "end_time") }), CodeInvalidTimes)
	check("subsegment annotation null", withSub(func(s map[string]any) { s["annotations"] = map[string]any{"k": nil} }), CodeInvalidAnnotaton)
	check("subsegment annotation overflowing", withSub(func(s map[string]any) { s["annotations"] = map[string]any{"k": json.Number("1e999")} }), CodeInvalidAnnotaton)
	check("subsegment id not hex", withSub(func(s map[string]any) { s["id"] = "not-hex-at-all!!" }), CodeMissingID)
	check("subsegment parent_id not hex", withSub(func(s map[string]any) { s["parent_id"] = "xyz" }), CodeInvalidSegment)
	check("subsegment subsegments not an array", withSub(func(s map[string]any) { s["subsegments"] = "none" }), CodeInvalidSegment)
	check("subsegment not an object", segment(func(m map[string]any) { m["subsegments"] = []any{"DynamoDB"} }), CodeInvalidSegment)
	check("nested subsegment not an object", withSub(func(s map[string]any) { s["subsegments"] = []any{42} }), CodeInvalidSegment)
	check("nested subsegment without name", withSub(func(s map[string]any) {
		s["subsegments"] = []any{map[string]any{"id": "1111111111111111", "start_time": 1478293361.3, "end_time": 1478293361.4}}
	}), CodeInvalidName)
	check("subsegments nested too deep", nested(100), CodeInvalidSegment)
}

// TestDecodeZeroID: Fluoro's model uses SpanID 0 for "no parent", so an id
// of sixteen zeros cannot be told from an absent one.
func TestDecodeZeroID(t *testing.T) {
	check := func(name, doc, wantCode, wantID string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			spans, err := Decode([]byte(doc))
			if err == nil {
				t.Fatalf("Decode accepted a zero id: %+v", spans[0].Root)
			}
			var de *DocError
			if !errors.As(err, &de) || de.Code != wantCode || de.ID != wantID {
				t.Errorf("Decode: %#v; want a %s DocError with ID %q", err, wantCode, wantID)
			}
		})
	}
	const zero = "0000000000000000"
	check("segment", segment(func(m map[string]any) { m["id"] = zero }), CodeMissingID, zero)
	check("subsegment", withSub(func(s map[string]any) { s["id"] = zero }), CodeMissingID, testID)
	check("independent subsegment", independent(func(m map[string]any) { m["id"] = zero }), CodeMissingID, zero)
	check("segment parent", segment(func(m map[string]any) { m["parent_id"] = zero }), CodeInvalidSegment, testID)
	check("independent parent", independent(func(m map[string]any) { m["parent_id"] = zero }), CodeInvalidSegment, testSubID)
	check("subsegment parent", withSub(func(s map[string]any) { s["parent_id"] = zero }), CodeInvalidSegment, testID)
}
