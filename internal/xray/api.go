package xray

import (
	"github.com/fluoro-dev/fluoro/internal/model"
)

// The X-Ray REST API's request and response shapes, as the AWS SDKs
// serialise them (member names are the model's PascalCase names; timestamps
// are epoch seconds as JSON numbers).

// PutTraceSegmentsInput is the body of POST /TraceSegments.
type PutTraceSegmentsInput struct {
	TraceSegmentDocuments []string
}

// PutTraceSegmentsOutput answers POST /TraceSegments.
type PutTraceSegmentsOutput struct {
	UnprocessedTraceSegments []UnprocessedTraceSegment
}

// UnprocessedTraceSegment is one rejected document.
type UnprocessedTraceSegment struct {
	Id        string `json:",omitempty"`
	ErrorCode string
	Message   string
}

// BatchGetTracesInput is the body of POST /Traces.
type BatchGetTracesInput struct {
	TraceIds  []string
	NextToken *string
}

// BatchGetTracesOutput answers POST /Traces.
type BatchGetTracesOutput struct {
	Traces              []Trace
	UnprocessedTraceIds []string
	NextToken           *string `json:",omitempty"`
}

// Trace is one trace of BatchGetTraces.
type Trace struct {
	Id            string
	Duration      float64
	LimitExceeded bool
	Segments      []Segment
}

// Segment is one document of a Trace; Document is the JSON as a string.
type Segment struct {
	Id       string
	Document string
}

// GetTraceSummariesInput is the body of POST /TraceSummaries.
type GetTraceSummariesInput struct {
	StartTime        *float64
	EndTime          *float64
	TimeRangeType    string
	Sampling         *bool
	SamplingStrategy *SamplingStrategy
	FilterExpression *string
	NextToken        *string
}

// SamplingStrategy asks GetTraceSummaries for a sample of the results.
type SamplingStrategy struct {
	Name  string
	Value *float64
}

// GetTraceSummariesOutput answers POST /TraceSummaries.
type GetTraceSummariesOutput struct {
	TraceSummaries       []TraceSummary
	ApproximateTime      float64
	TracesProcessedCount int64
	NextToken            *string `json:",omitempty"`
}

// TraceSummary is X-Ray's summary of one trace.
type TraceSummary struct {
	Id                     string
	StartTime              float64
	Duration               float64
	ResponseTime           float64
	HasFault               bool
	HasError               bool
	HasThrottle            bool
	IsPartial              bool
	Http                   HTTP
	Annotations            map[string][]ValueWithServiceIds
	Users                  []TraceUser
	ServiceIds             []ServiceID
	ResourceARNs           []ResourceARNDetail
	InstanceIds            []InstanceIDDetail
	AvailabilityZones      []AvailabilityZoneDetail
	EntryPoint             *ServiceID `json:",omitempty"`
	FaultRootCauses        []RootCause
	ErrorRootCauses        []RootCause
	ResponseTimeRootCauses []RootCause
	Revision               int
	MatchedEventTime       *float64 `json:",omitempty"`
	// SampledBy is Fluoro's: the tail-sampling policy that kept the trace.
	// X-Ray has no such field; the AWS SDKs ignore it.
	SampledBy string `json:",omitempty"`
}

// HTTP is a summary's root-segment http information.
type HTTP struct {
	HttpURL    string `json:",omitempty"`
	HttpStatus int    `json:",omitempty"`
	HttpMethod string `json:",omitempty"`
	UserAgent  string `json:",omitempty"`
	ClientIp   string `json:",omitempty"`
}

// ValueWithServiceIds is one annotation value and the services that set it.
type ValueWithServiceIds struct {
	AnnotationValue AnnotationValue
	ServiceIds      []ServiceID
}

// AnnotationValue holds exactly one of its members.
type AnnotationValue struct {
	NumberValue  *float64 `json:",omitempty"`
	BooleanValue *bool    `json:",omitempty"`
	StringValue  *string  `json:",omitempty"`
}

// TraceUser is a user and the services that recorded it.
type TraceUser struct {
	UserName   string
	ServiceIds []ServiceID
}

// ServiceID identifies a service-graph node.
type ServiceID struct {
	Name      string
	Names     []string
	AccountId string `json:",omitempty"`
	Type      string `json:",omitempty"`
}

// RootCause is X-Ray's FaultRootCause, ErrorRootCause or
// ResponseTimeRootCause (one shape: the members of the others are omitted).
type RootCause struct {
	Services        []RootCauseService
	ClientImpacting bool
}

// RootCauseService is one service of a root-cause chain.
type RootCauseService struct {
	Name       string
	Names      []string
	Type       string `json:",omitempty"`
	AccountId  string `json:",omitempty"`
	EntityPath []RootCauseEntity
	Inferred   bool
}

// RootCauseEntity is one entity of a root-cause chain: Exceptions for fault
// and error root causes, Coverage for response time.
type RootCauseEntity struct {
	Name       string
	Exceptions []RootCauseException `json:",omitempty"`
	Coverage   *float64             `json:",omitempty"`
	Remote     bool
}

// RootCauseException is an exception of a root-cause entity.
type RootCauseException struct {
	Name    string
	Message string
}

// RootCausesOf converts root causes to the API shape; coverage selects the
// response-time form (Coverage) over the fault and error form (Exceptions).
func RootCausesOf(list []model.RootCause, coverage bool) []RootCause {
	out := []RootCause{}
	for _, rc := range list {
		r := RootCause{ClientImpacting: rc.ClientImpacting, Services: []RootCauseService{}}
		for _, svc := range rc.Services {
			s := RootCauseService{Name: svc.ID.Name, Names: []string{svc.ID.Name}, Type: svc.ID.Type,
				AccountId: svc.ID.AccountID, Inferred: svc.Inferred, EntityPath: []RootCauseEntity{}}
			for _, e := range svc.EntityPath {
				ent := RootCauseEntity{Name: e.Name, Remote: e.Remote}
				if coverage {
					c := e.Coverage
					ent.Coverage = &c
				} else {
					ent.Exceptions = []RootCauseException{}
					for _, x := range e.Exceptions {
						ent.Exceptions = append(ent.Exceptions, RootCauseException{Name: x.Type, Message: x.Message})
					}
				}
				s.EntityPath = append(s.EntityPath, ent)
			}
			r.Services = append(r.Services, s)
		}
		out = append(out, r)
	}
	return out
}

// ResourceARNDetail, InstanceIDDetail and AvailabilityZoneDetail wrap the
// summary's lists of resources.
type (
	ResourceARNDetail      struct{ ARN string }
	InstanceIDDetail       struct{ Id string }
	AvailabilityZoneDetail struct{ Name string }
)

// ServiceIDOf converts a model service id.
func ServiceIDOf(s model.ServiceID) ServiceID {
	return ServiceID{Name: s.Name, Names: []string{s.Name}, AccountId: s.AccountID, Type: s.Type}
}

func serviceIDs(list []model.ServiceID) []ServiceID {
	out := make([]ServiceID, len(list))
	for i, s := range list {
		out[i] = ServiceIDOf(s)
	}
	return out
}

// SummaryOf converts a stored summary to the API shape.
func SummaryOf(s *model.Summary) TraceSummary {
	out := TraceSummary{
		Id:           s.TraceID.String(),
		StartTime:    s.Start,
		Duration:     s.Duration(),
		ResponseTime: s.ResponseTime,
		HasFault:     s.HasFault,
		HasError:     s.HasError,
		HasThrottle:  s.HasThrottle,
		IsPartial:    s.IsPartial,
		Http: HTTP{HttpURL: s.HTTP.URL, HttpStatus: s.HTTP.Status, HttpMethod: s.HTTP.Method,
			UserAgent: s.HTTP.UserAgent, ClientIp: s.HTTP.ClientIP},
		Annotations:            map[string][]ValueWithServiceIds{},
		Users:                  []TraceUser{},
		ServiceIds:             serviceIDs(s.Services),
		ResourceARNs:           []ResourceARNDetail{},
		InstanceIds:            []InstanceIDDetail{},
		AvailabilityZones:      []AvailabilityZoneDetail{},
		Revision:               s.Revision,
		SampledBy:              s.SampledBy,
		FaultRootCauses:        RootCausesOf(s.FaultRootCauses, false),
		ErrorRootCauses:        RootCausesOf(s.ErrorRootCauses, false),
		ResponseTimeRootCauses: RootCausesOf(s.ResponseTimeRootCauses, true),
	}
	for _, a := range s.Annotations {
		var v AnnotationValue
		val := a.Value // a copy: the summary's memory may be reused after this call
		switch val.Kind {
		case model.String:
			v.StringValue = &val.Str
		case model.Number:
			v.NumberValue = &val.Num
		case model.Bool:
			v.BooleanValue = &val.Bool
		}
		out.Annotations[a.Key] = append(out.Annotations[a.Key], ValueWithServiceIds{AnnotationValue: v, ServiceIds: serviceIDs(a.Services)})
	}
	for _, u := range s.Users {
		out.Users = append(out.Users, TraceUser{UserName: u.Name, ServiceIds: serviceIDs(u.Services)})
	}
	for _, a := range s.ResourceARNs {
		out.ResourceARNs = append(out.ResourceARNs, ResourceARNDetail{a})
	}
	for _, id := range s.InstanceIDs {
		out.InstanceIds = append(out.InstanceIds, InstanceIDDetail{id})
	}
	for _, z := range s.AvailabilityZones {
		out.AvailabilityZones = append(out.AvailabilityZones, AvailabilityZoneDetail{z})
	}
	if s.EntryPoint != nil {
		ep := ServiceIDOf(*s.EntryPoint)
		out.EntryPoint = &ep
	}
	return out
}

// ErrorBody is the JSON body of an API error. The message is sent under
// both spellings: the SDKs' generic error parsers read "message" case-
// insensitively, while Go v2's modeled error types read exactly "Message".
type ErrorBody struct {
	Type     string `json:"__type"`
	Message  string `json:"Message"`
	LMessage string `json:"message"`
}
