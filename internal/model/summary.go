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
	// HTTP is the root segment's http object.
	HTTP              HTTP
	Annotations       []SummaryAnnotation
	Users             []SummaryUser
	Services          []ServiceID
	ResourceARNs      []string
	InstanceIDs       []string
	AvailabilityZones []string
	EntryPoint        *ServiceID
	// Revision counts the times the summary was recomputed because more of
	// the trace arrived.
	Revision int
	// Spans counts the trace's documents' segments and subsegments.
	Spans int
	// Updated is when the last document of the trace arrived (epoch seconds).
	Updated float64
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
