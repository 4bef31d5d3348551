package xray

import (
	"fmt"
	"strings"
	"testing"
)

// benchSmall is a segment as the Go SDK sends it for a plain HTTP request:
// about 300 bytes.
const benchSmall = `{"trace_id":"1-6b0753a8-534116e244a7af8f97ae0184","id":"a10acff09685dddb","name":"backend","start_time":1795642280.252801,"end_time":1795642280.255002,"http":{"request":{"method":"GET","url":"http://backend.internal/users/42","client_ip":"10.0.3.7"},"response":{"status":200}},"aws":{"xray":{"sdk_version":"1.8.5","sdk":"X-Ray for Go"}}}`

// benchLarge returns a segment of about 2 KB: http, annotations, a remote
// call, an AWS call and local subsegments, one nested.
func benchLarge() string {
	var subs []string
	for i, name := range []string{"load-cart", "price-rules", "render"} {
		subs = append(subs, fmt.Sprintf(`{"id":"9a0bac1c464cb5c%d","name":%q,"start_time":1795642280.2527%d,"end_time":1795642280.2529%d,"metadata":{"default":{"step":%d}}}`, i, name, i, i, i))
	}
	subs = append(subs,
		`{"id":"121caef86bd67c59","name":"backend.internal","namespace":"remote","start_time":1795642280.252258,"end_time":1795642280.2553713,`+
			`"http":{"request":{"method":"GET","url":"http://backend.internal/users/42","traced":true},"response":{"status":200,"content_length":13}},`+
			`"subsegments":[{"id":"0aa6ec0577050969","name":"connect","start_time":1795642280.2523303,"end_time":1795642280.2525847,"metadata":{"http":{"connection":{"reused":false,"was_idle":false}}}}]}`,
		`{"id":"4781de0549e0d979","name":"DynamoDB","namespace":"aws","start_time":1795642280.2554028,"end_time":1795642280.2563546,`+
			`"http":{"response":{"status":200,"content_length":2}},"aws":{"operation":"GetItem","region":"us-east-1","request_id":"MFQ8CGJ3JTDDVVVASUAAJGQ6NJ82F738BOB4KQNSO5AEMVJF66Q9","retries":0,"table_name":"scorekeep-user"}}`)
	return `{"trace_id":"1-6b0753a8-534116e244a7af8f97ae0184","id":"a2d0a649eabe261b","name":"frontend","origin":"AWS::EC2::Instance",` +
		`"start_time":1795642280.252203,"end_time":1795642280.256355,"user":"bob",` +
		`"http":{"request":{"method":"GET","url":"https://shop.example.com/profile","client_ip":"198.51.100.23","user_agent":"Mozilla/5.0 (X11; Linux x86_64)"},"response":{"status":200}},` +
		`"aws":{"ec2":{"instance_id":"i-0b5a4678fc325bd98","availability_zone":"us-west-2c"},"xray":{"sdk_version":"1.8.5","sdk":"X-Ray for Go"}},` +
		`"service":{"version":"1.4.2","runtime_version":"go1.26.8","runtime":"gc"},` +
		`"annotations":{"cart_items":3,"customer_tier":"gold","express":false},"metadata":{"default":{"cart":{"currency":"EUR"}}},` +
		`"subsegments":[` + strings.Join(subs, ",") + `]}`
}

func BenchmarkDecode(b *testing.B) {
	run := func(name, doc string) {
		b.Run(name, func(b *testing.B) {
			d := []byte(doc)
			if _, err := Decode(d); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(d)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(d); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
	run(fmt.Sprintf("segment_%dB", len(benchSmall)), benchSmall)
	large := benchLarge()
	run(fmt.Sprintf("subsegments_%dB", len(large)), large)
}
