package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/sampling"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
)

// FuzzSamplingOperations sends arbitrary bodies to every sampling
// operation: each answer is 200 with a JSON object, or a 4xx in X-Ray's
// error shape, never a panic or a 500.
func FuzzSamplingOperations(f *testing.F) {
	st, err := embedded.Open(f.TempDir(), embedded.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	svc, err := sampling.Open(context.Background(), sampling.Config{Objects: st.Objects()})
	if err != nil {
		f.Fatal(err)
	}
	h := New(Config{Store: st, Sampling: svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	paths := []string{"/CreateSamplingRule", "/UpdateSamplingRule", "/DeleteSamplingRule", "/GetSamplingRules",
		"/SamplingTargets", "/SamplingStatisticSummaries"}
	for i, seed := range []string{
		`{"SamplingRule":{"RuleName":"r","Priority":5,"FixedRate":0.1,"ReservoirSize":1,"ServiceName":"*","ServiceType":"*","Host":"*","HTTPMethod":"*","URLPath":"*","ResourceARN":"*","Version":1,"Attributes":{"a":"b"}}}`,
		`{"SamplingRuleUpdate":{"RuleName":"r","FixedRate":"NaN","Priority":9999}}`,
		`{"RuleName":"r"}`,
		`{"NextToken":"bzE"}`,
		`{"SamplingStatisticsDocuments":[{"RuleName":"r","ClientID":"c","RequestCount":5,"SampledCount":1,"BorrowCount":1,"Timestamp":1750000000.5}]}`,
		`{"NextToken":null}`,
	} {
		f.Add(uint8(i), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		path := paths[int(op)%len(paths)]
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %q: status %d, body %q is not a JSON object", path, body, rec.Code, rec.Body)
		}
		switch {
		case rec.Code == 200:
		case rec.Code >= 400 && rec.Code < 500 && rec.Header().Get("X-Amzn-ErrorType") != "":
		default:
			t.Fatalf("%s %q: status %d %s", path, body, rec.Code, rec.Body)
		}
	})
}
