package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/server"
	"github.com/fluoro-dev/fluoro/internal/server/servertest"
	"github.com/fluoro-dev/fluoro/internal/tailsample"
)

func startTailServer(t *testing.T, dir string) *server.Server {
	t.Helper()
	cfg := servertest.Config()
	cfg.Data, cfg.UDP, cfg.HTTP = dir, "127.0.0.1:0", "127.0.0.1:0"
	cfg.Ingest.TraceIdle = 200 * time.Millisecond
	ts := &cfg.TailSampling
	ts.Enabled = true
	ts.DecisionWait = 300 * time.Millisecond
	ts.Rate = 0.3
	ts.Latency = []tailsample.LatencyPolicy{{Threshold: 200 * time.Millisecond, URL: "*/slow"}}
	ts.Filters = []tailsample.FilterPolicy{{Name: "vip", Expression: `annotation.tier = "gold"`}}
	s, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	return s
}

// TestTailSamplingEndToEnd: services instrumented with the official X-Ray
// SDK send every trace over UDP, and documents arrive through
// PutTraceSegments (official AWS SDK); with tail sampling on, exactly the
// faulted, slow and VIP traces and the successes whose trace id hashes
// below the rate are stored, each recording the policy that kept it, and
// /metrics counts them. A boost set through the API keeps every success,
// and survives a restart.
func TestTailSamplingEndToEnd(t *testing.T) {
	dir := t.TempDir()
	s := startTailServer(t, dir)
	defer func() { s.Shutdown(context.Background()) }()
	ctx := context.Background()
	client := apiClient(s)

	rules, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2, "default": {"fixed_target": 0, "rate": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := xray.Configure(xray.Config{DaemonAddr: s.UDPAddr().String(), SamplingStrategy: rules}); err != nil {
		t.Fatal(err)
	}
	frontend := httptest.NewServer(xray.Handler(xray.NewFixedSegmentNamer("frontend"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fail":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/slow":
			time.Sleep(250 * time.Millisecond) // the work being traced, not test synchronisation
		case "/vip":
			xray.AddAnnotation(r.Context(), "tier", "gold")
		}
	})))
	defer frontend.Close()

	want := map[model.TraceID]string{} // trace → policy that must keep it ("" dropped)
	request := func(path string) model.TraceID {
		t.Helper()
		resp, err := http.Get(frontend.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header.Get("X-Amzn-Trace-Id")
		id, err := model.ParseTraceID(strings.TrimPrefix(strings.Split(h, ";")[0], "Root="))
		if err != nil {
			t.Fatalf("X-Amzn-Trace-Id %q: %v", h, err)
		}
		return id
	}
	successes := 0
	for i := range 60 {
		switch {
		case i%15 == 0:
			want[request("/fail")] = "error"
		case i%15 == 1:
			want[request("/slow")] = "latency"
		case i%15 == 2:
			want[request("/vip")] = "filter:vip"
		default:
			id := request("/ok")
			successes++
			want[id] = ""
			if tailsample.Position(id) < 0.3 {
				want[id] = "rate"
			}
		}
	}
	// Documents through PutTraceSegments: a throttled one and a success.
	now := time.Now().Unix()
	var docs []string
	for i, extra := range []string{`,"throttle":true,"error":true`, ``} {
		id := fmt.Sprintf("1-%08x-%024x", now, 0xabc0+i)
		docs = append(docs, fmt.Sprintf(`{"trace_id":%q,"id":"%016x","name":"batch","start_time":%d,"end_time":%d%s}`, id, i+1, now, now+1, extra))
		tid, _ := model.ParseTraceID(id)
		want[tid] = map[bool]string{true: "error", false: ""}[extra != ""]
		if extra == "" && tailsample.Position(tid) < 0.3 {
			want[tid] = "rate"
		}
	}
	if out, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs}); err != nil || len(out.UnprocessedTraceSegments) > 0 {
		t.Fatalf("PutTraceSegments: %v %+v", err, out)
	}

	keptWant := map[string]bool{}
	byPolicy := map[string]int{}
	for id, p := range want {
		if p != "" {
			keptWant[id.String()] = true
			byPolicy[p]++
		}
	}
	listed := func() (map[string]bool, error) {
		got := map[string]bool{}
		p := awsxray.NewGetTraceSummariesPaginator(client, &awsxray.GetTraceSummariesInput{
			StartTime: aws.Time(time.Now().Add(-5 * time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, s := range page.TraceSummaries {
				got[aws.ToString(s.Id)] = true
			}
		}
		return got, nil
	}
	eventually(t, "the kept traces are listed", func() error {
		got, err := listed()
		if err != nil {
			return err
		}
		if len(got) != len(keptWant) {
			return fmt.Errorf("%d traces listed, want %d", len(got), len(keptWant))
		}
		for id := range keptWant {
			if !got[id] {
				return fmt.Errorf("kept trace %s not listed", id)
			}
		}
		return nil
	})
	t.Logf("%d traces sent, %d kept: %v (of %d successes, %d by rate 0.3)", len(want), len(keptWant), byPolicy, successes+1, byPolicy["rate"])
	// Dropped traces are not retrievable; kept ones record their policy.
	for id, p := range want {
		sum, ok, err := s.Store().Summary(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p == "" {
			if ok {
				t.Errorf("dropped trace %s has a summary", id)
			}
			continue
		}
		if !ok || sum.SampledBy != p {
			t.Errorf("trace %s: summary %v, SampledBy %q; want %q", id, ok, sum.SampledBy, p)
		}
	}
	// GetTraceSummaries carries it too, as Fluoro's own SampledBy field.
	raw, err := http.Post("http://"+s.HTTPAddr().String()+"/TraceSummaries", "application/json",
		strings.NewReader(fmt.Sprintf(`{"StartTime":%d,"EndTime":%d,"FilterExpression":"fault"}`, time.Now().Add(-time.Hour).Unix(), time.Now().Add(time.Minute).Unix())))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(raw.Body)
	raw.Body.Close()
	if !strings.Contains(string(body), `"SampledBy":"error"`) {
		t.Errorf("GetTraceSummaries of faulted traces lacks SampledBy \"error\": %.300s", body)
	}
	out, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{firstWith(want, ""), firstWith(want, "error")}})
	if err != nil || len(out.Traces) != 1 || len(out.UnprocessedTraceIds) != 1 {
		t.Errorf("BatchGetTraces of a dropped and a kept trace: %v, %d traces, unprocessed %v", err, len(out.Traces), out.UnprocessedTraceIds)
	}

	m := scrape(t, "http://"+s.HTTPAddr().String()+"/metrics")
	for p, n := range byPolicy {
		key := fmt.Sprintf(`fluoro_tailsample_traces_total{decision="kept",policy=%q}`, p)
		if m[key] != float64(n) {
			t.Errorf("%s = %v, want %d", key, m[key], n)
		}
	}
	if key, n := `fluoro_tailsample_traces_total{decision="dropped",policy="rate"}`, len(want)-len(keptWant); m[key] != float64(n) {
		t.Errorf("%s = %v, want %d", key, m[key], n)
	}
	if m[`fluoro_tailsample_spans_total{decision="dropped"}`] < float64(len(want)-len(keptWant)) || m["fluoro_tailsample_buffered_bytes_limit"] != 256<<20 {
		t.Errorf("metrics: %v", m)
	}

	// A boost through the API keeps every success of the frontend.
	resp, err := http.Post("http://"+s.HTTPAddr().String()+tailsample.BoostsPath, "application/json",
		strings.NewReader(`{"rate":1,"duration":"1h","service":"front*","reason":"deploy"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST boost: %s", resp.Status)
	}
	boosted := map[string]string{}
	for range 10 {
		id := request("/ok")
		boosted[id.String()] = map[bool]string{true: "rate", false: "boost"}[tailsample.Position(id) < 0.3]
	}
	eventually(t, "boosted traces are kept", func() error {
		for id, p := range boosted {
			tid, _ := model.ParseTraceID(id)
			sum, ok, err := s.Store().Summary(ctx, tid)
			if err != nil || !ok || sum.SampledBy != p {
				return fmt.Errorf("trace %s: %v %v %q, want kept by %q", id, err, ok, sum.SampledBy, p)
			}
		}
		return nil
	})

	// The boost survives a restart.
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	s = startTailServer(t, dir)
	resp, err = http.Get("http://" + s.HTTPAddr().String() + tailsample.BoostsPath)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"service":"front*"`) {
		t.Errorf("boosts after a restart: %s %s", resp.Status, b)
	}
}

func firstWith(m map[model.TraceID]string, policy string) string {
	for id, p := range m {
		if p == policy {
			return id.String()
		}
	}
	return ""
}

// scrape reads a Prometheus text exposition into name{labels} → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// TestBoostsAPIWhenTailSamplingIsOff: the boosts endpoint explains that
// tail sampling is off, in JSON.
func TestBoostsAPIWhenTailSamplingIsOff(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	resp, err := http.Post("http://"+s.HTTPAddr().String()+tailsample.BoostsPath, "application/json", strings.NewReader(`{"rate":1,"duration":"1h"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "tail sampling is not enabled") {
		t.Errorf("POST boost with tail sampling off: %s %s", resp.Status, b)
	}
}
