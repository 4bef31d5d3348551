package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"

	"github.com/fluoro-dev/fluoro/internal/server"
	"github.com/fluoro-dev/fluoro/internal/server/servertest"
)

// startServer runs a server on loopback ports chosen by the kernel, over dir.
func startServer(t *testing.T, dir string) *server.Server {
	t.Helper()
	cfg := servertest.Config()
	cfg.Data = dir
	cfg.UDP = "127.0.0.1:0"
	cfg.HTTP = "127.0.0.1:0"
	cfg.OTLPGRPC, cfg.OTLPHTTP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Ingest.TraceIdle = 200 * time.Millisecond
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	s, err := server.Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// apiClient is the official AWS SDK's X-Ray client pointed at s, with the
// default retryer.
func apiClient(s *server.Server) *awsxray.Client {
	return awsxray.New(awsxray.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + s.HTTPAddr().String()),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
}

// eventually polls fn until it returns nil or the deadline passes.
func eventually(t *testing.T, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after 20s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestXRaySDKToAWSClient is the foundation's promise: services instrumented
// with the official Go X-Ray SDK send over UDP; the official AWS SDK's xray
// client reads back whole traces and summaries.
func TestXRaySDKToAWSClient(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())

	rules, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2, "default": {"fixed_target": 0, "rate": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := xray.Configure(xray.Config{DaemonAddr: s.UDPAddr().String(), SamplingStrategy: rules}); err != nil {
		t.Fatalf("configure X-Ray SDK: %v", err)
	}

	// An uninstrumented downstream, a backend that calls it, a frontend that
	// calls the backend.
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "stock: 7")
	}))
	defer downstream.Close()
	traced := xray.Client(nil)
	backend := httptest.NewServer(xray.Handler(xray.NewFixedSegmentNamer("backend"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Long enough that waiting for the response is always the longest
		// part of frontend's call, longer than a first connection on a busy
		// machine: the response-time root cause checked below follows it.
		time.Sleep(20 * time.Millisecond)
		ctx := r.Context()
		xray.AddAnnotation(ctx, "order_id", "A-1001")
		xray.AddAnnotation(ctx, "items", 3)
		xray.AddAnnotation(ctx, "express", true)
		if err := xray.Capture(ctx, "compute-price", func(ctx context.Context) error {
			xray.AddMetadata(ctx, "price", 42.5)
			return nil
		}); err != nil {
			t.Error(err)
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", downstream.URL+"/stock", nil)
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
		default:
			io.WriteString(w, "ok")
		}
	})))
	defer backend.Close()
	frontend := httptest.NewServer(xray.Handler(xray.NewFixedSegmentNamer("frontend"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seg := xray.GetSegment(r.Context())
		seg.User = "alice"
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

	traceOf := map[string]string{} // path → trace id
	for _, path := range []string{"/ok", "/fail", "/missing"} {
		resp, err := http.Get(frontend.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header.Get("X-Amzn-Trace-Id")
		root := strings.TrimPrefix(strings.Split(h, ";")[0], "Root=")
		if len(root) != 35 {
			t.Fatalf("frontend answered X-Amzn-Trace-Id %q", h)
		}
		traceOf[path] = root
	}

	ctx := context.Background()
	client := apiClient(s)

	// Summaries appear once each trace has gone idle.
	var sums []types.TraceSummary
	eventually(t, "GetTraceSummaries lists the three traces", func() error {
		sums = nil
		p := awsxray.NewGetTraceSummariesPaginator(client, &awsxray.GetTraceSummariesInput{
			StartTime: aws.Time(time.Now().Add(-5 * time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			sums = append(sums, page.TraceSummaries...)
		}
		if len(sums) != 3 {
			return fmt.Errorf("got %d summaries, want 3", len(sums))
		}
		for _, s := range sums {
			if len(s.ServiceIds) < 3 {
				return fmt.Errorf("summary %s has services %v; not all segments arrived yet", aws.ToString(s.Id), s.ServiceIds)
			}
		}
		return nil
	})
	byID := map[string]types.TraceSummary{}
	for _, s := range sums {
		byID[aws.ToString(s.Id)] = s
	}
	check := func(path string, wantFault, wantError bool, wantStatus int32) {
		t.Helper()
		s, ok := byID[traceOf[path]]
		if !ok {
			t.Fatalf("no summary for %s (%s)", path, traceOf[path])
		}
		if aws.ToBool(s.HasFault) != wantFault || aws.ToBool(s.HasError) != wantError {
			t.Errorf("%s: HasFault=%v HasError=%v, want %v %v", path, aws.ToBool(s.HasFault), aws.ToBool(s.HasError), wantFault, wantError)
		}
		if s.Http == nil || aws.ToInt32(s.Http.HttpStatus) != wantStatus || aws.ToString(s.Http.HttpMethod) != "GET" ||
			!strings.HasSuffix(aws.ToString(s.Http.HttpURL), path) {
			t.Errorf("%s: Http = %+v, want GET %s %d", path, s.Http, path, wantStatus)
		}
		if s.EntryPoint == nil || aws.ToString(s.EntryPoint.Name) != "frontend" {
			t.Errorf("%s: EntryPoint = %+v, want frontend", path, s.EntryPoint)
		}
		names := map[string]string{}
		for _, id := range s.ServiceIds {
			names[aws.ToString(id.Name)] = aws.ToString(id.Type)
		}
		if _, ok := names["backend"]; !ok {
			t.Errorf("%s: ServiceIds %v lack backend", path, names)
		}
		if typ := names[strings.TrimPrefix(downstream.URL, "http://")]; typ != "remote" {
			t.Errorf("%s: ServiceIds %v lack the inferred downstream node of type remote", path, names)
		}
		if v := s.Annotations["order_id"]; len(v) != 1 || v[0].AnnotationValue.(*types.AnnotationValueMemberStringValue).Value != "A-1001" {
			t.Errorf("%s: annotation order_id = %+v", path, v)
		}
		if v := s.Annotations["items"]; len(v) != 1 || v[0].AnnotationValue.(*types.AnnotationValueMemberNumberValue).Value != 3 {
			t.Errorf("%s: annotation items = %+v", path, v)
		}
		if v := s.Annotations["express"]; len(v) != 1 || !v[0].AnnotationValue.(*types.AnnotationValueMemberBooleanValue).Value {
			t.Errorf("%s: annotation express = %+v", path, v)
		}
		if len(s.Users) != 1 || aws.ToString(s.Users[0].UserName) != "alice" {
			t.Errorf("%s: Users = %+v, want alice", path, s.Users)
		}
		if aws.ToFloat64(s.Duration) <= 0 || aws.ToFloat64(s.ResponseTime) <= 0 {
			t.Errorf("%s: Duration %v ResponseTime %v", path, aws.ToFloat64(s.Duration), aws.ToFloat64(s.ResponseTime))
		}
	}
	check("/ok", false, false, 200)
	check("/fail", true, false, 500)
	check("/missing", false, true, 404)

	// Filter expressions, evaluated over these traces by the server.
	down := strings.TrimPrefix(downstream.URL, "http://")
	for expr, want := range map[string][]string{
		`ok`:                                  {"/ok"},
		`fault`:                               {"/fail"},
		`error`:                               {"/missing"},
		`!ok`:                                 {"/fail", "/missing"},
		`http.status >= 400`:                  {"/fail", "/missing"},
		`http.url ENDSWITH "/ok" OR fault`:    {"/ok", "/fail"},
		`http.method = "GET" AND !error`:      {"/ok", "/fail"},
		`user = "alice" AND responsetime > 0`: {"/ok", "/fail", "/missing"},
		`annotation.order_id = "A-1001"`:      {"/ok", "/fail", "/missing"},
		`annotation[items] > 2 AND annotation.express = true`:            {"/ok", "/fail", "/missing"},
		`service("backend") { fault }`:                                   {"/fail"},
		`service("frontend") { error }`:                                  {"/missing"},
		`service(id(name: "` + down + `", type: "remote"))`:              {"/ok", "/fail", "/missing"},
		`edge("frontend", "backend") { fault }`:                          {"/fail"},
		`edge("backend", "` + down + `") { ok }`:                         {"/ok", "/fail", "/missing"},
		`service("nowhere")`:                                             nil,
		`rootcause.fault.service { name = "backend" }`:                   {"/fail"},
		`rootcause.fault.service { name = "frontend" AND first }`:        {"/fail"},
		`rootcause.error.entity { name = "frontend" }`:                   {"/missing"},
		`rootcause.responsetime.service { name = "frontend" AND first }`: {"/ok", "/fail", "/missing"},
		`rootcause.json = #[{"ClientImpacting": true, "Services": [{"Name": "frontend", "EntityPath": [{"Name": "frontend", "Coverage": 1}, {"Remote": true}, {}]}]}]`:                                            {"/ok", "/fail", "/missing"},
		`rootcause.json = #[{"ClientImpacting": true, "Services": [{"Name": "frontend", "EntityPath": [{"Name": "frontend"}, {}]}, {"Name": "backend", "EntityPath": [{"Name": "backend", "Exceptions": []}]}]}]`: {"/fail", "/missing"},
	} {
		out, err := client.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{
			StartTime: aws.Time(time.Now().Add(-5 * time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)),
			FilterExpression: aws.String(expr),
		})
		if err != nil {
			t.Errorf("filter %q: %v", expr, err)
			continue
		}
		var got []string
		for _, p := range []string{"/ok", "/fail", "/missing"} {
			for _, s := range out.TraceSummaries {
				if aws.ToString(s.Id) == traceOf[p] {
					got = append(got, p)
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("filter %q matched %v, want %v", expr, got, want)
			if strings.HasPrefix(expr, "rootcause.json") { // say which path the traces took
				for _, sum := range sums {
					rc, _ := json.Marshal(sum.ResponseTimeRootCauses)
					t.Logf("trace %s: response-time root causes %s", aws.ToString(sum.Id), rc)
				}
			}
		}
	}

	// The whole trace, stitched: backend's segment hangs off frontend's call.
	out, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{traceOf["/ok"], "1-00000001-000000000000000000000001"}})
	if err != nil {
		t.Fatalf("BatchGetTraces: %v", err)
	}
	if len(out.Traces) != 1 || len(out.UnprocessedTraceIds) != 1 {
		t.Fatalf("BatchGetTraces: %d traces, unprocessed %v; want 1 and the unknown id", len(out.Traces), out.UnprocessedTraceIds)
	}
	tr := out.Traces[0]
	docs := map[string]map[string]any{}
	for _, seg := range tr.Segments {
		var d map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(seg.Document)), &d); err != nil {
			t.Fatalf("segment %s document: %v", aws.ToString(seg.Id), err)
		}
		if d["trace_id"] != traceOf["/ok"] {
			t.Errorf("segment %s has trace_id %v", d["name"], d["trace_id"])
		}
		docs[d["name"].(string)] = d
	}
	fe, be := docs["frontend"], docs["backend"]
	if fe == nil || be == nil {
		t.Fatalf("segments %v; want frontend and backend", keys(docs))
	}
	if be["parent_id"] == nil || !hasSubsegment(fe, be["parent_id"].(string)) {
		t.Errorf("backend's parent_id %v is not a subsegment of frontend", be["parent_id"])
	}
	if !hasSubsegmentNamed(be, "compute-price") {
		t.Errorf("backend segment lacks its compute-price subsegment")
	}
	var inferred map[string]any
	for _, d := range docs {
		if d["inferred"] == true {
			inferred = d
		}
	}
	if inferred == nil || inferred["origin"] != "remote" {
		t.Errorf("no inferred segment for the uninstrumented downstream; segments: %v", keys(docs))
	}
	if aws.ToFloat64(tr.Duration) <= 0 {
		t.Errorf("trace Duration %v", aws.ToFloat64(tr.Duration))
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func hasSubsegment(doc map[string]any, id string) bool {
	subs, _ := doc["subsegments"].([]any)
	for _, s := range subs {
		m := s.(map[string]any)
		if m["id"] == id || hasSubsegment(m, id) {
			return true
		}
	}
	return false
}

func hasSubsegmentNamed(doc map[string]any, name string) bool {
	subs, _ := doc["subsegments"].([]any)
	for _, s := range subs {
		m := s.(map[string]any)
		if m["name"] == name || hasSubsegmentNamed(m, name) {
			return true
		}
	}
	return false
}

// TestAPIErrors checks that refusals reach the AWS SDK as typed exceptions.
func TestAPIErrors(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	client := apiClient(s)
	ctx := context.Background()
	var ire *types.InvalidRequestException

	for expr, want := range map[string]string{
		`service("api") { fault`:                  "1:23: ",
		"http.status = 500 AND\n  responsetime >": "2:17: ",
		`group.name = "checkout"`:                 "group checkout not found",
	} {
		_, err := client.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{
			StartTime: aws.Time(time.Now().Add(-time.Hour)), EndTime: aws.Time(time.Now()),
			FilterExpression: aws.String(expr),
		})
		if !errors.As(err, &ire) || !strings.Contains(aws.ToString(ire.Message), want) {
			t.Errorf("GetTraceSummaries with filter %q: err = %v, want InvalidRequestException containing %q", expr, err, want)
		}
	}
	_, err := client.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{
		StartTime: aws.Time(time.Now()), EndTime: aws.Time(time.Now().Add(-time.Hour)),
	})
	if !errors.As(err, &ire) {
		t.Errorf("GetTraceSummaries with a reversed range: err = %v, want InvalidRequestException", err)
	}
	ids := []string{}
	for i := range 6 {
		ids = append(ids, fmt.Sprintf("1-5f84c7a1-%024x", i))
	}
	_, err = client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: ids})
	if !errors.As(err, &ire) {
		t.Errorf("BatchGetTraces with 6 ids: err = %v, want InvalidRequestException", err)
	}
	_, err = client.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{
		StartTime: aws.Time(time.Now().Add(-time.Hour)), EndTime: aws.Time(time.Now()), NextToken: aws.String("garbage"),
	})
	if !errors.As(err, &ire) {
		t.Errorf("GetTraceSummaries with a bad NextToken: err = %v, want InvalidRequestException", err)
	}
}

// TestPutTraceSegments sends good and bad documents through the AWS SDK.
func TestPutTraceSegments(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	client := apiClient(s)
	ctx := context.Background()
	now := float64(time.Now().UnixNano()) / 1e9
	tid := fmt.Sprintf("1-%08x-%024x", int64(now), 42)
	old := fmt.Sprintf("1-%08x-%024x", time.Now().Add(-40*24*time.Hour).Unix(), 43)
	good := fmt.Sprintf(`{"trace_id":%q,"id":"a000000000000001","name":"api","start_time":%f,"end_time":%f,"http":{"response":{"status":200}}}`, tid, now, now+0.1)
	inprog := fmt.Sprintf(`{"trace_id":%q,"id":"a000000000000002","name":"worker","start_time":%f,"in_progress":true,"parent_id":"b000000000000001"}`, tid, now)
	done := fmt.Sprintf(`{"trace_id":%q,"id":"a000000000000002","name":"worker","start_time":%f,"end_time":%f,"parent_id":"b000000000000001"}`, tid, now, now+0.05)
	sub := fmt.Sprintf(`{"type":"subsegment","trace_id":%q,"id":"b000000000000001","parent_id":"a000000000000001","name":"worker-call","start_time":%f,"end_time":%f,"namespace":"remote","http":{"request":{"traced":true}}}`, tid, now, now+0.06)
	oldDoc := fmt.Sprintf(`{"trace_id":%q,"id":"c000000000000001","name":"api","start_time":%f,"end_time":%f}`, old, now-40*86400, now-40*86400+1)
	bad := map[string]string{
		`{"trace_id":"1-bad","id":"d000000000000001","name":"x","start_time":1,"end_time":2}`:                                      "InvalidTraceId",
		fmt.Sprintf(`{"trace_id":%q,"name":"x","start_time":1,"end_time":2}`, tid):                                                 "MissingId",
		fmt.Sprintf(`{"trace_id":%q,"id":"d000000000000003","name":"bad<name>","start_time":1,"end_time":2}`, tid):                 "InvalidName",
		fmt.Sprintf(`{"trace_id":%q,"id":"d000000000000004","name":"x","start_time":1}`, tid):                                      "InvalidTimes",
		fmt.Sprintf(`{"type":"subsegment","trace_id":%q,"id":"d000000000000005","name":"x","start_time":1,"end_time":2}`, tid):     "MissingParentId",
		fmt.Sprintf(`{"trace_id":%q,"id":"d000000000000006","name":"x","start_time":1,"end_time":2,"annotations":{"k":[1]}}`, tid): "InvalidAnnotation",
		`{"trace_id": `: "InvalidJSON",
		fmt.Sprintf(`{"trace_id":%q,"id":"d000000000000008","name":"x","start_time":1,"end_time":2,"metadata":{"pad":%q}}`, tid, strings.Repeat("x", 70000)): "SegmentTooLarge",
	}
	docs := []string{good, inprog, sub, oldDoc}
	for d := range bad {
		docs = append(docs, d)
	}
	out, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
	if err != nil {
		t.Fatalf("PutTraceSegments: %v", err)
	}
	gotCodes := map[string]int{}
	for _, u := range out.UnprocessedTraceSegments {
		gotCodes[aws.ToString(u.ErrorCode)]++
		if aws.ToString(u.Message) == "" {
			t.Errorf("unprocessed %s has no message", aws.ToString(u.ErrorCode))
		}
	}
	for _, code := range bad {
		if gotCodes[code] != 1 {
			t.Errorf("UnprocessedTraceSegments codes %v; want one %s", gotCodes, code)
		}
	}
	if len(out.UnprocessedTraceSegments) != len(bad) {
		t.Errorf("%d unprocessed, want %d", len(out.UnprocessedTraceSegments), len(bad))
	}
	// The complete version replaces the in-progress one.
	if _, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{done}}); err != nil {
		t.Fatal(err)
	}
	getTrace := func(c *awsxray.Client, id string) (map[string]map[string]any, error) {
		out, err := c.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{id}})
		if err != nil {
			return nil, err
		}
		if len(out.Traces) == 0 {
			return nil, fmt.Errorf("trace %s not found", id)
		}
		docs := map[string]map[string]any{}
		for _, seg := range out.Traces[0].Segments {
			var d map[string]any
			json.Unmarshal([]byte(aws.ToString(seg.Document)), &d)
			docs[d["name"].(string)] = d
		}
		return docs, nil
	}
	eventually(t, "the completed worker segment replaces its in-progress version", func() error {
		docs, err := getTrace(client, tid)
		if err != nil {
			return err
		}
		w := docs["worker"]
		if w == nil || w["in_progress"] == true || w["end_time"] == nil {
			return fmt.Errorf("worker segment is %v", w)
		}
		if !hasSubsegment(docs["api"], "b000000000000001") {
			return fmt.Errorf("independent subsegment not nested under api: %v", docs["api"])
		}
		return nil
	})

	// A restart keeps everything; retention removes the 40-day-old trace.
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	s = startServer(t, dir)
	defer s.Shutdown(ctx)
	client = apiClient(s)
	docs2, err := getTrace(client, tid)
	if err != nil || docs2["worker"] == nil || docs2["api"] == nil {
		t.Fatalf("after restart: %v, %v", docs2, err)
	}
	if _, err := getTrace(client, old); err == nil {
		t.Errorf("trace older than the retention period survived the restart")
	}
	sumOut, err := client.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{
		StartTime: aws.Time(time.Now().Add(-time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)),
	})
	if err != nil || len(sumOut.TraceSummaries) != 1 {
		t.Fatalf("summaries after restart: %+v, %v", sumOut, err)
	}
	if sum := sumOut.TraceSummaries[0]; aws.ToBool(sum.IsPartial) || aws.ToInt32(sum.Http.HttpStatus) != 200 {
		t.Errorf("summary after restart: partial=%v status=%v", aws.ToBool(sum.IsPartial), aws.ToInt32(sum.Http.HttpStatus))
	}
}
