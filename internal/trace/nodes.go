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

// inferredNode names the node X-Ray infers for a call whose callee sent no
// segment, following the naming of X-Ray's service map.
func inferredNode(e *model.Entity) model.ServiceID {
	if e.Namespace == "aws" {
		switch {
		case e.Name == "DynamoDB" && e.AWS.TableName != "":
			return model.ServiceID{Name: e.AWS.TableName, Type: "AWS::DynamoDB::Table"}
		case e.Name == "SQS" && e.AWS.QueueURL != "":
			q := e.AWS.QueueURL
			if i := strings.LastIndexByte(q, '/'); i >= 0 {
				q = q[i+1:]
			}
			return model.ServiceID{Name: q, Type: "AWS::SQS::Queue"}
		case e.Name == "S3" && e.AWS.Bucket != "":
			return model.ServiceID{Name: e.AWS.Bucket, Type: "AWS::S3::Bucket"}
		case e.Name == "Lambda" && e.AWS.Function != "":
			return model.ServiceID{Name: e.AWS.Function, Type: "AWS::Lambda"}
		}
		return model.ServiceID{Name: e.Name, Type: "AWS::" + e.Name}
	}
	if e.SQL != nil {
		return model.ServiceID{Name: e.Name, Type: "Database::SQL"}
	}
	return model.ServiceID{Name: e.Name, Type: "remote"}
}
