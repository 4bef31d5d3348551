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

// readmeCommand returns the README's line that starts with prefix, split
// into arguments as a POSIX shell would split it (single quotes only).
func readmeCommand(t *testing.T, prefix string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		var args []string
		var cur strings.Builder
		quoted, inArg := false, false
		for _, r := range line {
			switch {
			case r == '\'':
				quoted, inArg = !quoted, true
			case r == ' ' && !quoted:
				if inArg {
					args = append(args, cur.String())
					cur.Reset()
					inArg = false
				}
			default:
				cur.WriteRune(r)
				inArg = true
			}
		}
		if inArg {
			args = append(args, cur.String())
		}
		return args
	}
	t.Fatalf("README.md has no line starting with %q", prefix)
	return nil
}

// TestAWSCLISampling runs the README's `aws xray create-sampling-rule`
// command (its endpoint replaced by the test server's) and the other
// sampling commands of the AWS CLI against Fluoro.
func TestAWSCLISampling(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	endpoint := "http://" + s.HTTPAddr().String()
	run := func(args ...string) (map[string]any, string, error) {
		for i, a := range args {
			if a == "http://127.0.0.1:2000" {
				args[i] = endpoint
			}
		}
		if !strings.Contains(strings.Join(args, " "), "--endpoint-url") {
			args = append(args, "--endpoint-url", endpoint)
		}
		cmd := exec.Command(args[0], append(args[1:], "--output", "json")...)
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
	out, stderr, err := run(readmeCommand(t, "aws xray create-sampling-rule ")...)
	if err != nil {
		t.Fatalf("the README's create-sampling-rule: %v\n%s", err, stderr)
	}
	rule, _ := out["SamplingRuleRecord"].(map[string]any)["SamplingRule"].(map[string]any)
	if rule["RuleName"] != "checkout" || rule["RuleARN"] != "arn:aws:xray:us-east-1:000000000000:sampling-rule/checkout" || rule["ReservoirSize"] != 5.0 {
		t.Errorf("create-sampling-rule printed %v", out)
	}
	out, stderr, err = run(readmeCommand(t, "aws xray get-sampling-rules ")...)
	if recs, _ := out["SamplingRuleRecords"].([]any); err != nil || len(recs) != 2 {
		t.Fatalf("get-sampling-rules: %v %v\n%s", out, err, stderr)
	}
	out, stderr, err = run("aws", "xray", "update-sampling-rule", "--sampling-rule-update", `{"RuleName":"checkout","FixedRate":0.25}`)
	if err != nil || out["SamplingRuleRecord"].(map[string]any)["SamplingRule"].(map[string]any)["FixedRate"] != 0.25 {
		t.Errorf("update-sampling-rule: %v %v\n%s", out, err, stderr)
	}
	docs := fmt.Sprintf(`[{"RuleName":"checkout","ClientID":"0123456789abcdef01234567","Timestamp":%d,"RequestCount":40,"SampledCount":4,"BorrowCount":1}]`, time.Now().Unix())
	out, stderr, err = run("aws", "xray", "get-sampling-targets", "--sampling-statistics-documents", docs)
	if targets, _ := out["SamplingTargetDocuments"].([]any); err != nil || len(targets) != 1 || targets[0].(map[string]any)["ReservoirQuota"] != 5.0 {
		t.Errorf("get-sampling-targets: %v %v\n%s", out, err, stderr)
	}
	out, stderr, err = run("aws", "xray", "get-sampling-statistic-summaries")
	if sums, _ := out["SamplingStatisticSummaries"].([]any); err != nil || len(sums) != 1 || sums[0].(map[string]any)["RequestCount"] != 40.0 {
		t.Errorf("get-sampling-statistic-summaries: %v %v\n%s", out, err, stderr)
	}
	_, stderr, err = run("aws", "xray", "delete-sampling-rule", "--rule-name", "Default")
	if err == nil || !strings.Contains(stderr, "(InvalidRequestException)") {
		t.Errorf("delete-sampling-rule Default: err %v, stderr %q; want InvalidRequestException", err, stderr)
	}
	if _, stderr, err = run("aws", "xray", "delete-sampling-rule", "--rule-name", "checkout"); err != nil {
		t.Errorf("delete-sampling-rule: %v\n%s", err, stderr)
	}
}
