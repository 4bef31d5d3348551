package daemon

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newHandler serves the daemon's TCP port: /healthz, /metrics, and every
// other path proxied to the server, as the X-Ray daemon's TCP proxy forwards
// the SDKs' sampling calls (POST /GetSamplingRules, POST /SamplingTargets)
// and any other X-Ray API call to its endpoint. Requests go upstream
// unsigned, bodies and headers untouched but for hop-by-hop ones.
func newHandler(target *url.URL, transport http.RoundTripper, reg prometheus.Registerer, gather prometheus.Gatherer, ready func() bool) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fluoro_daemon_proxy_requests_total",
		Help: "Requests forwarded to the server on the TCP port, by path and status (502: the server did not answer)."},
		[]string{"path", "code"})
	reg.MustRegister(requests)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
		},
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			requests.WithLabelValues(pathLabel(resp.Request.URL.Path), strconv.Itoa(resp.StatusCode)).Inc()
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			requests.WithLabelValues(pathLabel(r.URL.Path), "502").Inc()
			b, _ := json.Marshal(map[string]string{"__type": "ServiceUnavailableException",
				"Message": "fluoro daemon: the server at " + target.String() + " did not answer: " + err.Error()})
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-ErrorType", "ServiceUnavailableException")
			w.WriteHeader(http.StatusBadGateway)
			w.Write(b)
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	mux.Handle("/", proxy)
	return mux
}

// pathLabel bounds the path label to the X-Ray API's paths.
func pathLabel(p string) string {
	switch p {
	case "/GetSamplingRules", "/SamplingTargets", "/SamplingStatisticSummaries", "/TraceSegments",
		"/TelemetryRecords", "/Traces", "/TraceSummaries", "/ServiceGraph", "/TraceGraph", "/Groups",
		"/GetGroup", "/TraceIds", "/EncryptionConfig", "/PutEncryptionConfig", "/CreateSamplingRule",
		"/UpdateSamplingRule", "/DeleteSamplingRule", "/InsightSummaries":
		return p
	}
	return "other"
}
