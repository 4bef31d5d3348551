package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodeFixture is test/node, with its dependencies installed by `npm ci`
// (scripts/test does it).
func nodeFixture(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../test/node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: the Node.js SDK test needs it (scripts/test installs the fixture)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "aws-xray-sdk-core")); err != nil {
		t.Fatalf("test/node has no node_modules: run `npm ci` in test/node (scripts/test does)")
	}
	return dir
}

func runNode(t *testing.T, dir string, env []string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("node %v: %w\nstdout: %s\nstderr: %s", args, err, out, stderr.String())
	}
	return out, nil
}

// TestNodeSDK sends traces with npm's aws-xray-sdk-core, streaming
// subsegments as separate documents, and reads them back with npm's
// @aws-sdk/client-xray: each trace must come back whole.
func TestNodeSDK(t *testing.T) {
	dir := nodeFixture(t)
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())

	out, err := runNode(t, dir, []string{"FLUORO_UDP=" + s.UDPAddr().String()}, "emit.js")
	if err != nil {
		t.Fatal(err)
	}
	var emitted struct {
		Traces []struct {
			Label       string
			ID          string
			SegmentID   string
			User        string
			Annotations map[string]any
			SQL         string
			Exception   string
			Subsegments []struct {
				ID       string
				Name     string
				Streamed bool
			}
		}
	}
	if err := json.Unmarshal(out, &emitted); err != nil {
		t.Fatalf("emit.js output: %v\n%s", err, out)
	}
	if len(emitted.Traces) != 3 {
		t.Fatalf("emit.js sent %d traces, want 3", len(emitted.Traces))
	}
	streamed := 0
	args := []string{"query.js"}
	for _, tr := range emitted.Traces {
		args = append(args, tr.ID)
		for _, sub := range tr.Subsegments {
			if sub.Streamed {
				streamed++
			}
		}
	}
	if streamed == 0 {
		t.Fatalf("the fixture streamed no subsegment on its own; the test would not cover stitching")
	}

	type queried struct {
		Traces []struct {
			Id       string
			Segments []struct{ Id, Document string }
		}
		UnprocessedTraceIds []string
		Summaries           []struct {
			Id          string
			HasFault    bool
			HasError    bool
			HasThrottle bool
			Users       []struct{ UserName string }
			Annotations map[string][]struct {
				AnnotationValue map[string]any
			}
		}
	}
	var got queried
	env := []string{"FLUORO_ENDPOINT=http://" + s.HTTPAddr().String()}
	eventually(t, "query.js reads back the three traces and their summaries", func() error {
		out, err := runNode(t, dir, env, args...)
		if err != nil {
			return err
		}
		got = queried{}
		if err := json.Unmarshal(out, &got); err != nil {
			return err
		}
		if len(got.Traces) != 3 || len(got.Summaries) != 3 {
			return fmt.Errorf("%d traces, %d summaries; unprocessed %v", len(got.Traces), len(got.Summaries), got.UnprocessedTraceIds)
		}
		return nil
	})

	docs := map[string]string{} // trace id → all its documents, concatenated
	for _, tr := range got.Traces {
		var all strings.Builder
		for _, seg := range tr.Segments {
			all.WriteString(seg.Document)
			var d map[string]any
			if err := json.Unmarshal([]byte(seg.Document), &d); err != nil {
				t.Fatalf("trace %s: document is not JSON: %v", tr.Id, err)
			}
			if d["type"] == "subsegment" {
				t.Errorf("trace %s: subsegment %v came back on its own, not nested in its segment", tr.Id, d["name"])
			}
		}
		docs[tr.Id] = all.String()
	}
	sums := map[string]int{}
	for i, s := range got.Summaries {
		sums[s.Id] = i
	}
	for _, tr := range emitted.Traces {
		all := docs[tr.ID]
		for _, sub := range tr.Subsegments {
			if !strings.Contains(all, `"id":"`+sub.ID+`"`) {
				t.Errorf("trace %s: subsegment %s (%s, streamed %v) is missing", tr.Label, sub.Name, sub.ID, sub.Streamed)
			}
		}
		if tr.SQL != "" && !strings.Contains(all, `"sanitized_query":"`+tr.SQL+`"`) {
			t.Errorf("trace %s: SQL %q missing", tr.Label, tr.SQL)
		}
		if tr.Exception != "" && !strings.Contains(all, tr.Exception) {
			t.Errorf("trace %s: exception %q missing", tr.Label, tr.Exception)
		}
		i, ok := sums[tr.ID]
		if !ok {
			t.Errorf("trace %s has no summary", tr.Label)
			continue
		}
		sum := got.Summaries[i]
		for k, want := range tr.Annotations {
			vals := sum.Annotations[k]
			found := false
			for _, v := range vals {
				for _, x := range v.AnnotationValue {
					if fmt.Sprint(x) == fmt.Sprint(want) {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("trace %s: summary annotation %s = %v, want %v", tr.Label, k, vals, want)
			}
		}
		if tr.User != "" && (len(sum.Users) != 1 || sum.Users[0].UserName != tr.User) {
			t.Errorf("trace %s: summary users %v, want %s", tr.Label, sum.Users, tr.User)
		}
		switch tr.Label {
		case "A":
			if sum.HasFault || sum.HasError || sum.HasThrottle {
				t.Errorf("trace A flags fault=%v error=%v throttle=%v, want none", sum.HasFault, sum.HasError, sum.HasThrottle)
			}
		case "B":
			if !sum.HasFault {
				t.Errorf("trace B: HasFault false")
			}
		case "C":
			if !sum.HasThrottle || !sum.HasError {
				t.Errorf("trace C: HasThrottle %v HasError %v, want both", sum.HasThrottle, sum.HasError)
			}
		}
	}

	// A malformed request reaches the JavaScript SDK as a typed error.
	out, err = runNode(t, dir, env, "query.js", "--bad")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"name":"InvalidRequestException"`) {
		t.Errorf("query.js --bad: %s, want InvalidRequestException", out)
	}
}
