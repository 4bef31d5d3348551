package trace

import (
	"testing"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// BenchmarkSummarize summarises a trace of five segments and subsegments in
// three documents: two services, the traced call between them, and two calls
// to uninstrumented downstreams (DynamoDB embedded, SQL streamed on its
// own), with annotations, a user and an EC2 instance.
func BenchmarkSummarize(b *testing.B) {
	docs := []string{
		`{"trace_id":"1-6b0753d0-1a2b3c4d5e6f708192a3b4c5","id":"a1b2c3d4e5f60701","name":"frontend","origin":"AWS::EC2::Instance","start_time":1795642320.100,"end_time":1795642320.420,"user":"alice",` +
			`"http":{"request":{"method":"GET","url":"https://shop.example.com/profile"},"response":{"status":200}},"aws":{"ec2":{"instance_id":"i-0b5a4678fc325bd98","availability_zone":"us-west-2c"}},` +
			`"annotations":{"customer_tier":"gold","cart_items":3},` +
			`"subsegments":[{"id":"a1b2c3d4e5f60702","name":"backend.internal","namespace":"remote","start_time":1795642320.140,"end_time":1795642320.394,"http":{"request":{"method":"GET","url":"http://backend.internal/users/42","traced":true},"response":{"status":200}}},` +
			`{"id":"a1b2c3d4e5f60703","name":"DynamoDB","namespace":"aws","start_time":1795642320.395,"end_time":1795642320.410,"aws":{"operation":"GetItem","table_name":"scorekeep-user"}}]}`,
		`{"trace_id":"1-6b0753d0-1a2b3c4d5e6f708192a3b4c5","id":"b1c2d3e4f5a60718","name":"backend","origin":"AWS::ECS::Container","parent_id":"a1b2c3d4e5f60702","start_time":1795642320.150,"end_time":1795642320.390,` +
			`"annotations":{"customer_tier":"gold","retry":false}}`,
		`{"trace_id":"1-6b0753d0-1a2b3c4d5e6f708192a3b4c5","id":"b1c2d3e4f5a6071a","name":"checkout@pg.internal","type":"subsegment","parent_id":"b1c2d3e4f5a60718","namespace":"remote","start_time":1795642320.170,"end_time":1795642320.290,` +
			`"sql":{"url":"postgresql://pg.internal:5432/checkout","sanitized_query":"SELECT * FROM users WHERE id = ?","database_type":"PostgreSQL"}}`,
	}
	var spans []*model.Span
	for _, d := range docs {
		got, err := xray.Decode([]byte(d))
		if err != nil {
			b.Fatal(err)
		}
		for i := range got {
			spans = append(spans, &got[i])
		}
	}
	n := 0
	for _, s := range spans {
		s.Root.Walk(func(*model.Entity, int) { n++ })
	}
	if n != 5 {
		b.Fatalf("trace has %d segments and subsegments; want 5", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		Summarize(spans)
	}
}
