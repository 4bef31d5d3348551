package model

// Span is one document accepted at ingest: a segment with its embedded
// subsegments, or a subsegment sent on its own. Root holds the decoded fields
// Fluoro summarises and indexes; Doc holds the document as received, which is
// what storage keeps and retrieval returns.
type Span struct {
	TraceID TraceID
	// Independent is true for a subsegment sent on its own ("type":
	// "subsegment"); Root.ParentID then names its parent.
	Independent bool
	Root        Entity
	Doc         []byte
}

// Entity is a segment or subsegment, decoded. Times are epoch seconds.
type Entity struct {
	ID         SpanID
	ParentID   SpanID // 0 when absent
	Name       string
	Origin     string // segments: AWS resource type running the service
	Namespace  string // subsegments: "aws", "remote" or empty
	Start, End float64
	InProgress bool
	Fault      bool
	Error      bool
	Throttle   bool
	HTTP       HTTP
	User       string
	// ResourceARN, InstanceID, AvailabilityZone and AccountID come from the
	// segment's resource_arn and aws object.
	ResourceARN      string
	InstanceID       string
	AvailabilityZone string
	AccountID        string
	// AWS call details of an aws-namespace subsegment, for inferred nodes.
	AWS         AWSCall
	SQL         *SQL
	Exceptions  []Exception
	Annotations []Annotation
	Subsegments []Entity
}

// HTTP is the http object of a segment or subsegment.
type HTTP struct {
	Method    string
	URL       string
	UserAgent string
	ClientIP  string
	Status    int
	Traced    bool // subsegment: the callee is instrumented
}

// AWSCall is the aws object of a subsegment that calls an AWS service.
type AWSCall struct {
	Operation string
	Region    string
	TableName string
	QueueURL  string
	Bucket    string
	Function  string
}

// SQL is the sql object of a database call.
type SQL struct {
	URL            string
	SanitizedQuery string
	DatabaseType   string
	User           string
}

// Exception is one entry of a cause's exceptions list.
type Exception struct {
	ID      string
	Type    string
	Message string
	Remote  bool
}

// ValueKind says which field of a Value is set.
type ValueKind uint8

// The annotation value kinds X-Ray allows.
const (
	String ValueKind = iota + 1
	Number
	Bool
)

// Value is an annotation value: a string, a number or a boolean.
type Value struct {
	Kind ValueKind
	Str  string
	Num  float64
	Bool bool
}

// Annotation is one key of a (sub)segment's annotations.
type Annotation struct {
	Key   string
	Value Value
}

// Walk calls fn for e and every subsegment below it, depth first, parents
// before children. depth is 0 for e.
func (e *Entity) Walk(fn func(x *Entity, depth int)) {
	var walk func(x *Entity, d int)
	walk = func(x *Entity, d int) {
		fn(x, d)
		for i := range x.Subsegments {
			walk(&x.Subsegments[i], d+1)
		}
	}
	walk(e, 0)
}
