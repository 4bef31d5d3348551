package trace

import (
	"reflect"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// summaryGolden is how a summary is written to a .summary.golden file: the
// model's fields, with the trace id in its text form.
type summaryGolden struct {
	TraceID string
	*model.Summary
}

// TestSummarizeGolden checks Summarize(Dedupe(spans)) against
// testdata/<case>.summary.golden (xray-protocol.md §7.4).
func TestSummarizeGolden(t *testing.T) {
	for _, lc := range goldenCases(t) {
		t.Run(lc.name, func(t *testing.T) {
			sum := Summarize(Dedupe(lc.pointers()))
			if sum.TraceID != lc.traceID() {
				t.Errorf("TraceID = %s; want %s", sum.TraceID, lc.traceID())
			}
			if sum.Start > sum.End {
				t.Errorf("Start %v after End %v", sum.Start, sum.End)
			}
			compareGolden(t, lc, "summary", prettyJSON(t, summaryGolden{sum.TraceID.String(), &sum}))
		})
	}
}

func TestSummarizeNothing(t *testing.T) {
	if got := Summarize(nil); !reflect.DeepEqual(got, model.Summary{}) {
		t.Errorf("Summarize(nil) = %+v; want the zero summary", got)
	}
}

func TestDedupe(t *testing.T) {
	span := func(id model.SpanID, inProgress bool, tag string) *model.Span {
		return &model.Span{Root: model.Entity{ID: id, InProgress: inProgress, Name: tag}, Doc: []byte(tag)}
	}
	check := func(name string, in []*model.Span, want []string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, s := range Dedupe(in) {
				got = append(got, s.Root.Name)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Dedupe kept %q; want %q", got, want)
			}
		})
	}
	check("empty", nil, nil)
	check("one", []*model.Span{span(1, true, "a")}, []string{"a"})
	check("distinct ids keep arrival order",
		[]*model.Span{span(3, false, "c"), span(1, false, "a"), span(2, true, "b")}, []string{"c", "a", "b"})
	check("complete replaces in-progress",
		[]*model.Span{span(1, true, "open"), span(2, false, "x"), span(1, false, "closed")}, []string{"closed", "x"})
	check("in-progress never replaces complete",
		[]*model.Span{span(1, false, "closed"), span(1, true, "open")}, []string{"closed"})
	check("later complete wins",
		[]*model.Span{span(1, false, "first"), span(1, false, "second")}, []string{"second"})
	check("later in-progress wins over in-progress",
		[]*model.Span{span(1, true, "first"), span(1, true, "second")}, []string{"second"})
	check("open, closed, open again",
		[]*model.Span{span(1, true, "open"), span(1, false, "closed"), span(1, true, "reopened")}, []string{"closed"})
	in := []*model.Span{span(1, false, "a"), span(1, false, "b")}
	Dedupe(in)
	if in[0].Root.Name != "a" || in[1].Root.Name != "b" {
		t.Errorf("Dedupe changed its input slice: %q, %q", in[0].Root.Name, in[1].Root.Name)
	}
}

// TestInferredNode checks the names and types of inferred nodes
// (xray-protocol.md §7.3 step 4) for the subsegments the SDKs send.
func TestInferredNode(t *testing.T) {
	check := func(name string, e model.Entity, want model.ServiceID) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			if got := inferredNode(&e); got != want {
				t.Errorf("inferredNode = %+v; want %+v", got, want)
			}
		})
	}
	aws := func(name string, call model.AWSCall) model.Entity {
		return model.Entity{Name: name, Namespace: "aws", AWS: call}
	}
	// Node, Java v2, .NET and Go v2 (awsv2) name the subsegment after the service id.
	check("DynamoDB with table", aws("DynamoDB", model.AWSCall{Operation: "UpdateItem", TableName: "scorekeep-user"}),
		model.ServiceID{Name: "scorekeep-user", Type: "AWS::DynamoDB::Table"})
	check("DynamoDB without table", aws("DynamoDB", model.AWSCall{Operation: "ListTables"}),
		model.ServiceID{Name: "DynamoDB", Type: "AWS::DynamoDB"})
	check("SQS with queue_url", aws("SQS", model.AWSCall{Operation: "SendMessage", QueueURL: "https://sqs.us-west-2.amazonaws.com/123456789012/scorekeep-notifications"}),
		model.ServiceID{Name: "scorekeep-notifications", Type: "AWS::SQS::Queue"})
	check("SQS without queue_url", aws("SQS", model.AWSCall{Operation: "ListQueues"}),
		model.ServiceID{Name: "SQS", Type: "AWS::SQS"})
	check("S3 with bucket", aws("S3", model.AWSCall{Operation: "GetObject", Bucket: "scorekeep-assets"}),
		model.ServiceID{Name: "scorekeep-assets", Type: "AWS::S3::Bucket"})
	check("Lambda Invoke", aws("Lambda", model.AWSCall{Operation: "Invoke", Function: "random-name"}),
		model.ServiceID{Name: "random-name", Type: "AWS::Lambda"})
	check("SNS keeps its name", aws("SNS", model.AWSCall{Operation: "Publish"}),
		model.ServiceID{Name: "SNS", Type: "AWS::SNS"})
	check("other AWS service", aws("STS", model.AWSCall{Operation: "AssumeRole"}),
		model.ServiceID{Name: "STS", Type: "AWS::STS"})
	check("remote HTTP", model.Entity{Name: "api.example.com", Namespace: "remote", HTTP: model.HTTP{URL: "https://api.example.com/health"}},
		model.ServiceID{Name: "api.example.com", Type: "remote"})
	check("remote SQL", model.Entity{Name: "checkout@pg.internal", Namespace: "remote", SQL: &model.SQL{DatabaseType: "PostgreSQL"}},
		model.ServiceID{Name: "checkout@pg.internal", Type: "Database::SQL"})
	check("SQL without namespace", model.Entity{Name: "orders@mysql", SQL: &model.SQL{}},
		model.ServiceID{Name: "orders@mysql", Type: "Database::SQL"})
	check("traced HTTP without namespace", model.Entity{Name: "backend.internal", HTTP: model.HTTP{Traced: true}},
		model.ServiceID{Name: "backend.internal", Type: "remote"})
	// aws-xray-sdk-go v1 (xray.AWS) and Python (botocore) name it after the
	// lower-case endpoint prefix: see testdata/go_sdk_two_services.json.
	check("Go SDK dynamodb with table", aws("dynamodb", model.AWSCall{Operation: "GetItem", TableName: "scorekeep-user"}),
		model.ServiceID{Name: "scorekeep-user", Type: "AWS::DynamoDB::Table"})
	check("Go SDK sqs with queue_url", aws("sqs", model.AWSCall{Operation: "SendMessage", QueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/orders"}),
		model.ServiceID{Name: "orders", Type: "AWS::SQS::Queue"})
	check("Go SDK s3 with bucket", aws("s3", model.AWSCall{Operation: "GetObject", Bucket: "scorekeep-assets"}),
		model.ServiceID{Name: "scorekeep-assets", Type: "AWS::S3::Bucket"})
	check("Go SDK lambda Invoke", aws("lambda", model.AWSCall{Operation: "Invoke", Function: "random-name"}),
		model.ServiceID{Name: "random-name", Type: "AWS::Lambda"})
	check("Go SDK dynamodb without table", aws("dynamodb", model.AWSCall{Operation: "ListTables"}),
		model.ServiceID{Name: "DynamoDB", Type: "AWS::DynamoDB"})
	check("Go SDK sns", aws("sns", model.AWSCall{Operation: "Publish"}),
		model.ServiceID{Name: "SNS", Type: "AWS::SNS"})
	check("Go SDK sts", aws("sts", model.AWSCall{Operation: "AssumeRole"}),
		model.ServiceID{Name: "STS", Type: "AWS::STS"})
}
