package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestAWSCLI drives the AWS CLI as the README shows: put a segment, list
// summaries, get the trace, and see a refusal as the CLI prints it.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	endpoint := "http://" + s.HTTPAddr().String()
	aws := func(args ...string) (map[string]any, string, error) {
		cmd := exec.Command("aws", append([]string{"xray"}, append(args, "--endpoint-url", endpoint, "--output", "json")...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=fluoro", "AWS_SECRET_ACCESS_KEY=fluoro",
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var v map[string]any
		if err == nil {
			err = json.Unmarshal(out, &v)
		}
		return v, stderr.String(), err
	}
	now := time.Now().Unix()
	tid := fmt.Sprintf("1-%08x-%024x", now, 7)
	doc := fmt.Sprintf(`{"trace_id":%q,"id":"a000000000000001","name":"cli","start_time":%d,"end_time":%d}`, tid, now, now+1)
	out, stderr, err := aws("put-trace-segments", "--trace-segment-documents", doc, `{"id":"a000000000000002"}`)
	if err != nil {
		t.Fatalf("put-trace-segments: %v\n%s", err, stderr)
	}
	if un, _ := out["UnprocessedTraceSegments"].([]any); len(un) != 1 {
		t.Errorf("put-trace-segments: unprocessed %v, want the one bad document", out["UnprocessedTraceSegments"])
	}
	eventually(t, "get-trace-summaries lists the trace", func() error {
		out, stderr, err := aws("get-trace-summaries", "--start-time", fmt.Sprint(now-600), "--end-time", fmt.Sprint(now+60))
		if err != nil {
			return fmt.Errorf("%v: %s", err, stderr)
		}
		sums, _ := out["TraceSummaries"].([]any)
		if len(sums) != 1 || sums[0].(map[string]any)["Id"] != tid {
			return fmt.Errorf("summaries %v", out["TraceSummaries"])
		}
		return nil
	})
	out, stderr, err = aws("batch-get-traces", "--trace-ids", tid)
	if err != nil {
		t.Fatalf("batch-get-traces: %v\n%s", err, stderr)
	}
	traces, _ := out["Traces"].([]any)
	if len(traces) != 1 || !strings.Contains(fmt.Sprint(traces[0]), `a000000000000001`) {
		t.Errorf("batch-get-traces: %v", out)
	}
	out, stderr, err = aws("get-trace-summaries", "--start-time", fmt.Sprint(now-600), "--end-time", fmt.Sprint(now+60), "--filter-expression", `service("cli") AND !fault`)
	if sums, _ := out["TraceSummaries"].([]any); err != nil || len(sums) != 1 {
		t.Errorf("get-trace-summaries --filter-expression: %v, %v\n%s", out, err, stderr)
	}
	_, stderr, err = aws("get-trace-summaries", "--start-time", fmt.Sprint(now-600), "--end-time", fmt.Sprint(now+60), "--filter-expression", "fault AND")
	if err == nil || !strings.Contains(stderr, "(InvalidRequestException)") {
		t.Errorf("a refused call: err %v, stderr %q; want the CLI to name InvalidRequestException", err, stderr)
	}
}
