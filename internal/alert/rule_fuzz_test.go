package alert

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzRule feeds arbitrary bytes to the rule decoder and validation (the
// body of POST and PUT /api/alerts): never a panic, and a rule that passes
// survives a JSON round trip unchanged and still passes.
func FuzzRule(f *testing.F) {
	for _, s := range []string{
		`{"name":"checkout-faults","service":{"name":"checkout"},"metric":"fault_rate","threshold":0.1,"window":"5m","notify":["https://h.example/x"]}`,
		`{"name":"x","filter":"service(\"api\") { fault } AND annotation.tier = \"gold\"","metric":"p99","threshold":1.5,"for":"2m","min_requests":0}`,
		`{"name":"y","filter":"rootcause.json = #[{\"Services\":[{\"Name\":\"a\"}]}]","metric":"request_rate","comparator":"<","threshold":3,"window":60}`,
		`{"name":"z","service":{"name":"a","type":"AWS::EC2::Instance"},"group":"g","metric":"avg","threshold":0.2,"enabled":false}`,
		`{"name":"bad","filter":"service(\"api\") {","metric":"fault_rate"}`,
		`{}`, `[]`, `null`, `{"window":"-5m"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRule(b)
		if err != nil {
			return
		}
		if r.validate() != nil {
			return
		}
		enc, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal a valid rule: %v", err)
		}
		back, err := decodeRule(enc)
		if err != nil {
			t.Fatalf("decode %s: %v", enc, err)
		}
		if err := back.validate(); err != nil {
			t.Fatalf("round trip of %s no longer valid: %v", enc, err)
		}
		if !reflect.DeepEqual(r, back) {
			t.Fatalf("round trip changed the rule:\n%+v\n%+v", r, back)
		}
	})
}
