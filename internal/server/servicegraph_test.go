package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"
)

// stats is what the test checks of a node or an edge.
type stats struct{ total, ok, errOther, throttle, fault int64 }

func (s stats) String() string {
	return fmt.Sprintf("total=%d ok=%d error=%d throttle=%d fault=%d", s.total, s.ok, s.errOther, s.throttle, s.fault)
}

func edgeStats(e *types.EdgeStatistics) stats {
	if e == nil {
		return stats{}
	}
	var st stats
	st.total, st.ok = aws.ToInt64(e.TotalCount), aws.ToInt64(e.OkCount)
	if e.ErrorStatistics != nil {
		st.errOther, st.throttle = aws.ToInt64(e.ErrorStatistics.OtherCount), aws.ToInt64(e.ErrorStatistics.ThrottleCount)
		if tot := aws.ToInt64(e.ErrorStatistics.TotalCount); tot != st.errOther+st.throttle {
			st.errOther = -1 // inconsistent totals never match a wanted value
		}
	}
	if e.FaultStatistics != nil {
		st.fault = aws.ToInt64(e.FaultStatistics.TotalCount)
	}
	return st
}

func serviceStats(s *types.ServiceStatistics) stats {
	if s == nil {
		return stats{}
	}
	return edgeStats(&types.EdgeStatistics{TotalCount: s.TotalCount, OkCount: s.OkCount,
		ErrorStatistics: s.ErrorStatistics, FaultStatistics: s.FaultStatistics})
}

// graphView indexes a GetServiceGraph answer by "name|type" for nodes and
// "from|type -> to|type" for edges.
type graphView struct {
	nodes map[string]types.Service
	edges map[string]types.Edge
}

func viewOf(svcs []types.Service) graphView {
	v := graphView{nodes: map[string]types.Service{}, edges: map[string]types.Edge{}}
	byRef := map[int32]string{}
	for _, s := range svcs {
		k := aws.ToString(s.Name) + "|" + aws.ToString(s.Type)
		byRef[aws.ToInt32(s.ReferenceId)] = k
		v.nodes[k] = s
	}
	for _, s := range svcs {
		from := aws.ToString(s.Name) + "|" + aws.ToString(s.Type)
		for _, e := range s.Edges {
			v.edges[from+" -> "+byRef[aws.ToInt32(e.ReferenceId)]] = e
		}
	}
	return v
}

func (v graphView) String() string {
	var b strings.Builder
	for k, n := range v.nodes {
		fmt.Fprintf(&b, "node %s %s %s\n", k, aws.ToString(n.State), serviceStats(n.SummaryStatistics))
	}
	for k, e := range v.edges {
		fmt.Fprintf(&b, "edge %s %s\n", k, edgeStats(e.SummaryStatistics))
	}
	return b.String()
}

// TestServiceGraphXRaySDK instruments a frontend and a backend with the Go
// X-Ray SDK (the backend calls an uninstrumented HTTP server), sends seven
// requests that end in 200, 500, 404 and 429, and reads the map back with
// the AWS SDK: GetServiceGraph edge by edge, per group, GetTraceGraph and
// GetTimeSeriesServiceStatistics; and the groups API's CRUD and errors.
func TestServiceGraphXRaySDK(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	ctx := context.Background()
	client := apiClient(s)

	// Groups apply to traces completed after they are created.
	failing, err := client.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("failing"),
		FilterExpression:      aws.String("fault OR throttle"),
		InsightsConfiguration: &types.InsightsConfiguration{InsightsEnabled: aws.Bool(true)}})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	arn := aws.ToString(failing.Group.GroupARN)
	if !strings.HasPrefix(arn, "arn:aws:xray:") || !strings.Contains(arn, ":group/failing/") ||
		!aws.ToBool(failing.Group.InsightsConfiguration.InsightsEnabled) {
		t.Errorf("CreateGroup returned %+v", failing.Group)
	}
	if _, err := client.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("backend-faults"),
		FilterExpression: aws.String(`service("backend") { fault }`)}); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}

	rules, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2, "default": {"fixed_target": 0, "rate": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := xray.Configure(xray.Config{DaemonAddr: s.UDPAddr().String(), SamplingStrategy: rules}); err != nil {
		t.Fatalf("configure X-Ray SDK: %v", err)
	}
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "stock: 7")
	}))
	defer downstream.Close()
	traced := xray.Client(nil)
	backend := httptest.NewServer(xray.Handler(xray.NewFixedSegmentNamer("backend"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", downstream.URL+"/stock", nil)
		resp, err := traced.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		switch r.URL.Path {
		case "/fail":
			http.Error(w, "database unavailable", http.StatusInternalServerError)
		case "/missing":
			http.Error(w, "no such order", http.StatusNotFound)
		case "/throttle":
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			io.WriteString(w, "ok")
		}
	})))
	defer backend.Close()
	frontend := httptest.NewServer(xray.Handler(xray.NewFixedSegmentNamer("frontend"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", backend.URL+r.URL.Path, nil)
		resp, err := traced.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})))
	defer frontend.Close()

	var failTrace string
	for _, path := range []string{"/ok", "/fail", "/ok", "/missing", "/throttle", "/fail", "/ok"} {
		resp, err := http.Get(frontend.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if path == "/fail" {
			failTrace = strings.TrimPrefix(strings.Split(resp.Header.Get("X-Amzn-Trace-Id"), ";")[0], "Root=")
		}
	}
	downHost := mustHost(t, downstream.URL)

	window := func() (*time.Time, *time.Time) {
		return aws.Time(time.Now().Add(-10 * time.Minute)), aws.Time(time.Now().Add(time.Minute))
	}
	graph := func(group *string) (graphView, *awsxray.GetServiceGraphOutput, error) {
		start, end := window()
		out, err := client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{StartTime: start, EndTime: end, GroupName: group})
		if err != nil {
			return graphView{}, nil, err
		}
		return viewOf(out.Services), out, nil
	}
	want := func(v graphView, kind, key string, w stats) error {
		var got stats
		switch kind {
		case "node":
			n, ok := v.nodes[key]
			if !ok {
				return fmt.Errorf("no node %s in\n%s", key, v)
			}
			got = serviceStats(n.SummaryStatistics)
		case "edge":
			e, ok := v.edges[key]
			if !ok {
				return fmt.Errorf("no edge %s in\n%s", key, v)
			}
			got = edgeStats(e.SummaryStatistics)
		}
		if got != w {
			return fmt.Errorf("%s %s: %s, want %s", kind, key, got, w)
		}
		return nil
	}
	all := stats{total: 7, ok: 3, errOther: 1, throttle: 1, fault: 2}
	var v graphView
	eventually(t, "GetServiceGraph counts all seven traces", func() error {
		var err error
		if v, _, err = graph(nil); err != nil {
			return err
		}
		for _, c := range []struct {
			kind, key string
			w         stats
		}{
			{"node", "frontend|", all},
			{"node", "backend|", all},
			{"node", downHost + "|remote", stats{total: 7, ok: 7}},
			{"edge", "frontend|client -> frontend|", all},
			{"edge", "frontend| -> backend|", all},
			{"edge", "backend| -> " + downHost + "|remote", stats{total: 7, ok: 7}},
		} {
			if err := want(v, c.kind, c.key, c.w); err != nil {
				return err
			}
		}
		if len(v.nodes) != 4 || len(v.edges) != 3 {
			return fmt.Errorf("%d nodes and %d edges, want 4 and 3:\n%s", len(v.nodes), len(v.edges), v)
		}
		return nil
	})
	if n := v.nodes["frontend|"]; !aws.ToBool(n.Root) || aws.ToString(n.State) != "active" || len(n.ResponseTimeHistogram) == 0 ||
		len(n.DurationHistogram) == 0 || n.StartTime == nil || n.EndTime == nil {
		t.Errorf("frontend node: Root %v State %q histograms %d/%d times %v %v", aws.ToBool(n.Root), aws.ToString(n.State),
			len(n.ResponseTimeHistogram), len(n.DurationHistogram), n.StartTime, n.EndTime)
	}
	if n := v.nodes[downHost+"|remote"]; aws.ToString(n.State) != "unknown" || len(n.Edges) != 0 {
		t.Errorf("inferred node: State %q, %d edges; want unknown, 0", aws.ToString(n.State), len(n.Edges))
	}
	var histTotal int32
	for _, h := range v.edges["frontend| -> backend|"].ResponseTimeHistogram {
		histTotal += aws.ToInt32(&h.Count)
	}
	if histTotal != 7 {
		t.Errorf("edge frontend -> backend: response-time histogram counts %d calls, want 7", histTotal)
	}

	// Per-group graphs: only the traces each group's filter selected.
	fv, fout, err := graph(aws.String("failing"))
	if err != nil {
		t.Fatalf("GetServiceGraph(failing): %v", err)
	}
	if err := want(fv, "edge", "frontend| -> backend|", stats{total: 3, errOther: 0, throttle: 1, fault: 2}); err != nil {
		t.Errorf("group failing: %v", err)
	}
	if fout.ContainsOldGroupVersions {
		t.Errorf("group failing: ContainsOldGroupVersions before any update")
	}
	bv, _, err := graph(aws.String("backend-faults"))
	if err != nil {
		t.Fatalf("GetServiceGraph(backend-faults): %v", err)
	}
	if err := want(bv, "node", "backend|", stats{total: 2, fault: 2}); err != nil {
		t.Errorf("group backend-faults: %v", err)
	}

	// GetTraceGraph: one trace, from its stored spans.
	tg, err := client.GetTraceGraph(ctx, &awsxray.GetTraceGraphInput{TraceIds: []string{failTrace}})
	if err != nil {
		t.Fatalf("GetTraceGraph: %v", err)
	}
	if err := want(viewOf(tg.Services), "edge", "frontend| -> backend|", stats{total: 1, fault: 1}); err != nil {
		t.Errorf("GetTraceGraph: %v", err)
	}

	// GetTimeSeriesServiceStatistics: an edge, a service, per minute.
	series := func(sel string) (stats, []types.TimeSeriesServiceStatistics) {
		t.Helper()
		start, end := window()
		out, err := client.GetTimeSeriesServiceStatistics(ctx, &awsxray.GetTimeSeriesServiceStatisticsInput{
			StartTime: start, EndTime: end, EntitySelectorExpression: aws.String(sel), Period: aws.Int32(60)})
		if err != nil {
			t.Fatalf("GetTimeSeriesServiceStatistics(%s): %v", sel, err)
		}
		var sum stats
		for _, p := range out.TimeSeriesServiceStatistics {
			var st stats
			if p.EdgeSummaryStatistics != nil {
				st = edgeStats(p.EdgeSummaryStatistics)
			} else {
				st = serviceStats(p.ServiceSummaryStatistics)
			}
			if p.Timestamp == nil || p.Timestamp.Unix()%60 != 0 {
				t.Errorf("%s: Timestamp %v is not a period start", sel, p.Timestamp)
			}
			sum = stats{sum.total + st.total, sum.ok + st.ok, sum.errOther + st.errOther, sum.throttle + st.throttle, sum.fault + st.fault}
		}
		return sum, out.TimeSeriesServiceStatistics
	}
	if got, pts := series(`edge("frontend", "backend")`); got != all || pts[0].EdgeSummaryStatistics == nil {
		t.Errorf("time series of edge(frontend, backend): %s, want %s", got, all)
	}
	if got, pts := series(`service("backend")`); got != all || pts[0].ServiceSummaryStatistics == nil || len(pts[0].ResponseTimeHistogram) == 0 {
		t.Errorf("time series of service(backend): %s, want %s", got, all)
	}

	// group.name and group.arn in filter expressions select the group's traces.
	count := func(filter string) (int, error) {
		start, end := window()
		out, err := client.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{StartTime: start, EndTime: end,
			FilterExpression: aws.String(filter)})
		if err != nil {
			return 0, err
		}
		return len(out.TraceSummaries), nil
	}
	wantN, err := count("fault OR throttle")
	if err != nil || wantN == 0 {
		t.Fatalf("GetTraceSummaries(fault OR throttle) = %d, %v", wantN, err)
	}
	for _, f := range []string{`group.name = "failing"`, `group.arn = "` + arn + `"`, `group.name = "failing" OR group.name = "backend-faults"`} {
		if n, err := count(f); err != nil || n != wantN {
			t.Errorf("GetTraceSummaries(%s) = %d traces, %v; want %d", f, n, err, wantN)
		}
	}
	if n, err := count(`!group.name = "failing"`); err != nil || n == 0 {
		t.Errorf("GetTraceSummaries(!group.name = failing) = %d, %v; want the traces without faults", n, err)
	}
	var ire *types.InvalidRequestException
	if _, err := count(`group.name = "nope"`); !errors.As(err, &ire) || !strings.Contains(ire.ErrorMessage(), "nope") {
		t.Errorf("a filter naming an unknown group: %v, want InvalidRequestException naming it", err)
	}

	// The service map's own counters are exported.
	resp, err := http.Get("http://" + s.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"fluoro_servicegraph_reopened_traces_skipped_total 0", "fluoro_servicegraph_corrupt_buckets_total 0"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}

	// Groups: list, get by ARN, update, delete.
	gs, err := client.GetGroups(ctx, &awsxray.GetGroupsInput{})
	if err != nil {
		t.Fatalf("GetGroups: %v", err)
	}
	var names []string
	for _, g := range gs.Groups {
		names = append(names, aws.ToString(g.GroupName))
	}
	if strings.Join(names, ",") != "Default,backend-faults,failing" {
		t.Errorf("GetGroups: %v", names)
	}
	got, err := client.GetGroup(ctx, &awsxray.GetGroupInput{GroupARN: aws.String(arn)})
	if err != nil || aws.ToString(got.Group.FilterExpression) != "fault OR throttle" {
		t.Fatalf("GetGroup by ARN: %+v, %v", got, err)
	}
	up, err := client.UpdateGroup(ctx, &awsxray.UpdateGroupInput{GroupName: aws.String("failing"), FilterExpression: aws.String("fault")})
	if err != nil || aws.ToString(up.Group.FilterExpression) != "fault" || aws.ToString(up.Group.GroupARN) != arn {
		t.Fatalf("UpdateGroup: %+v, %v", up, err)
	}
	if _, out, err := graph(aws.String("failing")); err != nil || !out.ContainsOldGroupVersions {
		t.Errorf("after UpdateGroup: ContainsOldGroupVersions = %v, %v; want true", out != nil && out.ContainsOldGroupVersions, err)
	}
	if _, err := client.DeleteGroup(ctx, &awsxray.DeleteGroupInput{GroupARN: aws.String(arn)}); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	wantInvalid := func(what string, err error, contains string) {
		t.Helper()
		var ire *types.InvalidRequestException
		if !errors.As(err, &ire) {
			t.Errorf("%s: err = %v, want InvalidRequestException", what, err)
			return
		}
		if !strings.Contains(ire.ErrorMessage(), contains) {
			t.Errorf("%s: message %q does not mention %q", what, ire.ErrorMessage(), contains)
		}
	}
	_, err = client.GetGroup(ctx, &awsxray.GetGroupInput{GroupName: aws.String("failing")})
	wantInvalid("GetGroup after DeleteGroup", err, "not found")
	_, err = client.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("bad"), FilterExpression: aws.String("responsetime >")})
	wantInvalid("CreateGroup with a bad filter", err, "1:")
	_, err = client.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("Default")})
	wantInvalid("CreateGroup Default", err, "Default")
	_, err = client.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("backend-faults")})
	wantInvalid("CreateGroup twice", err, "exists")
	_, err = client.DeleteGroup(ctx, &awsxray.DeleteGroupInput{GroupName: aws.String("Default")})
	wantInvalid("DeleteGroup Default", err, "Default")
	start, end := window()
	_, err = client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{StartTime: end, EndTime: start})
	wantInvalid("GetServiceGraph backwards", err, "EndTime")
	_, err = client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{StartTime: start, EndTime: end, GroupName: aws.String("nope")})
	wantInvalid("GetServiceGraph of an unknown group", err, "nope")
	_, err = client.GetTraceGraph(ctx, &awsxray.GetTraceGraphInput{TraceIds: []string{"not-a-trace"}})
	wantInvalid("GetTraceGraph of a bad id", err, "not-a-trace")
	_, err = client.GetTimeSeriesServiceStatistics(ctx, &awsxray.GetTimeSeriesServiceStatisticsInput{StartTime: start, EndTime: end,
		Period: aws.Int32(45)})
	wantInvalid("time series with Period 45", err, "Period")
	_, err = client.GetTimeSeriesServiceStatistics(ctx, &awsxray.GetTimeSeriesServiceStatisticsInput{StartTime: start, EndTime: end,
		EntitySelectorExpression: aws.String("fault")})
	wantInvalid("time series with a non-selector", err, "selector")
	_, err = client.GetTimeSeriesServiceStatistics(ctx, &awsxray.GetTimeSeriesServiceStatisticsInput{StartTime: start, EndTime: end,
		EntitySelectorExpression: aws.String(`service("x`)})
	wantInvalid("time series with a broken selector", err, "1:")
}

func mustHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
