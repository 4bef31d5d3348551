package filterexpr

// Expr is a parsed filter expression: one of *And, *Or, *Not, *Compare,
// *Service, *Edge, *RootCause, *RootCauseJSON or *Group. The set is closed,
// so an evaluator can switch over it exhaustively.
//
// Nodes carry no source positions (Parse reports every type error), so
// trees compare with reflect.DeepEqual. String prints the expression in a
// canonical form (see print.go): Parse(e.String()) is equal to e.
type Expr interface {
	String() string
	isExpr()
}

// And holds when every term holds. Terms has at least two elements, none
// of them an *And: Parse flattens "a AND (b AND c)" and the implicit AND of
// juxtaposed terms ("ok !partial") into one node.
type And struct{ Terms []Expr }

// Or holds when some term holds. Terms has at least two elements, none of
// them an *Or.
type Or struct{ Terms []Expr }

// Not negates X.
type Not struct{ X Expr }

// Compare tests one keyword, or one annotation, of the trace (or of the
// service, edge or root cause whose { } filter it is in).
//
// When Op is OpNone the keyword stands alone: a boolean keyword ("fault")
// holds when it is true; a string keyword ("http.url") or an annotation
// ("annotation.age") holds when the field is set. Value is then zero.
// Otherwise Value's kind fits both Op and Keyword.Kind (Parse checks it):
// OpContains, OpBeginsWith and OpEndsWith take strings; OpLt, OpLe, OpGt
// and OpGe take numbers; OpEq and OpNe take any kind.
type Compare struct {
	Keyword Keyword
	Key     string // the annotation key when Keyword is KwAnnotation; else ""
	Op      Op
	Value   Value
}

// Service holds when the trace passed through a node matching Ref and, if
// Filter is not nil, that node's segments satisfy Filter (evaluated in the
// node's context: fault, responsetime, root… are the node's). A nil Ref,
// written "service()", matches every node.
type Service struct {
	Ref    *ServiceRef
	Filter Expr
}

// Edge holds when the trace contains a call from a node matching Source to
// a node matching Destination and, if Filter is not nil, that call (the
// caller's subsegment) satisfies it.
type Edge struct {
	Source, Destination ServiceRef
	Filter              Expr
}

// ServiceRef selects service graph nodes. An empty field matches any value;
// at least one field is set. A ref with only Name is written "name"; any
// other as id(name: …, type: …, account.id: …).
type ServiceRef struct {
	Name      string
	Type      string // e.g. "AWS::Lambda::Function"
	AccountID string
}

// RootCause holds when the trace has a root cause of kind Kind at level
// Scope (its FaultRootCauses, ErrorRootCauses or ResponseTimeRootCauses in
// a trace summary) of which some element satisfies Filter. Filter is
// never nil: it uses the root-cause keywords (name, type, message, index,
// first, last, inferred, remote, coverage).
type RootCause struct {
	Kind   RootCauseKind
	Scope  RootCauseScope
	Filter Expr
}

// RootCauseJSON is rootcause.json = #[…]. JSON is the compacted JSON array
// of root-cause objects shaped like a trace summary's *RootCauses; fields
// present must match, omitted ones match anything. It prints as "#" + JSON.
type RootCauseJSON struct{ JSON string }

// Group holds when the trace satisfies the filter expression of the group
// named Name, or with the ARN ARN; exactly one of the two is set.
type Group struct {
	Name string
	ARN  string
}

func (*And) isExpr()           {}
func (*Or) isExpr()            {}
func (*Not) isExpr()           {}
func (*Compare) isExpr()       {}
func (*Service) isExpr()       {}
func (*Edge) isExpr()          {}
func (*RootCause) isExpr()     {}
func (*RootCauseJSON) isExpr() {}
func (*Group) isExpr()         {}

// Value is a literal operand. Kind says which of Str, Num and Bool holds it;
// KindNone is the zero Value of a bare keyword.
type Value struct {
	Kind Kind
	Str  string
	Num  float64
	Bool bool
}

// Kind is the type of a value or of a keyword's values.
type Kind uint8

// Kinds.
const (
	KindNone Kind = iota // no value; for Keyword.Kind, any kind (annotations)
	KindBool
	KindNumber
	KindString
)

func (k Kind) String() string {
	switch k {
	case KindBool:
		return "boolean"
	case KindNumber:
		return "number"
	case KindString:
		return "string"
	}
	return "none"
}

// Op is a comparison operator.
type Op uint8

// Operators. OpNone marks a keyword used alone.
const (
	OpNone Op = iota
	OpEq
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
	OpContains
	OpBeginsWith
	OpEndsWith
)

var opText = [...]string{
	OpNone: "", OpEq: "=", OpNe: "!=", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">=",
	OpContains: "CONTAINS", OpBeginsWith: "BEGINSWITH", OpEndsWith: "ENDSWITH",
}

// String returns the operator as printed: "=", "<=", "CONTAINS"…
func (o Op) String() string {
	if int(o) < len(opText) {
		return opText[o]
	}
	return "?"
}

// RootCauseKind is the kind of root cause: rootcause.KIND.scope.
type RootCauseKind uint8

// Root cause kinds.
const (
	RootCauseFault RootCauseKind = iota
	RootCauseError
	RootCauseResponseTime
)

func (k RootCauseKind) String() string {
	switch k {
	case RootCauseFault:
		return "fault"
	case RootCauseError:
		return "error"
	case RootCauseResponseTime:
		return "responsetime"
	}
	return "?"
}

// RootCauseScope is the level a root cause filter looks at: rootcause.kind.SCOPE.
type RootCauseScope uint8

// Root cause scopes. ScopeException exists only for RootCauseFault and
// RootCauseError.
const (
	ScopeService RootCauseScope = iota
	ScopeEntity
	ScopeException
)

func (s RootCauseScope) String() string {
	switch s {
	case ScopeService:
		return "service"
	case ScopeEntity:
		return "entity"
	case ScopeException:
		return "exception"
	}
	return "?"
}

// Walk calls fn for e and then, if fn returns true, for each expression
// below e in depth-first order: the terms of *And and *Or, the operand of
// *Not, and the Filter of *Service, *Edge and *RootCause. Filters are
// evaluated in another context than their parent (a node, an edge, a root
// cause), so an index-hint extractor usually returns false for those nodes.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch e := e.(type) {
	case *And:
		for _, t := range e.Terms {
			Walk(t, fn)
		}
	case *Or:
		for _, t := range e.Terms {
			Walk(t, fn)
		}
	case *Not:
		Walk(e.X, fn)
	case *Service:
		Walk(e.Filter, fn)
	case *Edge:
		Walk(e.Filter, fn)
	case *RootCause:
		Walk(e.Filter, fn)
	}
}
