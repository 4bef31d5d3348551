package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"

	"github.com/fluoro-dev/fluoro/internal/analytics"
	"github.com/fluoro-dev/fluoro/internal/demo"
	"github.com/fluoro-dev/fluoro/internal/server"
	"github.com/fluoro-dev/fluoro/internal/server/servertest"
)

// getJSON reads an analytics endpoint into v and returns the status.
func getJSON(t *testing.T, s *server.Server, path string, q url.Values, v any) int {
	t.Helper()
	resp, err := http.Get("http://" + s.HTTPAddr().String() + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: decode: %v", path, err)
	}
	return resp.StatusCode
}

// lambdaDocs are the two segments AWS Lambda records for one invocation
// starting at start, with an Initialization subsegment when cold.
func lambdaDocs(start time.Time, seq int, cold bool) []string {
	s := float64(start.UnixNano()) / 1e9
	tid := fmt.Sprintf("1-%08x-%024x", start.Unix(), 0xabc000+seq)
	subs := ""
	at := s + 0.001
	if cold {
		subs = fmt.Sprintf(`{"id":"%016x","name":"Initialization","start_time":%f,"end_time":%f,"subsegments":[{"id":"%016x","name":"connect db","start_time":%f,"end_time":%f}]},`,
			0xb00000+seq, at, at+0.3, 0xb10000+seq, at+0.01, at+0.25)
		at += 0.301
	}
	subs += fmt.Sprintf(`{"id":"%016x","name":"Invocation","start_time":%f,"end_time":%f}`, 0xb20000+seq, at, at+0.1)
	end := at + 0.102
	return []string{
		fmt.Sprintf(`{"trace_id":"%s","id":"%016x","parent_id":"%016x","name":"resize","origin":"AWS::Lambda::Function","start_time":%f,"end_time":%f,"subsegments":[%s]}`,
			tid, 0xc00000+seq, 0xd00000+seq, s, end, subs),
		fmt.Sprintf(`{"trace_id":"%s","id":"%016x","name":"resize","origin":"AWS::Lambda","start_time":%f,"end_time":%f,"http":{"response":{"status":200}}}`,
			tid, 0xd00000+seq, s-0.01, end+0.005),
	}
}

// TestAnalyticsEndToEnd sends the demo topology's traffic and Lambda
// invocations through PutTraceSegments with the AWS SDK (not UDP, which may
// drop datagrams on a loaded machine and make the counts below flaky), then
// reads every analytics endpoint over HTTP.
func TestAnalyticsEndToEnd(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	const demoTraces = 300
	gen := demo.NewGenerator(42, demo.GeneratorOptions{})
	now := time.Now()
	var docs []string
	put := func() {
		if _, err := apiClient(s).PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs}); err != nil {
			t.Fatal(err)
		}
		docs = docs[:0]
	}
	for i := 0; i < demoTraces; i++ {
		tr := gen.Trace(now.Add(-time.Duration(demoTraces-i) * time.Second))
		for _, doc := range tr.Docs {
			docs = append(docs, string(doc))
		}
		if len(docs) >= 200 {
			put()
		}
	}
	for i := 0; i < 4; i++ {
		docs = append(docs, lambdaDocs(now.Add(-time.Duration(10*i)*time.Second), i, i%2 == 0)...)
	}
	put()
	const want = demoTraces + 4
	q := url.Values{"since": {"1h"}}
	eventually(t, "every trace summarised", func() error {
		var r analytics.LatencyResult
		if code := getJSON(t, s, "/api/analytics/latency", q, &r); code != 200 {
			return fmt.Errorf("status %d", code)
		}
		if r.Traces.Matched != want {
			return fmt.Errorf("%d traces matched, want %d", r.Traces.Matched, want)
		}
		return nil
	})

	var lat analytics.LatencyResult
	getJSON(t, s, "/api/analytics/latency", q, &lat)
	nodes := map[string]analytics.NodeLatency{}
	for _, n := range lat.Nodes {
		nodes[n.Service.Name] = n
	}
	if gw := nodes["api-gateway"]; gw.Count != demoTraces || gw.P50 <= 0 || gw.P99 < gw.P50 || gw.P999 < gw.P99 {
		t.Errorf("api-gateway latency %+v", gw)
	}
	if len(lat.Edges) == 0 || len(lat.URLs) == 0 {
		t.Errorf("latency has %d edges and %d URLs", len(lat.Edges), len(lat.URLs))
	}

	// A filter narrows the set; limit samples it and says so.
	var sampled analytics.LatencyResult
	getJSON(t, s, "/api/analytics/latency", url.Values{"since": {"1h"}, "filter": {`service("api-gateway")`}, "limit": {"50"}}, &sampled)
	if sampled.Traces.Matched != demoTraces || sampled.Traces.Analyzed != 50 || !sampled.Traces.Sampled {
		t.Errorf("sampled coverage %+v, want 50 of %d", sampled.Traces, demoTraces)
	}

	var hm analytics.HeatmapResult
	getJSON(t, s, "/api/analytics/heatmap", url.Values{"since": {"1h"}, "step": {"5m"}}, &hm)
	var cells int64
	for _, c := range hm.Columns {
		for _, n := range c.Counts {
			cells += n
		}
	}
	if len(hm.Columns) != 12 || cells != int64(hm.Traces.Analyzed) || cells == 0 {
		t.Errorf("heat map: %d columns, %d durations for %d traces", len(hm.Columns), cells, hm.Traces.Analyzed)
	}

	var cmp analytics.CompareResult
	getJSON(t, s, "/api/analytics/compare", url.Values{"since": {"150s"}}, &cmp)
	if cmp.Before.Traces.Matched == 0 || cmp.After.Traces.Matched == 0 || len(cmp.Nodes) == 0 {
		t.Errorf("compare: before %+v after %+v, %d nodes", cmp.Before.Traces, cmp.After.Traces, len(cmp.Nodes))
	}

	var rc analytics.RootCauseResult
	getJSON(t, s, "/api/analytics/rootcauses", q, &rc)
	if rc.Faults.Traces == 0 || len(rc.Faults.Services) == 0 || rc.Errors.Traces == 0 || rc.Slow.Traces == 0 {
		t.Errorf("root causes: faults %d, errors %d, slow %d", rc.Faults.Traces, rc.Errors.Traces, rc.Slow.Traces)
	}
	// The ranking's filter selects at least the traces it counts.
	top := rc.Faults.Services[0]
	var narrowed analytics.RootCauseResult
	if code := getJSON(t, s, "/api/analytics/rootcauses", url.Values{"since": {"1h"}, "filter": {top.Filter}}, &narrowed); code != 200 {
		t.Fatalf("filter %s: status %d", top.Filter, code)
	}
	if int64(narrowed.Traces.Matched) != top.Traces {
		t.Errorf("filter %s matched %d traces, ranking counted %d", top.Filter, narrowed.Traces.Matched, top.Traces)
	}

	var ex analytics.ExceptionsResult
	getJSON(t, s, "/api/analytics/exceptions", q, &ex)
	if len(ex.Patterns) == 0 || ex.Patterns[0].Count == 0 || len(ex.Patterns[0].Services) == 0 {
		t.Errorf("exceptions %+v", ex.Patterns)
	}

	var sql analytics.SQLResult
	getJSON(t, s, "/api/analytics/sql", q, &sql)
	if len(sql.Statements) == 0 || sql.Statements[0].Stats.Count == 0 {
		t.Errorf("sql statements %+v", sql.Statements)
	}
	if len(sql.NPlusOne) == 0 { // the demo's order-items loop
		t.Errorf("no N+1 pattern found in the demo traffic")
	}

	var cs analytics.ColdStartsResult
	getJSON(t, s, "/api/analytics/coldstarts", q, &cs)
	if len(cs.Functions) != 1 || cs.Functions[0].Cold.Count != 2 || cs.Functions[0].Warm.Count != 2 ||
		len(cs.Functions[0].InitBreakdown) != 1 || cs.Functions[0].InitBreakdown[0].Name != "connect db" {
		t.Errorf("cold starts %+v", cs.Functions)
	}

	var an analytics.AnnotationsResult
	getJSON(t, s, "/api/analytics/annotations", url.Values{"since": {"1h"}, "key": {"order_items"}}, &an)
	if len(an.Services) == 0 || an.Services[0].Overall.Min < 1 || an.Services[0].Overall.Max > 12 {
		t.Errorf("annotation order_items %+v", an.Services)
	}

	// Errors: JSON with the parameter, and line:column for filters.
	for _, c := range []struct {
		path   string
		q      url.Values
		status int
		param  string
		line   int
		col    int
	}{
		{"/api/analytics/latency", url.Values{"filter": {"service(\"a\") AND\n  http.status >"}}, 400, "filter", 2, 16},
		{"/api/analytics/latency", url.Values{"start": {"yesterday"}}, 400, "start", 0, 0},
		{"/api/analytics/latency", url.Values{"limit": {"1000000"}}, 400, "limit", 0, 0},
		{"/api/analytics/heatmap", url.Values{"since": {"24h"}, "step": {"1s"}}, 400, "step", 0, 0},
		{"/api/analytics/annotations", nil, 400, "key", 0, 0},
		{"/api/analytics/nothing", nil, 404, "", 0, 0},
	} {
		var e analytics.ErrorBody
		code := getJSON(t, s, c.path, c.q, &e)
		if code != c.status || e.Param != c.param || e.Line != c.line || e.Column != c.col || e.Error == "" {
			t.Errorf("%s %v: %d %+v, want %d param %q at %d:%d", c.path, c.q, code, e, c.status, c.param, c.line, c.col)
		}
	}
}

// TestInsightsEndToEnd drives the insight engine's clock: a baseline of
// traffic and then a fault spike are sent through PutTraceSegments with
// past timestamps, the clock is moved past them, and the official AWS SDK
// reads the insight back.
func TestInsightsEndToEnd(t *testing.T) {
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	var fake atomic.Int64
	fake.Store(base.UnixNano())
	cfg := servertest.Config()
	cfg.Data = t.TempDir()
	cfg.UDP, cfg.HTTP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Ingest.TraceIdle = 100 * time.Millisecond
	cfg.Now = func() time.Time { return time.Unix(0, fake.Load()) }
	s, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	client := apiClient(s)
	ctx := context.Background()

	const minutes, perMinute = 40, 30
	seq := 0
	var docs []string
	flush := func() {
		if len(docs) == 0 {
			return
		}
		out, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
		if err != nil || len(out.UnprocessedTraceSegments) != 0 {
			t.Fatalf("put: %v %+v", err, out)
		}
		docs = docs[:0]
	}
	for m := 0; m < minutes; m++ {
		faults := 0
		if m%4 == 0 {
			faults = 1 // a low baseline
		}
		if m >= 35 {
			faults = 15 // the spike: half the requests
		}
		for i := 0; i < perMinute; i++ {
			seq++
			start := base.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Second)
			s := float64(start.UnixNano()) / 1e9
			tid := fmt.Sprintf("1-%08x-%024x", start.Unix(), seq)
			fault, status := "false", 200
			if i < faults {
				fault, status = "true", 500
			}
			call := fmt.Sprintf("%016x", 0x100000+seq)
			docs = append(docs,
				fmt.Sprintf(`{"trace_id":"%s","id":"%016x","name":"checkout","origin":"AWS::EC2::Instance","start_time":%f,"end_time":%f,"fault":%s,"http":{"request":{"method":"POST","url":"https://shop/checkout"},"response":{"status":%d}},"subsegments":[{"id":"%s","name":"ledger","namespace":"remote","start_time":%f,"end_time":%f,"fault":%s,"http":{"request":{"method":"POST","url":"http://ledger/post","traced":true},"response":{"status":%d}}}]}`,
					tid, 0x200000+seq, s, s+0.05, fault, status, call, s+0.001, s+0.04, fault, status),
				fmt.Sprintf(`{"trace_id":"%s","id":"%016x","parent_id":"%s","name":"ledger","origin":"AWS::ECS::Container","start_time":%f,"end_time":%f,"fault":%s,"http":{"response":{"status":%d}}}`,
					tid, 0x300000+seq, call, s+0.002, s+0.039, fault, status))
			if len(docs) >= 100 {
				flush()
			}
		}
	}
	flush()
	// Wait until every trace was summarised (and so counted by the engine).
	q := url.Values{"start": {fmt.Sprint(base.Unix())}, "end": {fmt.Sprint(base.Add(minutes * time.Minute).Unix())}}
	eventually(t, "traces summarised", func() error {
		var r analytics.RootCauseResult
		getJSON(t, s, "/api/analytics/rootcauses", q, &r)
		if r.Traces.Matched != seq {
			return fmt.Errorf("%d of %d traces summarised", r.Traces.Matched, seq)
		}
		return nil
	})
	// Move the clock past the data and judge every minute.
	fake.Store(base.Add((minutes + 2) * time.Minute).UnixNano())
	if err := s.Insights().Tick(ctx); err != nil {
		t.Fatal(err)
	}

	sums, err := client.GetInsightSummaries(ctx, &awsxray.GetInsightSummariesInput{
		StartTime: aws.Time(base), EndTime: aws.Time(base.Add(2 * time.Hour)), States: []types.InsightState{types.InsightStateActive}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums.InsightSummaries) != 1 {
		t.Fatalf("%d active insights, want 1: %+v", len(sums.InsightSummaries), sums.InsightSummaries)
	}
	is := sums.InsightSummaries[0]
	if aws.ToString(is.RootCauseServiceId.Name) != "ledger" || aws.ToString(is.RootCauseServiceId.Type) != "AWS::ECS::Container" ||
		is.State != types.InsightStateActive || len(is.Categories) != 1 || is.Categories[0] != types.InsightCategoryFault {
		t.Errorf("insight %+v root cause %+v", is, is.RootCauseServiceId)
	}
	if !is.StartTime.Equal(base.Add(36*time.Minute)) || is.EndTime != nil {
		t.Errorf("start %v end %v, want %v and none", is.StartTime, is.EndTime, base.Add(36*time.Minute))
	}
	if c := is.ClientRequestImpactStatistics; aws.ToInt64(c.TotalCount) != 4*perMinute || aws.ToInt64(c.FaultCount) != 4*15 {
		t.Errorf("client impact %d/%d, want 60 faults of 120 (minutes 36–39)", aws.ToInt64(c.FaultCount), aws.ToInt64(c.TotalCount))
	}
	if len(is.TopAnomalousServices) != 2 {
		t.Errorf("anomalous services %+v", is.TopAnomalousServices)
	}
	got, err := client.GetInsight(ctx, &awsxray.GetInsightInput{InsightId: is.InsightId})
	if err != nil || aws.ToString(got.Insight.InsightId) != aws.ToString(is.InsightId) || aws.ToString(got.Insight.Summary) == "" {
		t.Fatalf("GetInsight: %v %+v", err, got)
	}
	evs, err := client.GetInsightEvents(ctx, &awsxray.GetInsightEventsInput{InsightId: is.InsightId})
	if err != nil || len(evs.InsightEvents) != 1 || evs.InsightEvents[0].EventTime == nil {
		t.Fatalf("GetInsightEvents: %v %+v", err, evs)
	}
	graph, err := client.GetInsightImpactGraph(ctx, &awsxray.GetInsightImpactGraphInput{InsightId: is.InsightId,
		StartTime: aws.Time(base), EndTime: aws.Time(base.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	names := map[int32]string{}
	for _, svc := range graph.Services {
		names[aws.ToInt32(svc.ReferenceId)] = aws.ToString(svc.Name)
	}
	edges := 0
	for _, svc := range graph.Services {
		for _, e := range svc.Edges {
			edges++
			if aws.ToString(svc.Name) != "checkout" || names[aws.ToInt32(e.ReferenceId)] != "ledger" {
				t.Errorf("impact edge %s → %s", aws.ToString(svc.Name), names[aws.ToInt32(e.ReferenceId)])
			}
		}
	}
	if len(graph.Services) != 2 || edges != 1 {
		t.Errorf("impact graph %d services, %d edges", len(graph.Services), edges)
	}
	// Bad input: X-Ray's error shape through the SDK.
	if _, err := client.GetInsight(ctx, &awsxray.GetInsightInput{InsightId: aws.String("nope")}); err == nil {
		t.Error("GetInsight of an unknown id succeeded")
	} else {
		var ire *types.InvalidRequestException
		if !errors.As(err, &ire) {
			t.Errorf("GetInsight unknown id: %v, want InvalidRequestException", err)
		}
	}

	// Recovery: three normal minutes close it.
	for m := minutes; m < minutes+3; m++ {
		for i := 0; i < perMinute; i++ {
			seq++
			start := base.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Second)
			s := float64(start.UnixNano()) / 1e9
			docs = append(docs, fmt.Sprintf(`{"trace_id":"1-%08x-%024x","id":"%016x","name":"ledger","origin":"AWS::ECS::Container","start_time":%f,"end_time":%f}`,
				start.Unix(), seq, 0x400000+seq, s, s+0.01))
		}
	}
	flush()
	q = url.Values{"start": {fmt.Sprint(base.Unix())}, "end": {fmt.Sprint(base.Add((minutes + 3) * time.Minute).Unix())}}
	eventually(t, "recovery traces summarised", func() error {
		var r analytics.RootCauseResult
		getJSON(t, s, "/api/analytics/rootcauses", q, &r)
		if r.Traces.Matched != seq {
			return fmt.Errorf("%d of %d traces summarised", r.Traces.Matched, seq)
		}
		return nil
	})
	fake.Store(base.Add((minutes + 5) * time.Minute).UnixNano())
	if err := s.Insights().Tick(ctx); err != nil {
		t.Fatal(err)
	}
	closed, err := client.GetInsightSummaries(ctx, &awsxray.GetInsightSummariesInput{
		StartTime: aws.Time(base), EndTime: aws.Time(base.Add(2 * time.Hour)), States: []types.InsightState{types.InsightStateClosed}})
	if err != nil || len(closed.InsightSummaries) != 1 || closed.InsightSummaries[0].EndTime == nil {
		t.Fatalf("closed insights: %v %+v", err, closed)
	}
}
