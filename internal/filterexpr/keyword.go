package filterexpr

import "strings"

// Keyword is a simple keyword a *Compare tests.
type Keyword uint8

// Keywords, grouped by the kind of their values. Where a keyword may be
// used is listed in the package documentation.
const (
	KwInvalid Keyword = iota

	// Boolean keywords.
	KwOK       // response status 2XX
	KwError    // 4XX
	KwFault    // 5XX
	KwThrottle // 429
	KwPartial  // some segment is in progress
	KwInferred // an inferred segment; in a root cause filter, the service is inferred
	KwFirst    // root cause filters: first element of the list
	KwLast     // root cause filters: last element of the list
	KwRemote   // root cause filters: the entity is remote
	KwRoot     // service and edge filters: the node is the trace's entry point

	// Number keywords.
	KwResponseTime // seconds
	KwDuration     // seconds
	KwHTTPStatus
	KwIndex    // root cause filters: position in the list
	KwCoverage // root cause filters: fraction of the root response time

	// String keywords.
	KwHTTPURL
	KwHTTPMethod
	KwHTTPUserAgent
	KwHTTPClientIP
	KwUser
	KwName    // root cause filters: service, entity or exception name
	KwType    // root cause filters: service type
	KwMessage // root cause filters: exception message
	KwAvailabilityZone
	KwInstanceID
	KwResourceARN

	// KwAnnotation is annotation.KEY or annotation[KEY]; its values may be
	// of any kind.
	KwAnnotation

	numKeywords
)

// filterCtx is where in an expression a keyword is used.
type filterCtx uint8

const (
	ctxTop       filterCtx = 1 << iota // the trace
	ctxService                         // inside service(…) { } or edge(…) { }
	ctxRootCause                       // inside rootcause.*.* { }
)

func (c filterCtx) String() string {
	switch c {
	case ctxService:
		return "a service or edge filter { }"
	case ctxRootCause:
		return "a root cause filter { }"
	}
	return "the top level"
}

type keywordInfo struct {
	name string // canonical spelling
	kind Kind
	ctx  filterCtx // where it may be used
}

var keywords = [numKeywords]keywordInfo{
	KwOK:               {"ok", KindBool, ctxTop | ctxService},
	KwError:            {"error", KindBool, ctxTop | ctxService},
	KwFault:            {"fault", KindBool, ctxTop | ctxService},
	KwThrottle:         {"throttle", KindBool, ctxTop | ctxService},
	KwPartial:          {"partial", KindBool, ctxTop | ctxService},
	KwInferred:         {"inferred", KindBool, ctxTop | ctxService | ctxRootCause},
	KwFirst:            {"first", KindBool, ctxRootCause},
	KwLast:             {"last", KindBool, ctxRootCause},
	KwRemote:           {"remote", KindBool, ctxRootCause},
	KwRoot:             {"root", KindBool, ctxService},
	KwResponseTime:     {"responsetime", KindNumber, ctxTop | ctxService},
	KwDuration:         {"duration", KindNumber, ctxTop | ctxService},
	KwHTTPStatus:       {"http.status", KindNumber, ctxTop | ctxService},
	KwIndex:            {"index", KindNumber, ctxRootCause},
	KwCoverage:         {"coverage", KindNumber, ctxRootCause},
	KwHTTPURL:          {"http.url", KindString, ctxTop | ctxService},
	KwHTTPMethod:       {"http.method", KindString, ctxTop | ctxService},
	KwHTTPUserAgent:    {"http.useragent", KindString, ctxTop | ctxService},
	KwHTTPClientIP:     {"http.clientip", KindString, ctxTop | ctxService},
	KwUser:             {"user", KindString, ctxTop | ctxService},
	KwName:             {"name", KindString, ctxRootCause},
	KwType:             {"type", KindString, ctxRootCause},
	KwMessage:          {"message", KindString, ctxRootCause},
	KwAvailabilityZone: {"availabilityzone", KindString, ctxTop | ctxService},
	KwInstanceID:       {"instance.id", KindString, ctxTop | ctxService},
	KwResourceARN:      {"resource.arn", KindString, ctxTop | ctxService},
	KwAnnotation:       {"annotation", KindNone, ctxTop},
}

// String returns the keyword's canonical (lower-case) spelling.
func (k Keyword) String() string {
	if k > KwInvalid && k < numKeywords {
		return keywords[k].name
	}
	return "?"
}

// Kind returns the kind of the keyword's values; KindNone for KwAnnotation,
// whose values may be of any kind.
func (k Keyword) Kind() Kind {
	if k < numKeywords {
		return keywords[k].kind
	}
	return KindNone
}

// complexKw identifies the keywords with a syntax of their own.
type complexKw uint8

const (
	cxService complexKw = iota + 1
	cxEdge
	cxID
	cxGroupName
	cxGroupARN
	cxRootCauseJSON
	cxRootCause
)

type wordInfo struct {
	simple  Keyword   // a simple keyword, or
	complex complexKw // a complex one
	kind    RootCauseKind
	scope   RootCauseScope
}

// words maps the lower-case spelling of every keyword to its meaning.
var words = func() map[string]wordInfo {
	m := map[string]wordInfo{
		"service":        {complex: cxService},
		"edge":           {complex: cxEdge},
		"id":             {complex: cxID},
		"group.name":     {complex: cxGroupName},
		"group.arn":      {complex: cxGroupARN},
		"rootcause.json": {complex: cxRootCauseJSON},
	}
	for k := KwOK; k < KwAnnotation; k++ {
		m[keywords[k].name] = wordInfo{simple: k}
	}
	for _, kind := range []RootCauseKind{RootCauseFault, RootCauseError, RootCauseResponseTime} {
		for _, scope := range []RootCauseScope{ScopeService, ScopeEntity, ScopeException} {
			if kind == RootCauseResponseTime && scope == ScopeException {
				continue
			}
			m[rootCauseName(kind, scope)] = wordInfo{complex: cxRootCause, kind: kind, scope: scope}
		}
	}
	return m
}()

func rootCauseName(k RootCauseKind, s RootCauseScope) string {
	return "rootcause." + k.String() + "." + s.String()
}

// reserved words cannot be keywords nor bare string values.
func isReserved(lower string) bool {
	switch lower {
	case "and", "or", "not", "contains", "beginswith", "endswith", "true", "false":
		return true
	}
	return false
}

// suggest returns the known keyword closest to word, or "" when none is
// close enough to be a likely typo.
func suggest(word string) string {
	word = strings.ToLower(word)
	limit := 1
	if len(word) >= 8 {
		limit = 2
	}
	best, bestDist := "", limit+1
	try := func(name string) {
		if d := editDistance(word, name); d < bestDist || d == bestDist && name < best {
			best, bestDist = name, d
		}
	}
	for name := range words {
		try(name)
	}
	try("annotation")
	return best
}

// editDistance is the Levenshtein distance between two ASCII strings, cut
// off at 10 for long inputs.
func editDistance(a, b string) int {
	if len(a) > 40 || len(b) > 40 {
		return 10
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
