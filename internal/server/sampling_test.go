package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
)

// TestSummarySampling: Sampling with FixedRate or PartialScan returns about
// that fraction of the traces, the same ones on every call.
func TestSummarySampling(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	client := apiClient(s)
	ctx := context.Background()
	now := time.Now().Unix()
	const n = 400
	var docs []string
	for i := range n {
		docs = append(docs, fmt.Sprintf(`{"trace_id":"1-%08x-%024x","id":"%016x","name":"svc","start_time":%d,"end_time":%d}`, now, i+1, i+1, now, now+1))
	}
	for len(docs) > 0 {
		k := min(50, len(docs))
		if _, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs[:k]}); err != nil {
			t.Fatal(err)
		}
		docs = docs[k:]
	}
	list := func(strategy *types.SamplingStrategy, filter string) (ids []string, processed int64) {
		in := &awsxray.GetTraceSummariesInput{StartTime: aws.Time(time.Unix(now-60, 0)), EndTime: aws.Time(time.Unix(now+60, 0))}
		if strategy != nil {
			in.Sampling, in.SamplingStrategy = aws.Bool(true), strategy
		}
		if filter != "" {
			in.FilterExpression = aws.String(filter)
		}
		p := awsxray.NewGetTraceSummariesPaginator(client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.TraceSummaries {
				ids = append(ids, aws.ToString(s.Id))
			}
			processed += aws.ToInt64(page.TracesProcessedCount)
		}
		return ids, processed
	}
	eventually(t, "all traces summarised", func() error {
		if ids, _ := list(nil, ""); len(ids) != n {
			return fmt.Errorf("%d summaries", len(ids))
		}
		return nil
	})
	for _, tc := range []struct {
		name   string
		value  float64
		lo, hi int // 4 standard deviations around n·value
	}{{"FixedRate", 0.5, 160, 240}, {"PartialScan", 0.25, 65, 135}, {"FixedRate", 1, n, n}, {"FixedRate", 0, 0, 0}} {
		st := &types.SamplingStrategy{Name: types.SamplingStrategyName(tc.name), Value: aws.Float64(tc.value)}
		a, processed := list(st, `service("svc")`)
		b, _ := list(st, `service("svc")`)
		if len(a) < tc.lo || len(a) > tc.hi {
			t.Errorf("%s %v: %d of %d traces, want %d to %d", tc.name, tc.value, len(a), n, tc.lo, tc.hi)
		}
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s %v: two calls sampled different traces", tc.name, tc.value)
		}
		if processed != n {
			t.Errorf("%s %v: TracesProcessedCount %d, want %d", tc.name, tc.value, processed, n)
		}
	}
}
