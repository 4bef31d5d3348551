package model

// ServiceID names a node of the service graph: a service by name and type
// (a segment's origin, or an inferred node's type).
type ServiceID struct {
	Name      string
	Type      string
	AccountID string
}

// Summary is what Fluoro keeps about a whole trace for search: X-Ray's
// TraceSummary, computed from all the trace's spans.
type Summary struct {
	TraceID TraceID
	// Start and End are the earliest start and latest end over all spans.
	Start, End float64
	// ResponseTime is the root segment's end minus start.
	ResponseTime float64
	HasFault     bool
	HasError     bool
	HasThrottle  bool
	IsPartial    bool
	// RootThrottle is true when the root segment itself was throttled
	// (HasThrottle is true when any segment was).
	RootThrottle bool
	// HasInferred is true when the trace has inferred nodes: calls to
	// downstreams that sent no segment.
	HasInferred bool
	// HTTP is the root segment's http object.
	HTTP              HTTP
	Annotations       []SummaryAnnotation
	Users             []SummaryUser
	Services          []ServiceID
	ResourceARNs      []string
	InstanceIDs       []string
	AvailabilityZones []string
	EntryPoint        *ServiceID
	// Root causes of faults, errors (4xx and throttles) and response time.
	FaultRootCauses        []RootCause
	ErrorRootCauses        []RootCause
	ResponseTimeRootCauses []RootCause
	// Revision counts the times the summary was recomputed because more of
	// the trace arrived.
	Revision int
	// Spans counts the trace's documents' segments and subsegments.
	Spans int
	// Updated is when the last document of the trace arrived (epoch seconds).
	Updated float64
	// SampledBy names the tail-sampling policy that kept the trace
	// ("error", "latency", "filter:NAME", "rate", "boost"; see
	// docs/tail-sampling.md). It is empty when the trace was stored without
	// tail sampling.
	SampledBy string
}

// Duration is End minus Start.
func (s *Summary) Duration() float64 { return s.End - s.Start }

// SummaryAnnotation is one distinct annotation value of a trace and the
// services whose spans set it.
type SummaryAnnotation struct {
	Key      string
	Value    Value
	Services []ServiceID
}

// SummaryUser is one user of a trace and the services that recorded it.
type SummaryUser struct {
	Name     string
	Services []ServiceID
}

// RootCause is one chain of blame through a trace, as X-Ray reports it in a
// summary's FaultRootCauses, ErrorRootCauses and ResponseTimeRootCauses: the
// services crossed from the entry point down to the culprit.
type RootCause struct {
	Services []RootCauseService
	// ClientImpacting is true when the root segment itself carries the
	// fault or error (for response time: always).
	ClientImpacting bool
}

// RootCauseService is one service of a root-cause chain and the entities
// (its segment, then subsegments) the chain passes through in it.
type RootCauseService struct {
	ID         ServiceID
	Inferred   bool
	EntityPath []RootCauseEntity
}

// RootCauseEntity is one segment or subsegment of a root-cause chain.
// Exceptions are set on the culprit; Coverage (response time only) is the
// entity's share of the root segment's response time.
type RootCauseEntity struct {
	Name       string
	Exceptions []Exception
	Remote     bool
	Coverage   float64
}
