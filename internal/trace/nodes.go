// Package trace works on whole traces: it computes a trace's summary from its
// spans and assembles the documents BatchGetTraces returns, with separately
// sent subsegments nested back under their parents and inferred segments for
// calls to uninstrumented downstreams.
package trace

import (
	"strings"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// segmentNode is the service-graph node of a segment: its name and origin.
func segmentNode(e *model.Entity) model.ServiceID {
	return model.ServiceID{Name: e.Name, Type: e.Origin, AccountID: e.AccountID}
}

// isCall reports whether a subsegment is a call to another service, which
// becomes an edge of the service graph and, when no segment of the callee
// arrives, an inferred node.
func isCall(e *model.Entity) bool {
	return e.Namespace == "aws" || e.Namespace == "remote" || e.SQL != nil || e.HTTP.Traced
}

// awsServices maps the service names SDKs give aws subsegments, in any case
// ("DynamoDB" from Node and Java, "dynamodb" from Go v1 and Python), to
// X-Ray's spelling.
var awsServices = map[string]string{
	"dynamodb": "DynamoDB", "sqs": "SQS", "s3": "S3", "lambda": "Lambda", "sns": "SNS",
	"kinesis": "Kinesis", "stepfunctions": "StepFunctions", "sfn": "StepFunctions", "ec2": "EC2",
	"sts": "STS", "secretsmanager": "SecretsManager", "ssm": "SSM", "kms": "KMS", "firehose": "Firehose",
}

// awsService returns X-Ray's name of the AWS service an aws subsegment calls.
func awsService(name string) string {
	if s, ok := awsServices[strings.ToLower(name)]; ok {
		return s
	}
	return name
}

// inferredNode names the node X-Ray infers for a call whose callee sent no
// segment, following the naming of X-Ray's service map.
func inferredNode(e *model.Entity) model.ServiceID {
	if e.Namespace == "aws" {
		svc := awsService(e.Name)
		switch {
		case svc == "DynamoDB" && e.AWS.TableName != "":
			return model.ServiceID{Name: e.AWS.TableName, Type: "AWS::DynamoDB::Table"}
		case svc == "SQS" && e.AWS.QueueURL != "":
			q := e.AWS.QueueURL
			if i := strings.LastIndexByte(q, '/'); i >= 0 {
				q = q[i+1:]
			}
			return model.ServiceID{Name: q, Type: "AWS::SQS::Queue"}
		case svc == "S3" && e.AWS.Bucket != "":
			return model.ServiceID{Name: e.AWS.Bucket, Type: "AWS::S3::Bucket"}
		case svc == "Lambda" && e.AWS.Function != "":
			return model.ServiceID{Name: e.AWS.Function, Type: "AWS::Lambda"}
		}
		return model.ServiceID{Name: svc, Type: "AWS::" + svc}
	}
	if e.SQL != nil {
		return model.ServiceID{Name: e.Name, Type: "Database::SQL"}
	}
	return model.ServiceID{Name: e.Name, Type: "remote"}
}
