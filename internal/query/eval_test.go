package query_test

import (
	"errors"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/query"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// decode turns segment documents, in arrival order, into the deduplicated
// spans of one trace and its summary, as the server does at ingest.
func decode(t testing.TB, docs ...string) ([]*model.Span, model.Summary) {
	t.Helper()
	var spans []*model.Span
	for i, doc := range docs {
		decoded, err := xray.Decode([]byte(doc))
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		for j := range decoded {
			spans = append(spans, &decoded[j])
		}
	}
	spans = trace.Dedupe(spans)
	return spans, trace.Summarize(spans)
}

// parse parses an expression the evaluator must accept.
func parse(t testing.TB, src string) filterexpr.Expr {
	t.Helper()
	e, err := filterexpr.Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	if err := query.Check(e); err != nil {
		t.Fatalf("Check(%q) = %v; want nil", src, err)
	}
	return e
}

// match is one expression and whether it must match the case's trace.
type match struct {
	expr string
	want bool
}

// Fixtures: the documents of one trace each (xray-protocol.md §1).

// twoServices: front (root, 200) calls an instrumented backend that faults,
// an uninstrumented DynamoDB table that returns 400 and a SQL database,
// all from below a local subsegment.
var twoServices = []string{
	`{"trace_id": "1-5f84c7a0-0123456789abcdef01234567", "id": "1000000000000001", "name": "front",
	  "origin": "AWS::EC2::Instance", "start_time": 1000, "end_time": 1001.5, "user": "alice",
	  "resource_arn": "arn:aws:ec2:us-west-2:123456789012:instance/i-0abc",
	  "aws": {"ec2": {"instance_id": "i-0abc", "availability_zone": "us-west-2a"}},
	  "http": {"request": {"method": "GET", "url": "https://api.example.com/v2/games?id=7",
	                       "user_agent": "curl/8.5.0", "client_ip": "203.0.113.9"},
	           "response": {"status": 200}},
	  "annotations": {"gameid": "817DL6VO", "age": 30, "vip": true, "a.b": "dotted"},
	  "subsegments": [
	    {"id": "1000000000000002", "name": "handler", "start_time": 1000.05, "end_time": 1001.45,
	     "subsegments": [
	       {"id": "1000000000000003", "name": "backend.example.com", "namespace": "remote",
	        "start_time": 1000.1, "end_time": 1000.9, "fault": true,
	        "http": {"request": {"method": "POST", "url": "http://backend.example.com/items", "traced": true},
	                 "response": {"status": 500}}},
	       {"id": "1000000000000004", "name": "DynamoDB", "namespace": "aws",
	        "start_time": 1000.95, "end_time": 1001.0, "error": true,
	        "aws": {"table_name": "games", "operation": "GetItem"},
	        "http": {"response": {"status": 400}}},
	       {"id": "1000000000000005", "name": "games@db.example.com", "namespace": "remote",
	        "start_time": 1001.0, "end_time": 1001.4,
	        "sql": {"url": "jdbc:postgresql://db.example.com:5432/games", "database_type": "PostgreSQL"}}
	     ]}
	  ]}`,
	`{"trace_id": "1-5f84c7a0-0123456789abcdef01234567", "id": "2000000000000001", "name": "backend.example.com",
	  "origin": "AWS::ECS::Container", "parent_id": "1000000000000003", "start_time": 1000.2, "end_time": 1002,
	  "fault": true, "user": "bob", "aws": {"ec2": {"availability_zone": "us-west-2b"}},
	  "http": {"request": {"method": "POST", "url": "http://backend.example.com/items"}, "response": {"status": 502}},
	  "annotations": {"age": 41}}`,
}

// faultRoot: one service whose root segment faults.
var faultRoot = []string{
	`{"trace_id": "1-5f84c7a1-0123456789abcdef01234567", "id": "1100000000000001", "name": "api",
	  "start_time": 10, "end_time": 12.5, "fault": true,
	  "http": {"request": {"method": "GET", "url": "http://api.example.com/x"}, "response": {"status": 502}},
	  "subsegments": [{"id": "1100000000000002", "name": "work", "start_time": 10.5, "end_time": 12, "fault": true,
	    "cause": {"working_directory": "/app", "exceptions": [
	      {"id": "e000000000000001", "type": "AccessDenied", "message": "Access Denied for account_id: 1234567890"}]}}]}`,
}

// throttledRoot: the root segment answers 429 (SDKs set error and throttle).
var throttledRoot = []string{
	`{"trace_id": "1-5f84c7a2-0123456789abcdef01234567", "id": "1200000000000001", "name": "api",
	  "start_time": 20, "end_time": 20.25, "error": true, "throttle": true,
	  "http": {"request": {"method": "PUT", "url": "http://api.example.com/y"}, "response": {"status": 429}}}`,
}

// throttleBelow: the root answers 200; a DynamoDB call below it is throttled.
var throttleBelow = []string{
	`{"trace_id": "1-5f84c7a3-0123456789abcdef01234567", "id": "1300000000000001", "name": "api",
	  "start_time": 30, "end_time": 31,
	  "http": {"request": {"method": "GET", "url": "http://api.example.com/z"}, "response": {"status": 200}},
	  "subsegments": [
	    {"id": "1300000000000002", "name": "DynamoDB", "namespace": "aws", "start_time": 30.1, "end_time": 30.2,
	     "error": true, "throttle": true, "aws": {"table_name": "sessions", "operation": "Query"},
	     "http": {"response": {"status": 429}}}]}`,
}

// inProgress: the root segment has not ended; its call to an uninstrumented
// HTTP service has.
var inProgress = []string{
	`{"trace_id": "1-5f84c7a4-0123456789abcdef01234567", "id": "1400000000000001", "name": "api",
	  "start_time": 50, "in_progress": true,
	  "subsegments": [
	    {"id": "1400000000000002", "name": "slow.example.com", "namespace": "remote", "start_time": 50.1, "end_time": 50.3,
	     "http": {"request": {"method": "GET", "url": "https://slow.example.com/"}, "response": {"status": 200}}}]}`,
}

// orphan: an independent subsegment whose parent never arrived.
var orphan = []string{
	`{"trace_id": "1-5f84c7a5-0123456789abcdef01234567", "id": "1500000000000001", "name": "api",
	  "start_time": 60, "end_time": 61}`,
	`{"trace_id": "1-5f84c7a5-0123456789abcdef01234567", "id": "1500000000000002", "type": "subsegment",
	  "parent_id": "1500000000000099", "name": "lost", "start_time": 60.2, "end_time": 60.4}`,
}

// independent: a segment, an independent subsegment sent on its own (which
// calls a faulting HTTP service and outlives the segment), and an array
// document of two independent subsegments below that one (S3 and SQS calls).
var independent = []string{
	`{"trace_id": "1-5f84c7a6-0123456789abcdef01234567", "id": "3000000000000001", "name": "worker",
	  "origin": "AWS::ECS::Container", "start_time": 2000, "end_time": 2003}`,
	`{"trace_id": "1-5f84c7a6-0123456789abcdef01234567", "id": "3000000000000002", "type": "subsegment",
	  "parent_id": "3000000000000001", "name": "process", "start_time": 2000.5, "end_time": 2004,
	  "annotations": {"step": "process", "attempt": 2},
	  "subsegments": [
	    {"id": "3000000000000003", "name": "payments.example.com", "namespace": "remote",
	     "start_time": 2001, "end_time": 2002, "fault": true,
	     "http": {"request": {"method": "POST", "url": "https://payments.example.com/charge"},
	              "response": {"status": 503}}}]}`,
	`[{"trace_id": "1-5f84c7a6-0123456789abcdef01234567", "id": "3000000000000004", "type": "subsegment",
	   "parent_id": "3000000000000002", "name": "S3", "namespace": "aws", "start_time": 2002, "end_time": 2002.5,
	   "error": true, "aws": {"bucket_name": "invoices", "operation": "PutObject"}, "http": {"response": {"status": 404}}},
	  {"trace_id": "1-5f84c7a6-0123456789abcdef01234567", "id": "3000000000000005", "type": "subsegment",
	   "parent_id": "3000000000000002", "name": "SQS", "namespace": "aws", "start_time": 2002.5, "end_time": 2002.6,
	   "aws": {"queue_url": "https://sqs.us-west-2.amazonaws.com/123456789012/jobs", "operation": "SendMessage"},
	   "http": {"response": {"status": 200}}}]`,
}

// lambda: api invokes a Lambda function that reports its own segment, so
// the function's segment replaces the inferred node (§7.3 step 3).
var lambda = []string{
	`{"trace_id": "1-5f84c7a7-0123456789abcdef01234567", "id": "4000000000000001", "name": "api",
	  "origin": "AWS::EC2::Instance", "start_time": 3000, "end_time": 3001,
	  "http": {"request": {"method": "GET", "url": "http://api.example.com/fn"}, "response": {"status": 200}},
	  "subsegments": [
	    {"id": "4000000000000002", "name": "Lambda", "namespace": "aws", "start_time": 3000.05, "end_time": 3000.9,
	     "aws": {"operation": "Invoke", "function_name": "random-name"}, "http": {"response": {"status": 200}}}]}`,
	`{"trace_id": "1-5f84c7a7-0123456789abcdef01234567", "id": "4100000000000001", "name": "random-name",
	  "origin": "AWS::Lambda::Function", "parent_id": "4000000000000002", "start_time": 3000.1, "end_time": 3000.8,
	  "error": true, "aws": {"account_id": "123456789012"}}`,
}

// TestMatch evaluates expressions over small traces and compares with
// X-Ray's semantics as xray-protocol.md §6.3, §6.5 and §7.3 describe them.
func TestMatch(t *testing.T) {
	check := func(name string, docs []string, matches []match) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			spans, sum := decode(t, docs...)
			for _, m := range matches {
				e := parse(t, m.expr)
				got := query.Match(e, &query.Trace{Summary: &sum, Spans: spans})
				if got != m.want {
					t.Errorf("Match(%s) = %v; want %v", m.expr, got, m.want)
				}
				if !query.NeedsSpans(e) {
					// The summary alone must give the same answer.
					if alone := query.Match(e, &query.Trace{Summary: &sum}); alone != got {
						t.Errorf("Match(%s) = %v with spans, %v from the summary alone", m.expr, got, alone)
					}
				}
			}
		})
	}

	check("two services", twoServices, []match{
		// Root-segment flags: the backend's fault is not the trace's.
		{`fault`, false},
		{`error`, false},
		{`throttle`, false},
		{`ok`, true},
		{`partial`, false},
		{`fault = false`, true},
		{`ok = true`, true},
		{`ok != true`, false},
		// §6.3: inferred = "trace has inferred segments"; DynamoDB and SQL are.
		{`inferred`, true},
		// Numbers: responsetime is the root's 1.5 s, duration 1000 → 1002.
		{`responsetime = 1.5`, true},
		{`responsetime != 1.5`, false},
		{`responsetime < 1.5`, false},
		{`responsetime <= 1.5`, true},
		{`responsetime > 1.4`, true},
		{`responsetime >= 1.5`, true},
		{`responsetime > 1.5`, false},
		{`duration = 2`, true},
		{`duration >= 5 AND duration <= 8`, false},
		{`http.status = 200`, true},
		{`http.status != 200`, false},
		{`http.status != 500`, true},
		{`http.status >= 200 AND http.status < 300`, true},
		{`http.status > 499`, false},
		// Strings, from the root segment.
		{`http.url`, true},
		{`http.url = "https://api.example.com/v2/games?id=7"`, true},
		{`http.url != "https://api.example.com/v2/games?id=7"`, false},
		{`http.url CONTAINS "/v2/"`, true},
		{`http.url CONTAINS "/v3/"`, false},
		{`http.url BEGINSWITH "https://api.example.com/"`, true},
		{`http.url BEGINSWITH "http://api.example.com/"`, false},
		{`http.url ENDSWITH "id=7"`, true},
		{`http.url ENDSWITH "id=8"`, false},
		{`http.url = "http://backend.example.com/items"`, false},
		{`http.method = "GET"`, true},
		{`http.method != "POST"`, true},
		{`http.method = "POST"`, false},
		{`http.useragent BEGINSWITH "curl/"`, true},
		{`http.useragent CONTAINS "Mozilla"`, false},
		{`http.clientip = "203.0.113.9"`, true},
		{`http.clientip ENDSWITH ".10"`, false},
		// Users, zones, instances, ARNs: from any segment.
		{`user = "alice"`, true},
		{`user = "bob"`, true},
		{`user = "carol"`, false},
		{`user CONTAINS ""`, true},
		{`user BEGINSWITH "ali"`, true},
		{`availabilityzone = "us-west-2a"`, true},
		{`availabilityzone = "us-west-2b"`, true},
		{`availabilityzone ENDSWITH "c"`, false},
		{`instance.id = "i-0abc"`, true},
		{`instance.id != "i-0abc"`, false},
		{`resource.arn ENDSWITH "instance/i-0abc"`, true},
		{`resource.arn BEGINSWITH "arn:aws:lambda"`, false},
		// Annotations of any segment, by value type.
		{`annotation.gameid = "817DL6VO"`, true},
		{`annotation.gameid CONTAINS "DL6"`, true},
		{`annotation.gameid BEGINSWITH "817"`, true},
		{`annotation.gameid ENDSWITH "XX"`, false},
		{`annotation.gameid = "other"`, false},
		{`annotation.age`, true},
		{`!annotation.age`, false},
		{`annotation.missing`, false},
		{`!annotation.missing`, true},
		{`annotation.age > 29`, true},
		{`annotation.age = 41`, true}, // from the backend's segment
		{`annotation.age < 30`, false},
		{`annotation.age <= 30`, true},
		{`annotation.age >= 42`, false},
		{`annotation.age = "30"`, false},       // type mismatch: false, not an error
		{`annotation.age CONTAINS "3"`, false}, // likewise
		{`annotation.gameid > 5`, false},       // likewise
		{`annotation.vip`, true},
		{`annotation.vip = true`, true},
		{`annotation.vip = false`, false},
		{`annotation.vip != true`, false},
		{`annotation[a.b] = "dotted"`, true},
		{`annotation["a.b"] BEGINSWITH "dot"`, true},
		{`annotation.a.b = "dotted"`, true},
		{`annotation[gameid] = "817DL6VO"`, true},
		// Logic, precedence, case.
		{`ok !partial duration < 3`, true},
		{`fault OR error`, false},
		{`fault OR ok`, true},
		{`(fault OR ok) AND http.method = "GET"`, true},
		{`fault OR ok AND http.method = "POST"`, false},
		{`(fault OR ok) AND (http.method = "POST" OR user = "alice")`, true},
		{`!(fault OR error)`, true},
		{`!ok`, false},
		{`!!ok`, true},
		{`NOT fault`, true},
		{`RESPONSETIME > 1 and HTTP.URL contains "games"`, true},
		{`http.url AND responseTime > 2`, false},
		// Services: instrumented, inferred, by id.
		{`service("front")`, true},
		{`service("nope")`, false},
		{`!service("nope")`, true},
		{`!service("front")`, false},
		{`service()`, true},
		{`service("handler")`, false}, // a local subsegment is not a node
		{`service("front") { root }`, true},
		{`service("front") { root = true AND ok }`, true},
		{`service("backend.example.com") { root }`, false},
		{`service("backend.example.com") { !root }`, true},
		{`service("front") { fault }`, false},
		{`service("backend.example.com") { fault AND http.status = 502 AND user = "bob" }`, true},
		{`service("backend.example.com") { http.status = 500 }`, false},
		{`service("backend.example.com") { responsetime > 1.7 AND responsetime < 1.9 }`, true},
		{`service("backend.example.com") { duration > 1.7 AND duration < 1.9 }`, true},
		{`service("backend.example.com") { availabilityzone = "us-west-2b" }`, true},
		{`service("backend.example.com") { availabilityzone = "us-west-2a" }`, false},
		{`service("backend.example.com") { inferred }`, false},
		{`service("backend.example.com") { error OR throttle OR partial }`, false},
		{`service("front") { user = "alice" AND availabilityzone = "us-west-2a" AND instance.id = "i-0abc" AND resource.arn CONTAINS "instance/" }`, true},
		{`service("front") { user = "bob" }`, false},
		{`service("front") { http.clientip = "203.0.113.9" AND http.useragent CONTAINS "curl" AND http.method = "GET" AND http.url ENDSWITH "=7" }`, true},
		{`service("front") { http.status >= 500 }`, false},
		{`service() { fault }`, true},
		{`service() { throttle }`, false},
		{`service(id(name: "front", type: "AWS::EC2::Instance"))`, true},
		{`service(id(name: "front", type: "AWS::ECS::Container"))`, false},
		{`service(id(type: "AWS::ECS::Container")) { fault }`, true},
		{`id(name: "games")`, true},
		{`service(id(name: "games", type: "AWS::DynamoDB::Table")) { inferred AND error AND http.status = 400 }`, true},
		{`service(id(type: "AWS::DynamoDB"))`, false}, // the table's node is AWS::DynamoDB::Table
		{`service("games") { ok }`, false},
		{`service(id(type: "Database::SQL")) { inferred AND ok AND responsetime < 0.5 }`, true},
		{`service(id(name: "games@db.example.com", type: "Database::SQL"))`, true},
		// The instrumented backend replaces the inferred remote node.
		{`service(id(name: "backend.example.com", type: "remote"))`, false},
		{`service() { inferred AND fault }`, false},
		{`service() { inferred AND error }`, true},
		// A fault only on a downstream call: not the trace's, but the callee's and the edge's.
		{`service("backend.example.com") { fault } AND !fault`, true},
		{`service("front") { fault = true OR responsetime > 1.2 } AND annotation.gameid = "817DL6VO"`, true},
		{`service("front") { fault = true OR responsetime > 2.5 } AND annotation.gameid = "817DL6VO"`, false},
		{`http.url BEGINSWITH "https://api.example.com/" AND http.url CONTAINS "/v2/" AND !service("api.example.com")`, true},
		// Edges: the filter is on the caller's subsegment (500), not the callee's segment (502).
		{`edge("front", "backend.example.com")`, true},
		{`edge("backend.example.com", "front")`, false},
		{`edge("front", "backend.example.com") { fault AND http.status = 500 }`, true},
		{`edge("front", "backend.example.com") { http.status = 502 }`, false},
		{`edge("front", "backend.example.com") { http.method = "POST" AND http.url ENDSWITH "/items" }`, true},
		{`edge("front", "backend.example.com") { responsetime > 0.7 AND responsetime < 0.9 }`, true},
		{`edge("front", id(name: "games", type: "AWS::DynamoDB::Table")) { error }`, true},
		{`edge("front", "games") { fault }`, false},
		{`edge(id(name: "front"), id(type: "Database::SQL")) { ok AND responsetime > 0.3 }`, true},
		{`edge(id(type: "AWS::ECS::Container"), id(type: "Database::SQL"))`, false},
		{`edge("front", "handler")`, false},
		// Root causes (§7.4): the fault runs front → backend, the error front → games.
		{`rootcause.fault.service { last AND name = "backend.example.com" AND type = "AWS::ECS::Container" }`, true},
		{`rootcause.fault.service { first AND name = "front" }`, true},
		{`rootcause.fault.entity { remote and name = "backend.example.com" }`, true},
		{`rootcause.fault.entity { remote and name = "handler" }`, false},
		{`rootcause.fault.exception { name CONTAINS "" }`, false},
		{`rootcause.error.service { inferred and name = games and type = "AWS::DynamoDB::Table" }`, true},
		{`rootcause.error.service { index > 0 AND last }`, true},
		{`rootcause.error.service { inferred AND name = "backend.example.com" }`, false},
		{`rootcause.responsetime.service { first and name = "front" }`, true},
		{`!rootcause.fault.service { name = "games" } AND rootcause.error.service { name = "games" }`, true},
	})

	check("fault at the root", faultRoot, []match{
		{`fault`, true},
		{`fault = true`, true},
		{`fault != true`, false},
		{`fault = false`, false},
		{`ok`, false},
		{`!ok`, true},
		{`error`, false},
		{`throttle`, false},
		{`partial`, false},
		{`inferred`, false},
		{`http.status >= 500`, true},
		{`http.status = 502`, true},
		{`http.status != 200`, true},
		{`responsetime = 2.5`, true},
		{`duration = 2.5`, true},
		{`user`, false},
		{`user CONTAINS ""`, false},
		{`availabilityzone`, false},
		{`instance.id CONTAINS ""`, false},
		{`resource.arn`, false},
		{`http.useragent`, false},
		{`http.clientip`, false},
		{`annotation.x`, false},
		{`!annotation.x`, true},
		{`service("api") { root = true AND fault = true }`, true},
		{`service("api") { ok }`, false},
		{`service() { ok }`, false},
		{`service(id(name: "api"))`, true},
		{`service(id(type: "AWS::EC2::Instance"))`, false},
		{`service("work")`, false},
		{`edge("api", "work")`, false},
		// Root causes (§7.4): the fault chain api → work, blamed on work's exception.
		{`rootcause.fault.service { name = "api" AND !inferred }`, true},
		{`rootcause.fault.entity { first and name = "api" }`, true},
		{`rootcause.fault.entity { last and name = "work" }`, true},
		{`rootcause.fault.entity { last and name = "api" }`, false},
		{`rootcause.fault.exception { last and message = "Access Denied for account_id: 1234567890" }`, true},
		{`rootcause.fault.exception { name = "AccessDenied" AND !remote }`, true},
		{`rootcause.fault.exception { message CONTAINS "Throttl" }`, false},
		{`rootcause.error.service { name = "api" }`, false},
		{`rootcause.error.entity { name CONTAINS "" }`, false},
		{`rootcause.responsetime.entity { name = "work" AND coverage > 0.5 AND coverage < 0.7 }`, true},
		{`rootcause.responsetime.service { last and name = "api" }`, true},
	})

	check("throttled root", throttledRoot, []match{
		{`throttle`, true},
		{`error`, true},
		{`fault`, false},
		{`ok`, false},
		{`http.status = 429`, true},
		{`http.method = "PUT"`, true},
		{`responsetime < 0.5`, true},
		{`service("api") { throttle AND error AND !fault AND root }`, true},
		{`service("api") { ok }`, false},
	})

	check("throttle below a 200 root", throttleBelow, []match{
		// §6.3: ok is "response status 2XX (root segment)", throttle "429
		// on the root segment". (§7.4's HasThrottle is "any segment".)
		{`ok`, true},
		{`throttle`, false},
		{`error`, false},
		{`fault`, false},
		{`http.status = 200`, true},
		{`service("sessions") { throttle AND error AND inferred }`, true},
		{`service(id(name: "sessions", type: "AWS::DynamoDB::Table")) { http.status = 429 }`, true},
		{`service("api") { ok AND root }`, true},
		{`service("api") { throttle }`, false},
		{`edge("api", "sessions") { throttle AND error }`, true},
		{`edge("api", "sessions") { ok }`, false},
	})

	check("root in progress", inProgress, []match{
		{`partial`, true},
		{`!partial`, false},
		{`ok !partial`, false},
		{`service("api") { partial }`, true},
		{`service("api") { responsetime < 1000 }`, false}, // no end, no response time
		{`service("slow.example.com") { partial }`, false},
		{`service(id(name: "slow.example.com", type: "remote")) { inferred AND ok AND http.status = 200 }`, true},
		{`edge("api", "slow.example.com") { responsetime > 0.1 AND http.url BEGINSWITH "https://slow" }`, true},
	})

	check("orphan subsegment", orphan, []match{
		{`partial`, true},
		{`ok`, true},
		{`service("api") { root AND !partial }`, true},
		{`service("lost")`, false},
	})

	check("independent subsegments", independent, []match{
		{`fault`, false},
		{`error`, false},
		{`ok`, true},
		{`partial`, false},
		{`inferred`, true},
		{`responsetime = 3`, true},
		{`duration = 4`, true}, // the independent subsegment outlives the segment
		{`http.status = 200`, false},
		{`http.status != 200`, false}, // no status: nothing to differ from
		{`!http.url`, true},
		{`annotation.step = "process"`, true},
		{`annotation.attempt >= 2`, true},
		{`annotation.attempt > 2`, false},
		{`service("worker") { root AND !fault AND responsetime = 3 }`, true},
		{`service("process")`, false},
		{`service("payments.example.com") { inferred AND fault AND http.status = 503 }`, true},
		{`edge("worker", "payments.example.com") { fault AND http.status = 503 AND http.method = "POST" }`, true},
		{`edge("process", "payments.example.com")`, false},
		{`service(id(name: "invoices", type: "AWS::S3::Bucket")) { error AND http.status = 404 }`, true},
		{`edge("worker", "invoices") { error AND !fault }`, true},
		{`edge("worker", id(type: "AWS::S3::Bucket")) { ok }`, false},
		{`service(id(name: "jobs", type: "AWS::SQS::Queue")) { ok AND inferred }`, true},
		{`edge(id(name: "worker", type: "AWS::ECS::Container"), "jobs")`, true},
		{`service() { fault } AND service() { error } AND !fault AND !error`, true},
	})

	check("instrumented lambda", lambda, []match{
		{`error`, false},
		{`ok`, true},
		{`inferred`, false}, // the function's segment replaced the inferred node
		{`service(id(name: "random-name", type: "AWS::Lambda::Function")) { error }`, true},
		{`service(id(type: "AWS::Lambda::Function")) { error AND !root }`, true},
		{`service(id(type: "AWS::Lambda"))`, false},
		{`service(id(account.id: "123456789012"))`, true},
		{`service(id(name: "random-name", account.id: "999999999999"))`, false},
		{`service(id(name: "api", account.id: "123456789012"))`, false},
		{`edge("api", id(name: "random-name", type: "AWS::Lambda::Function")) { ok AND responsetime > 0.8 }`, true},
		{`edge("api", "random-name") { error }`, false}, // the Invoke call itself answered 200
	})
}

func TestCheck(t *testing.T) {
	check := func(src string, unsupported bool) {
		t.Helper()
		e, err := filterexpr.Parse(src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		err = query.Check(e)
		var u *query.ErrUnsupported
		if got := errors.As(err, &u); got != unsupported {
			t.Errorf("Check(%s) = %v; want unsupported %v", src, err, unsupported)
		}
	}
	check(`ok`, false)
	check(`service("a") { fault } AND edge("a", "b") { error } OR annotation.x = 1`, false)
	check(`rootcause.fault.service { name = "Auth" }`, false)
	check(`ok AND !rootcause.responsetime.entity { last and coverage > 0.8 }`, false)
	check(`rootcause.json = #[{ "Services": [ { "Name": "GetWeatherData" } ] }]`, false)
	check(`group.name = "high_response_time" AND user = "alice"`, true)
	check(`fault OR (ok AND group.arn = "arn:aws:xray:us-east-1:123456789012:group/g/ABC")`, true)
}

func TestNeedsSpans(t *testing.T) {
	check := func(src string, want bool) {
		t.Helper()
		if got := query.NeedsSpans(parse(t, src)); got != want {
			t.Errorf("NeedsSpans(%s) = %v; want %v", src, got, want)
		}
	}
	check(`ok`, false)
	check(`ok !partial duration < 3 AND (user = "a" OR annotation[x.y] = true)`, false)
	check(`service("a")`, false) // answered from the summary's services
	check(`!service("a") AND id(name: "b")`, false)
	check(`rootcause.fault.service { name = "Auth" }`, false)
	check(`service("a") { fault }`, true)
	check(`!service() { ok }`, true)
	check(`id(name: "a") { root }`, true)
	check(`ok OR (fault AND edge("a", "b") { error })`, true)
}
