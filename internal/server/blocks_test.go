package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/fluoro-dev/fluoro/internal/server"
	"github.com/fluoro-dev/fluoro/internal/server/servertest"
)

// TestBlocksEndToEnd: traces older than blocks_after move to block files;
// the AWS SDK reads them back unchanged, finds them by filter expression,
// a subsegment arriving after the move joins its trace, and a restart keeps
// everything.
func TestBlocksEndToEnd(t *testing.T) {
	dir := t.TempDir()
	start := func() *server.Server {
		cfg := servertest.Config()
		cfg.Data = dir
		cfg.Ingest.TraceIdle = 200 * time.Millisecond
		cfg.BlocksAfter = 10 * time.Minute
		cfg.BlocksInterval = 100 * time.Millisecond
		s, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := start()
	ctx := context.Background()
	client := apiClient(s)
	at := time.Now().Add(-30 * time.Minute)
	ts := float64(at.UnixMicro()) / 1e6
	var docs, ids []string
	for i := range 20 {
		tid := fmt.Sprintf("1-%08x-%024x", at.Unix(), 1000+i)
		ids = append(ids, tid)
		docs = append(docs,
			fmt.Sprintf(`{"trace_id":%q,"id":"%016x","name":"api","start_time":%.6f,"end_time":%.6f,"http":{"request":{"method":"GET","url":"https://shop.example/orders/%d"},"response":{"status":%d}},"fault":%t,"annotations":{"n":%d},"subsegments":[{"id":"%016x","name":"db","start_time":%.6f,"end_time":%.6f,"sql":{"sanitized_query":"SELECT 1"}}]}`,
				tid, 0xa000+i, ts, ts+0.25, i, 200+300*(i%2), i%2 == 1, i, 0xb000+i, ts+0.01, ts+0.2))
	}
	if _, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the traces move to a block file", func() error {
		files, _ := filepath.Glob(filepath.Join(dir, "blocks", "*.blk"))
		if len(files) == 0 {
			return fmt.Errorf("no block files")
		}
		return nil
	})
	eventually(t, "the move is counted and nothing is left to move", func() error {
		m := scrape(t, "http://"+s.HTTPAddr().String()+"/metrics")
		if got := m["fluoro_blocks_moved_documents_total"]; got != float64(len(docs)) {
			return fmt.Errorf("fluoro_blocks_moved_documents_total %v, want %d", got, len(docs))
		}
		if lag, ok := m["fluoro_blocks_lag_seconds"]; !ok || lag != 0 {
			return fmt.Errorf("fluoro_blocks_lag_seconds %v (present %v), want 0", lag, ok)
		}
		return nil
	})
	// Trace 0 is left out: it receives a late subsegment below.
	check := func(c *awsxray.Client) {
		t.Helper()
		for i := 1; i < 6; i++ {
			id := ids[i]
			out, err := c.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{id}})
			if err != nil || len(out.Traces) != 1 {
				t.Fatalf("BatchGetTraces %s: %v %+v", id, err, out)
			}
			segs := out.Traces[0].Segments
			want := 2 // the segment and the database inferred from its SQL call
			if len(segs) != want {
				t.Fatalf("trace %s: %d segments, want %d", id, len(segs), want)
			}
			var got, sent map[string]any
			for _, sg := range segs {
				if aws.ToString(sg.Id) == fmt.Sprintf("%016x", 0xa000+i) {
					json.Unmarshal([]byte(aws.ToString(sg.Document)), &got)
				}
			}
			json.Unmarshal([]byte(docs[i]), &sent)
			delete(got, "trace_id")
			delete(sent, "trace_id")
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(sent)
			if string(g) != string(w) {
				t.Fatalf("trace %s from a block:\n got %s\nwant %s", id, g, w)
			}
		}
		sums, err := c.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{
			StartTime: aws.Time(at.Add(-time.Minute)), EndTime: aws.Time(at.Add(time.Minute)),
			FilterExpression: aws.String(`annotation.n >= 10 AND fault`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(sums.TraceSummaries) != 5 {
			t.Fatalf("%d summaries for a filter matching 5 moved traces", len(sums.TraceSummaries))
		}
	}
	check(client)

	// A subsegment sent on its own after the move joins the moved trace.
	late := fmt.Sprintf(`{"type":"subsegment","trace_id":%q,"id":"%016x","parent_id":"%016x","name":"late","start_time":%.6f,"end_time":%.6f}`,
		ids[0], 0xc000, 0xa000, ts+0.21, ts+0.24)
	if _, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{late}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the late subsegment joins its moved trace", func() error {
		out, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{ids[0]}})
		if err != nil || len(out.Traces) != 1 {
			return fmt.Errorf("%v", err)
		}
		if !strings.Contains(aws.ToString(out.Traces[0].Segments[0].Document), `"late"`) {
			return fmt.Errorf("late subsegment not nested yet")
		}
		return nil
	})
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	s = start()
	defer s.Shutdown(ctx)
	check(apiClient(s))
	// The late subsegment survived the restart too.
	out, err := apiClient(s).BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{ids[0]}})
	if err != nil || len(out.Traces) != 1 || !strings.Contains(fmt.Sprint(aws.ToString(out.Traces[0].Segments[0].Document), aws.ToString(out.Traces[0].Segments[1].Document)), `"late"`) {
		t.Fatalf("after restart, the late subsegment is gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blocks")); err != nil {
		t.Fatal(err)
	}
}
