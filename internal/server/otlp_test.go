package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"
	otelxray "go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/server"
	fluorotrace "github.com/fluoro-dev/fluoro/internal/trace"
)

// otelProvider is an OpenTelemetry SDK tracer provider for service name,
// exporting synchronously through exp.
func otelProvider(t *testing.T, name string, exp sdktrace.SpanExporter, xrayIDs bool) *sdktrace.TracerProvider {
	t.Helper()
	res, err := resource.New(context.Background(), resource.WithAttributes(semconv.ServiceName(name),
		semconv.ServiceVersion("2.0.1"), semconv.TelemetrySDKLanguageGo, semconv.TelemetrySDKName("opentelemetry")))
	if err != nil {
		t.Fatal(err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithSyncer(exp), sdktrace.WithResource(res)}
	if xrayIDs {
		opts = append(opts, sdktrace.WithIDGenerator(otelxray.NewIDGenerator()))
	}
	return sdktrace.NewTracerProvider(opts...)
}

// exporters returns the OTLP exporters the test sends through: gRPC and
// HTTP/protobuf, each plain and gzip-compressed.
func exporters(t *testing.T, s *server.Server) map[string]func() (*otlptrace.Exporter, error) {
	ctx := context.Background()
	g, h := s.OTLPGRPCAddr().String(), s.OTLPHTTPAddr().String()
	return map[string]func() (*otlptrace.Exporter, error){
		"grpc": func() (*otlptrace.Exporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(g), otlptracegrpc.WithInsecure())
		},
		"grpc-gzip": func() (*otlptrace.Exporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(g), otlptracegrpc.WithInsecure(),
				otlptracegrpc.WithCompressor("gzip"))
		},
		"http": func() (*otlptrace.Exporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(h), otlptracehttp.WithInsecure())
		},
		"http-gzip": func() (*otlptrace.Exporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(h), otlptracehttp.WithInsecure(),
				otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		},
	}
}

// otlpDoc is the part of a segment document the tests look at.
type otlpDoc struct {
	TraceID   string `json:"trace_id"`
	ID        string `json:"id"`
	ParentID  string `json:"parent_id"`
	Type      string `json:"type"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Origin    string `json:"origin"`
	Fault     bool   `json:"fault"`
	Error     bool   `json:"error"`
	HTTP      struct {
		Request struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
		Response struct {
			Status int `json:"status"`
		} `json:"response"`
	} `json:"http"`
	Cause struct {
		Exceptions []struct {
			Type    string `json:"type"`
			Message string `json:"message"`
			Stack   []struct {
				Path  string `json:"path"`
				Label string `json:"label"`
				Line  int    `json:"line"`
			} `json:"stack"`
		} `json:"exceptions"`
	} `json:"cause"`
	Annotations map[string]any `json:"annotations"`
	Service     struct {
		Version string `json:"version"`
	} `json:"service"`
	Subsegments []otlpDoc `json:"subsegments"`
}

// traceDocs fetches a trace with BatchGetTraces and returns its segment
// documents, with subsegments flattened out of their parents.
func fetchOTLPTrace(ctx context.Context, client *awsxray.Client, id string) ([]otlpDoc, error) {
	out, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{id}})
	if err != nil {
		return nil, err
	}
	if len(out.Traces) != 1 {
		return nil, fmt.Errorf("BatchGetTraces returned %d traces (unprocessed %v)", len(out.Traces), out.UnprocessedTraceIds)
	}
	var docs []otlpDoc
	var flatten func(d otlpDoc)
	flatten = func(d otlpDoc) {
		docs = append(docs, d)
		for _, s := range d.Subsegments {
			s.ParentID = d.ID
			flatten(s)
		}
	}
	for _, seg := range out.Traces[0].Segments {
		var d otlpDoc
		if err := json.Unmarshal([]byte(aws.ToString(seg.Document)), &d); err != nil {
			return nil, err
		}
		flatten(d)
	}
	return docs, nil
}

func otlpDocNamed(docs []otlpDoc, name string) *otlpDoc {
	for i := range docs {
		if docs[i].Name == name {
			return &docs[i]
		}
	}
	return nil
}

// TestOTelSDKToAWSClient sends traces from the OpenTelemetry Go SDK through
// each OTLP exporter (gRPC and HTTP, plain and gzip) and reads them back with
// the AWS SDK's X-Ray client: searched by a mapped annotation and HTTP
// field, and fetched whole with the mapped fields.
func TestOTelSDKToAWSClient(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	ctx := context.Background()
	client := apiClient(s)

	traceIDs := map[string]trace.TraceID{}
	for variant, newExp := range exporters(t, s) {
		exp, err := newExp()
		if err != nil {
			t.Fatalf("%s exporter: %v", variant, err)
		}
		// Random W3C ids for the gRPC exporters, X-Ray ids for HTTP: both
		// must come back as one trace.
		tp := otelProvider(t, "otel-"+variant, exp, strings.HasPrefix(variant, "http"))
		tr := tp.Tracer("fluoro-test")
		sctx, server := tr.Start(ctx, "GET /items/{id}", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", "GET"), attribute.String("url.scheme", "http"),
			attribute.String("server.address", "shop.local"), attribute.String("url.path", "/items/7"),
			attribute.Int("http.response.status_code", 500), attribute.String("customer", "acme-"+variant),
			attribute.Int("items", 7)))
		_, call := tr.Start(sctx, "GET", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("http.request.method", "GET"), attribute.String("url.full", "http://stock.internal:8080/stock/7"),
			attribute.String("server.address", "stock.internal"), attribute.Int("http.response.status_code", 200)))
		call.End()
		_, db := tr.Start(sctx, "SELECT items", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("db.system", "postgresql"), attribute.String("db.name", "shop"),
			attribute.String("db.statement", "SELECT * FROM items WHERE id = $1"), attribute.String("server.address", "pg.internal")))
		db.RecordError(errors.New("connection reset"), trace.WithStackTrace(true))
		db.SetStatus(codes.Error, "connection reset")
		db.End()
		server.End()
		traceIDs[variant] = server.SpanContext().TraceID()
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatalf("%s: export: %v", variant, err)
		}
	}

	for variant, otelID := range traceIDs {
		t.Run(variant, func(t *testing.T) {
			var sum types.TraceSummary
			filter := fmt.Sprintf(`annotation.customer = "acme-%s" AND http.status = 500`, variant)
			eventually(t, "GetTraceSummaries finds the trace by annotation and HTTP status", func() error {
				out, err := client.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{
					StartTime: aws.Time(time.Now().Add(-5 * time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)),
					FilterExpression: aws.String(filter),
				})
				if err != nil {
					return err
				}
				if len(out.TraceSummaries) != 1 {
					return fmt.Errorf("%q: %d summaries, want 1", filter, len(out.TraceSummaries))
				}
				sum = out.TraceSummaries[0]
				return nil
			})
			id := aws.ToString(sum.Id)
			hex := otelID.String()
			if strings.HasPrefix(variant, "http") {
				// X-Ray ids map byte for byte.
				if want := "1-" + hex[:8] + "-" + hex[8:]; id != want {
					t.Errorf("trace id %s, want %s", id, want)
				}
			} else if id[11:] == hex[8:] || id[len(id)-16:] != hex[16:] {
				// Random ids keep their last 8 bytes and fold the first 4 into bytes 4–7.
				t.Errorf("random W3C id %s mapped to %s", hex, id)
			}
			if !aws.ToBool(sum.HasFault) || sum.Http == nil || aws.ToInt32(sum.Http.HttpStatus) != 500 ||
				aws.ToString(sum.Http.HttpMethod) != "GET" || aws.ToString(sum.Http.HttpURL) != "http://shop.local/items/7" {
				t.Errorf("summary: fault %v http %+v", aws.ToBool(sum.HasFault), sum.Http)
			}

			docs, err := fetchOTLPTrace(ctx, client, id)
			if err != nil {
				t.Fatal(err)
			}
			seg := otlpDocNamed(docs, "otel-"+variant)
			if seg == nil || seg.Type != "" || seg.ParentID != "" {
				t.Fatalf("no root segment named otel-%s in %+v", variant, docs)
			}
			if seg.Service.Version != "2.0.1" || seg.Annotations["customer"] != "acme-"+variant || seg.Annotations["items"] != 7.0 {
				t.Errorf("segment: service %+v annotations %v", seg.Service, seg.Annotations)
			}
			stock := otlpDocNamed(docs, "stock.internal")
			if stock == nil || stock.ParentID != seg.ID || stock.Namespace != "remote" ||
				stock.HTTP.Request.URL != "http://stock.internal:8080/stock/7" || stock.HTTP.Response.Status != 200 {
				t.Errorf("http call subsegment: %+v", stock)
			}
			pg := otlpDocNamed(docs, "shop@pg.internal")
			if pg == nil || pg.ParentID != seg.ID || pg.Namespace != "remote" || !pg.Fault || len(pg.Cause.Exceptions) != 1 {
				t.Fatalf("database subsegment: %+v", pg)
			}
			x := pg.Cause.Exceptions[0]
			if x.Type != "*errors.errorString" || x.Message != "connection reset" || len(x.Stack) == 0 ||
				!strings.HasSuffix(x.Stack[0].Path, ".go") || x.Stack[0].Line == 0 {
				t.Errorf("exception: %+v", x)
			}
		})
	}
}

// TestMixedXRayAndOTelTrace: a service instrumented with the X-Ray SDK calls
// an OpenTelemetry-instrumented service over HTTP. The X-Ray trace header
// crosses, the OpenTelemetry side takes it with the X-Ray propagator, and
// Fluoro holds one trace whose OTel segment's parent is the X-Ray SDK's
// remote subsegment.
func TestMixedXRayAndOTelTrace(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Shutdown(context.Background())
	ctx := context.Background()

	rules, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2, "default": {"fixed_target": 0, "rate": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := xray.Configure(xray.Config{DaemonAddr: s.UDPAddr().String(), SamplingStrategy: rules}); err != nil {
		t.Fatal(err)
	}
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.OTLPGRPCAddr().String()), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := otelProvider(t, "inventory", exp, true)
	defer tp.Shutdown(ctx)
	prop := propagation.TextMapPropagator(otelxray.Propagator{})
	tr := tp.Tracer("inventory")

	inventory := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		_, span := tr.Start(ctx, "GET /stock", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
			attribute.String("url.scheme", "http"), attribute.String("server.address", r.Host),
			attribute.Int("http.response.status_code", 200)))
		defer span.End()
		io.WriteString(w, "7")
	}))
	defer inventory.Close()
	traced := xray.Client(nil)
	shop := httptest.NewServer(xray.Handler(xray.NewFixedSegmentNamer("shop"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", inventory.URL+"/stock", nil)
		resp, err := traced.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})))
	defer shop.Close()

	resp, err := http.Get(shop.URL + "/buy")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	root := strings.TrimPrefix(strings.Split(resp.Header.Get("X-Amzn-Trace-Id"), ";")[0], "Root=")
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}

	client := apiClient(s)
	var docs []otlpDoc
	eventually(t, "BatchGetTraces returns both services' segments in one trace", func() error {
		docs, err = fetchOTLPTrace(ctx, client, root)
		if err != nil {
			return err
		}
		if otlpDocNamed(docs, "shop") == nil || otlpDocNamed(docs, "inventory") == nil {
			return fmt.Errorf("trace %s has %d documents, not yet both services", root, len(docs))
		}
		return nil
	})
	shopSeg, inv := otlpDocNamed(docs, "shop"), otlpDocNamed(docs, "inventory")
	var call *otlpDoc
	for i := range docs {
		if docs[i].Namespace == "remote" && docs[i].ParentID == shopSeg.ID {
			call = &docs[i]
		}
	}
	if call == nil {
		t.Fatalf("the X-Ray SDK's segment has no remote subsegment: %+v", docs)
	}
	if inv.ParentID != call.ID || inv.Type != "" {
		t.Errorf("OTel segment parent %q type %q, want the X-Ray subsegment %s", inv.ParentID, inv.Type, call.ID)
	}
	if inv.HTTP.Response.Status != 200 || !strings.HasSuffix(inv.HTTP.Request.URL, "/stock") {
		t.Errorf("OTel segment http: %+v", inv.HTTP)
	}
	// The trace's graph (what the service map aggregates) has an edge from
	// the X-Ray SDK service to the OpenTelemetry one, not an inferred node.
	tid, err := model.ParseTraceID(root)
	if err != nil {
		t.Fatal(err)
	}
	spans, err := fluorotrace.Load(ctx, s.Store(), tid)
	if err != nil {
		t.Fatal(err)
	}
	g := fluorotrace.BuildGraph(fluorotrace.Dedupe(spans))
	var edge bool
	for _, e := range g.Edges {
		if e.From.ID.Name == "shop" && e.To.ID.Name == "inventory" && !e.To.Inferred {
			edge = true
		}
	}
	if !edge {
		for _, e := range g.Edges {
			t.Logf("edge %+v -> %+v (inferred %v)", e.From.ID, e.To.ID, e.To.Inferred)
		}
		t.Error("the trace graph has no edge shop -> inventory")
	}

	// The service map (GetServiceGraph) has both services as nodes and the
	// edge between them.
	eventually(t, "GetServiceGraph joins the X-Ray SDK service and the OTel one", func() error {
		out, err := client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{
			StartTime: aws.Time(time.Now().Add(-5 * time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)),
		})
		if err != nil {
			return err
		}
		ids := map[string]int32{} // service nodes by name; the client node also bears the root's name
		for _, n := range out.Services {
			if aws.ToString(n.Type) != "client" {
				ids[aws.ToString(n.Name)] = aws.ToInt32(n.ReferenceId)
			}
		}
		shopID, ok1 := ids["shop"]
		invID, ok2 := ids["inventory"]
		if !ok1 || !ok2 {
			return fmt.Errorf("service graph nodes %v, want shop and inventory", ids)
		}
		for _, n := range out.Services {
			if aws.ToInt32(n.ReferenceId) != shopID {
				continue
			}
			for _, e := range n.Edges {
				if aws.ToInt32(e.ReferenceId) == invID {
					return nil
				}
			}
		}
		var desc []string
		for _, n := range out.Services {
			for _, e := range n.Edges {
				desc = append(desc, fmt.Sprintf("%s(%d) -> %d", aws.ToString(n.Name), aws.ToInt32(n.ReferenceId), aws.ToInt32(e.ReferenceId)))
			}
		}
		return fmt.Errorf("no edge shop -> inventory among nodes %v, edges %v", ids, desc)
	})

	// The summary names both services: one trace, as the service map will draw it.
	eventually(t, "the summary lists both services", func() error {
		out, err := client.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{
			StartTime: aws.Time(time.Now().Add(-5 * time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)),
			FilterExpression: aws.String(`service("inventory") AND service("shop")`),
		})
		if err != nil {
			return err
		}
		if len(out.TraceSummaries) != 1 || aws.ToString(out.TraceSummaries[0].Id) != root {
			return fmt.Errorf("%d summaries for both services, want trace %s", len(out.TraceSummaries), root)
		}
		return nil
	})
}
