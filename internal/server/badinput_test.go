package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
)

// TestBadDatagrams sends malformed datagrams of every kind over UDP: each is
// counted under its reason, and the listener goes on to store a good one.
func TestBadDatagrams(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	conn, err := net.Dial("udp", s.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const header = "{\"format\": \"json\", \"version\": 1}\n"
	now := time.Now().Unix()
	tid := fmt.Sprintf("1-%08x-%024x", now, 99)
	seg := func(id, extra string) string {
		return fmt.Sprintf(`{"trace_id":%q,"id":%q,"name":"svc","start_time":%d,"end_time":%d%s}`, tid, id, now, now+1, extra)
	}
	bad := map[string]string{
		"no header line":      seg("a000000000000001", ""),
		"wrong header":        `{"format": "xml", "version": 1}` + "\n" + seg("a000000000000002", ""),
		"header only":         header,
		"not JSON":            header + `{"trace_id": "1-`,
		"missing id":          header + fmt.Sprintf(`{"trace_id":%q,"name":"svc","start_time":1,"end_time":2}`, tid),
		"no end, no progress": header + fmt.Sprintf(`{"trace_id":%q,"id":"a000000000000005","name":"svc","start_time":1}`, tid),
	}
	bad["bad name"] = header + fmt.Sprintf(`{"trace_id":%q,"id":"a000000000000003","name":"a<b>","start_time":1,"end_time":2}`, tid)
	for _, d := range bad {
		if _, err := conn.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Write([]byte(header + seg("b000000000000001", ""))); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"NoHeader": 1, "BadHeader": 1, "NoBody": 1, "InvalidJSON": 1, "MissingId": 1,
		"InvalidName": 1, "InvalidTimes": 1}
	// No oversize case: an IPv4 datagram carries at most 65,507 bytes, under
	// X-Ray's 64 KiB document limit; TestPutTraceSegments covers that limit.
	eventually(t, "every bad datagram counted by reason and the good one stored", func() error {
		got := rejected(t, "http://"+s.HTTPAddr().String()+"/metrics")
		for reason, n := range want {
			if got[reason] != n {
				return fmt.Errorf("rejected %v, want %v", got, want)
			}
		}
		out, err := apiClient(s).BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: []string{tid}})
		if err != nil {
			return err
		}
		if len(out.Traces) != 1 || len(out.Traces[0].Segments) != 1 || aws.ToString(out.Traces[0].Segments[0].Id) != "b000000000000001" {
			return fmt.Errorf("stored trace: %+v", out.Traces)
		}
		return nil
	})
}

// rejected reads fluoro_ingest_documents_rejected_total by reason.
func rejected(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), `fluoro_ingest_documents_rejected_total{reason="`)
		if !ok {
			continue
		}
		reason, value, _ := strings.Cut(rest, `"} `)
		v, _ := strconv.ParseFloat(value, 64)
		out[reason] = v
	}
	return out
}
