package daemon_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	otelxray "go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/fluoro-dev/fluoro/internal/daemon"
)

// TestOTLPThroughDaemon: the OpenTelemetry Go SDK exports over OTLP/gRPC and
// OTLP/HTTP to `fluoro daemon`, which maps the spans at the edge and relays
// them to the server like the SDKs' segments; the AWS SDK reads them back.
func TestOTLPThroughDaemon(t *testing.T) {
	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startServer(t, filepath.Join(dir, "server"), httpAddr)
	defer s.Shutdown(context.Background())
	d, err := daemon.Start(testDaemon(t, "http://"+httpAddr), testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	ctx := context.Background()
	res, err := resource.New(ctx, resource.WithAttributes(semconv.ServiceName("edge-otel")))
	if err != nil {
		t.Fatal(err)
	}
	exporters := map[string]func() (*otlptrace.Exporter, error){
		"grpc": func() (*otlptrace.Exporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(d.OTLPGRPCAddr().String()), otlptracegrpc.WithInsecure())
		},
		"http": func() (*otlptrace.Exporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(d.OTLPHTTPAddr().String()), otlptracehttp.WithInsecure())
		},
	}
	ids := map[string]string{}
	for name, mk := range exporters {
		exp, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res),
			sdktrace.WithIDGenerator(otelxray.NewIDGenerator()))
		tr := tp.Tracer("daemon-test")
		c, root := tr.Start(ctx, "GET /orders", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 200),
				attribute.String("transport", name)))
		_, child := tr.Start(c, "SELECT orders", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("db.system", "postgresql"), attribute.String("db.name", "shop")))
		child.End()
		root.End()
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatalf("%s exporter: %v", name, err)
		}
		tid := root.SpanContext().TraceID().String()
		ids[name] = "1-" + tid[:8] + "-" + tid[8:]
	}
	client := apiClient("http://" + httpAddr)
	for name, id := range ids {
		eventually(t, name+" trace through the daemon", func() error {
			out, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{id}})
			if err != nil {
				return err
			}
			if len(out.Traces) != 1 || len(out.Traces[0].Segments) == 0 {
				return fmt.Errorf("trace %s not stored yet", id)
			}
			doc := aws.ToString(out.Traces[0].Segments[0].Document)
			for _, want := range []string{`"name":"edge-otel"`, `"database_type":"postgresql"`, `"transport":"` + name + `"`} {
				if !strings.Contains(doc, want) {
					return fmt.Errorf("trace %s document lacks %s: %s", id, want, doc)
				}
			}
			return nil
		})
	}
	m := scrape(t, "http://"+d.TCPAddr().String()+"/metrics")
	for _, tr := range []string{"otlp-grpc", "otlp-http"} {
		if got := m[`fluoro_daemon_otlp_spans_received_total{transport="`+tr+`"}`]; got != 2 {
			t.Errorf("daemon counted %v spans over %s, want 2", got, tr)
		}
	}
}
