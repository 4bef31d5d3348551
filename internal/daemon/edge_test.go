package daemon_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/fluoro-dev/fluoro/internal/daemon"
	"github.com/fluoro-dev/fluoro/internal/redact"
)

// TestTailSamplingAtTheEdge: with tail sampling on in `fluoro daemon`, only
// the traces its policies keep (here: every faulted one, none of the rest)
// reach the server, and the decisions are counted in the daemon's metrics.
func TestTailSamplingAtTheEdge(t *testing.T) {
	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startServer(t, filepath.Join(dir, "server"), httpAddr)
	defer s.Shutdown(context.Background())
	cfg := testDaemon(t, "http://"+httpAddr)
	cfg.TailSampling.Enabled = true
	cfg.TailSampling.KeepErrors = true
	cfg.TailSampling.Rate = 0
	cfg.TailSampling.DecisionWait = 200 * time.Millisecond
	d, err := daemon.Start(cfg, testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", d.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	now := time.Now().Unix()
	const n = 20
	for i := range n {
		fault := ""
		if i%2 == 0 {
			fault = `,"fault":true`
		}
		tid := fmt.Sprintf("1-%08x-%024x", now, i+1)
		seg := fmt.Sprintf(`{"trace_id":%q,"id":"%016x","name":"edge","start_time":%d,"end_time":%d%s}`, tid, i+1, now, now+1, fault)
		// A subsegment sent on its own first, as streaming SDKs do.
		sub := fmt.Sprintf(`{"trace_id":%q,"id":"%016x","parent_id":"%016x","type":"subsegment","name":"db","start_time":%d,"end_time":%d}`,
			tid, 1000+i, i+1, now, now+1)
		for _, doc := range []string{sub, seg} {
			if _, err := conn.Write([]byte("{\"format\": \"json\", \"version\": 1}\n" + doc)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Millisecond) // stay under the socket's buffer
	}
	defer d.Shutdown(context.Background())
	client := apiClient("http://" + httpAddr)
	ctx := context.Background()
	eventually(t, "kept traces stored", func() error {
		out, err := client.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{StartTime: aws.Time(time.Unix(now-60, 0)),
			EndTime: aws.Time(time.Unix(now+60, 0))})
		if err != nil {
			return err
		}
		faulted := 0
		for _, sum := range out.TraceSummaries {
			if !aws.ToBool(sum.HasFault) {
				return fmt.Errorf("trace %s without a fault was relayed", aws.ToString(sum.Id))
			}
			if len(sum.ServiceIds) == 0 {
				return fmt.Errorf("trace %s has no services", aws.ToString(sum.Id))
			}
			faulted++
		}
		if faulted != n/2 {
			return fmt.Errorf("%d faulted traces stored, want %d", faulted, n/2)
		}
		return nil
	})
	// Every kept trace arrived whole: its subsegment sent on its own too.
	out, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{fmt.Sprintf("1-%08x-%024x", now, 1)}})
	if err != nil || len(out.Traces) != 1 || len(out.Traces[0].Segments) != 1 {
		t.Fatalf("BatchGetTraces of a kept trace: %+v, %v", out, err)
	}
	if doc := aws.ToString(out.Traces[0].Segments[0].Document); !strings.Contains(doc, `"name":"db"`) {
		t.Errorf("kept trace lacks its subsegment: %s", doc)
	}
	m := scrape(t, "http://"+d.TCPAddr().String()+"/metrics")
	kept, dropped := 0.0, 0.0
	for k, v := range m {
		if strings.HasPrefix(k, "fluoro_tailsample_traces_total{") && strings.Contains(k, `decision="kept"`) {
			kept += v
		}
		if strings.HasPrefix(k, "fluoro_tailsample_traces_total{") && strings.Contains(k, `decision="dropped"`) {
			dropped += v
		}
	}
	if kept != n/2 || dropped != n/2 {
		t.Errorf("daemon metrics: %v traces kept, %v dropped; want %d and %d", kept, dropped, n/2, n/2)
	}
}

// TestRedactionAtTheEdge: with redaction on in `fluoro daemon`, blocked keys
// and matching values never reach the server, for SDK segments over UDP.
func TestRedactionAtTheEdge(t *testing.T) {
	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startServer(t, filepath.Join(dir, "server"), httpAddr)
	defer s.Shutdown(context.Background())
	cfg := testDaemon(t, "http://"+httpAddr)
	cfg.Redact = redact.Config{Enabled: true, BlockedKeys: []string{"password", "*token*"},
		BlockedValues: []string{`[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`}}
	d, err := daemon.Start(cfg, testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	conn, err := net.Dial("udp", d.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	now := time.Now().Unix()
	tid := fmt.Sprintf("1-%08x-%024x", now, 77)
	doc := fmt.Sprintf(`{"trace_id":%q,"id":"00000000000000aa","name":"signup","start_time":%d,"end_time":%d,"user":"ann@example.com",`+
		`"annotations":{"password":"hunter2","plan":"pro"},"metadata":{"default":{"auth_token":"t0k","note":"mail bob@example.org"}}}`, tid, now, now+1)
	if _, err := conn.Write([]byte("{\"format\": \"json\", \"version\": 1}\n" + doc)); err != nil {
		t.Fatal(err)
	}
	client := apiClient("http://" + httpAddr)
	eventually(t, "redacted trace stored", func() error {
		out, err := client.BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: []string{tid}})
		if err != nil {
			return err
		}
		if len(out.Traces) != 1 || len(out.Traces[0].Segments) != 1 {
			return fmt.Errorf("trace not stored yet")
		}
		got := aws.ToString(out.Traces[0].Segments[0].Document)
		for _, gone := range []string{"hunter2", "password", "t0k", "ann@example.com", "bob@example.org"} {
			if strings.Contains(got, gone) {
				t.Fatalf("stored document still holds %q: %s", gone, got)
			}
		}
		for _, kept := range []string{`"plan":"pro"`, `"user":"****"`, `mail ****`, `"name":"signup"`} {
			if !strings.Contains(got, kept) {
				t.Fatalf("stored document lacks %s: %s", kept, got)
			}
		}
		return nil
	})
	if m := scrape(t, "http://"+d.TCPAddr().String()+"/metrics"); m["fluoro_daemon_documents_redacted_total"] != 1 {
		t.Errorf("redacted documents counted %v, want 1", m["fluoro_daemon_documents_redacted_total"])
	}
}
