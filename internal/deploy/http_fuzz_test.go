package deploy

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
)

// FuzzDeploymentBody: any body either is rejected with an error or yields a
// marker that validates, and a valid marker, encoded as the API answers it,
// reads back to the same marker (what the console does on Edit).
func FuzzDeploymentBody(f *testing.F) {
	for _, s := range []string{
		`{"service":"checkout","version":"2.0.0"}`,
		`{"id":"a-1","service":"s","version":"v","environment":"prod","time":"2026-11-26T14:05:00.123+01:00","description":"x\ny","commit":"abc","url":"https://ci/1","author":"ana","updated":"2026-11-26T14:05:00Z"}`,
		`{"service":"s","version":"v","time":"yesterday"}`,
		`{"service":"s","version":"v","url":"javascript:alert(1)"}`,
		`{"service":"\u0000","version":"v"}`,
		`{} {}`, `[`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := readDeployment(httptest.NewRequest("POST", Path, bytes.NewReader(body)))
		if err != nil {
			return
		}
		if err := d.Validate(now); err != nil {
			return
		}
		enc, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal %+v: %v", d, err)
		}
		back, err := readDeployment(httptest.NewRequest("PUT", Path+"/x", bytes.NewReader(enc)))
		if err != nil {
			t.Fatalf("a valid marker does not read back: %s: %v", enc, err)
		}
		if err := back.Validate(now); err != nil {
			t.Fatalf("a valid marker read back is invalid: %s: %v", enc, err)
		}
		back.Updated = d.Updated
		if !reflect.DeepEqual(back, d) {
			t.Fatalf("round trip changed the marker:\n%+v\n%+v", d, back)
		}
	})
}

// FuzzThresholds: any query either is rejected or gives thresholds that
// validate.
func FuzzThresholds(f *testing.F) {
	for _, s := range []string{"", "window=5m&min_requests=10", "window=1e300", "latency_slack=-1", "max_p99_increase=NaN", "window=60"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		th, err := ParseThresholds(q)
		if err == nil {
			if err := th.Validate(); err != nil {
				t.Fatalf("%q parsed to invalid thresholds %+v: %v", raw, th, err)
			}
		}
	})
}
