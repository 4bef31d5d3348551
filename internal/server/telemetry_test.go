package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
)

// TestPutTelemetryRecords: the AWS SDK's PutTelemetryRecords, as the X-Ray
// daemon sends it, is accepted and counted by hostname; a record without
// its Timestamp is refused with InvalidRequestException.
func TestPutTelemetryRecords(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	client := apiClient(s)
	_, err := client.PutTelemetryRecords(context.Background(), &awsxray.PutTelemetryRecordsInput{
		Hostname:      aws.String("ip-10-0-0-1"),
		EC2InstanceId: aws.String("i-0123456789abcdef0"),
		ResourceARN:   aws.String("arn:aws:ecs:us-east-1:123456789012:task/abc"),
		TelemetryRecords: []types.TelemetryRecord{{
			Timestamp:             aws.Time(time.Now()),
			SegmentsReceivedCount: aws.Int32(120), SegmentsSentCount: aws.Int32(118),
			SegmentsSpilloverCount: aws.Int32(0), SegmentsRejectedCount: aws.Int32(2),
			BackendConnectionErrors: &types.BackendConnectionErrors{TimeoutCount: aws.Int32(3), ConnectionRefusedCount: aws.Int32(1)},
		}, {
			Timestamp:             aws.Time(time.Now()),
			SegmentsReceivedCount: aws.Int32(10), SegmentsSentCount: aws.Int32(10),
		}},
	})
	if err != nil {
		t.Fatalf("PutTelemetryRecords: %v", err)
	}
	resp, err := http.Get("http://" + s.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	labels := `hostname="ip-10-0-0-1",kind="%s",resource="arn:aws:ecs:us-east-1:123456789012:task/abc"`
	for _, want := range []string{
		"fluoro_api_daemon_segments_total{" + fmt.Sprintf(labels, "received") + "} 130",
		"fluoro_api_daemon_segments_total{" + fmt.Sprintf(labels, "sent") + "} 128",
		"fluoro_api_daemon_segments_total{" + fmt.Sprintf(labels, "rejected") + "} 2",
		"fluoro_api_daemon_backend_errors_total{" + fmt.Sprintf(labels, "timeout") + "} 3",
		"fluoro_api_daemon_backend_errors_total{" + fmt.Sprintf(labels, "connection_refused") + "} 1",
		"fluoro_api_telemetry_records_total 2",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	check := func(body, wantErr string) {
		t.Helper()
		resp, err := http.Post("http://"+s.HTTPAddr().String()+"/TelemetryRecords", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidRequestException" || !strings.Contains(string(b), wantErr) {
			t.Errorf("%s → %d %s %s, want 400 InvalidRequestException mentioning %q", body, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b, wantErr)
		}
	}
	check(`{}`, "TelemetryRecords is required")
	check(`{"TelemetryRecords":[{"SegmentsSentCount":1}]}`, "Timestamp is required")
	check(`{"TelemetryRecords":[{"Timestamp":1,"SegmentsSentCount":-1}]}`, "negative")
	check(`{"TelemetryRecords":[],"EC2InstanceId":"i-0123456789abcdef0123"}`, "EC2InstanceId")
	check(`{"TelemetryRecords":"x"}`, "not valid JSON")
}
