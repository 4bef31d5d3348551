package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// result is what became of one PutTraceSegments call.
type result int

const (
	resultSent  result = iota // the server answered 200; rejected documents counted
	resultRetry               // no answer, 429 or 5xx: try again later
	resultDrop                // the server refused the call itself (4xx): dropped, counted
)

// upstream calls the Fluoro server's X-Ray API. Requests are unsigned: the
// Fluoro server does not check SigV4.
type upstream struct {
	segmentsURL  string
	telemetryURL string
	client       *http.Client
	m            *metrics
	log          *slog.Logger
	userAgent    string
	bufs         sync.Pool
	lastLog      atomic.Int64 // unix nanos of the last rate-limited log line
}

func newUpstream(cfg Config, m *metrics, log *slog.Logger, version string) *upstream {
	base := strings.TrimRight(cfg.Endpoint, "/")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.Concurrency + 2
	tr.MaxConnsPerHost = 0
	return &upstream{
		segmentsURL:  base + "/TraceSegments",
		telemetryURL: base + "/TelemetryRecords",
		client:       &http.Client{Transport: tr, Timeout: cfg.RequestTimeout},
		m:            m,
		log:          log,
		userAgent: fmt.Sprintf("fluoro-daemon/%s xray-agent/xray-daemon/%s exec-env/%s OS/%s-%s",
			version, version, execEnv(), runtime.GOOS, runtime.GOARCH),
		bufs: sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
}

func execEnv() string {
	if e := os.Getenv("AWS_EXECUTION_ENV"); e != "" {
		return e
	}
	return "UNKNOWN"
}

// put sends one PutTraceSegments body holding n documents and counts the
// outcome: documents sent, documents the server rejected (dropped, by error
// code), failed calls by kind.
func (u *upstream) put(ctx context.Context, body []byte, n int) result {
	status, resp, err := u.post(ctx, u.segmentsURL, body)
	defer u.putBuf(resp)
	if err != nil {
		return resultRetry
	}
	switch {
	case status == http.StatusOK:
	case status == http.StatusTooManyRequests || status >= 500:
		return resultRetry
	default:
		u.m.drop(dropBatchInvalid, n)
		u.m.teleRejected.Add(int64(n))
		u.logf("server refused a batch", "status", status, "documents", n, "body", truncateBytes(resp.Bytes(), 300))
		return resultDrop
	}
	u.m.batches.Inc()
	rejected := 0
	if bytes.Contains(resp.Bytes(), []byte(`"ErrorCode"`)) {
		var out struct {
			UnprocessedTraceSegments []struct {
				Id, ErrorCode, Message *string
			}
		}
		if err := json.Unmarshal(resp.Bytes(), &out); err == nil {
			for _, e := range out.UnprocessedTraceSegments {
				code := "Unknown"
				if e.ErrorCode != nil {
					code = *e.ErrorCode
				}
				u.m.unprocessed.WithLabelValues(errorCodeLabel(code)).Inc()
				rejected++
			}
			if rejected > 0 {
				first := out.UnprocessedTraceSegments[0]
				u.logf("server rejected documents", "rejected", rejected, "of", n,
					"id", deref(first.Id), "code", deref(first.ErrorCode), "message", deref(first.Message))
			}
		}
	}
	rejected = min(rejected, n)
	u.m.drop(dropUnprocessed, rejected)
	u.m.teleRejected.Add(int64(rejected))
	u.m.sent.Add(float64(n - rejected))
	u.m.teleSent.Add(int64(n - rejected))
	return resultSent
}

// post sends body and returns the status and response body (a pooled
// buffer, to give back with putBuf). A transport error or a status of 400 or
// more is counted as a backend error.
func (u *upstream) post(ctx context.Context, url string, body []byte) (int, *bytes.Buffer, error) {
	buf := u.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, buf, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", u.userAgent)
	req.Header.Set("X-Amzn-Xray-Timestamp", strconv.FormatFloat(float64(time.Now().UnixNano())/1e9, 'f', 9, 64))
	resp, err := u.client.Do(req)
	if err != nil {
		kind := classify(err)
		u.m.backendError(kind)
		u.logf("call to server failed", "url", url, "kind", kind, "err", err)
		return 0, buf, err
	}
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, 16<<20))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		u.m.backendError(errHTTP5xx)
		u.logf("server error", "url", url, "status", resp.StatusCode, "body", truncateBytes(buf.Bytes(), 300))
	case resp.StatusCode >= 400:
		u.m.backendError(errHTTP4xx)
	}
	if err != nil && resp.StatusCode == http.StatusOK {
		u.m.backendError(errOther)
		return 0, buf, fmt.Errorf("read response: %w", err)
	}
	return resp.StatusCode, buf, nil
}

func (u *upstream) putBuf(b *bytes.Buffer) {
	if b != nil && b.Cap() <= 1<<20 {
		u.bufs.Put(b)
	}
}

// logf logs at most one line a second, so an outage does not flood the log.
func (u *upstream) logf(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := u.lastLog.Load()
	if now-last < int64(time.Second) || !u.lastLog.CompareAndSwap(last, now) {
		return
	}
	u.log.Warn(msg, args...)
}

// classify names a transport error as X-Ray's BackendConnectionErrors do.
func classify(err error) string {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return errRefused
	case errors.As(err, &dns):
		return errUnknownHost
	}
	return errOther
}

// errorCodeLabel bounds the code label to X-Ray's own codes.
func errorCodeLabel(code string) string {
	if len(code) > 40 {
		return "Other"
	}
	for _, c := range code {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return "Other"
		}
	}
	return code
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func truncateBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
