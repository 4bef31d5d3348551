package otlp

import (
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// Rejection codes: X-Ray's UnprocessedTraceSegments codes, for the reasons an
// OTLP span can be refused.
const (
	CodeInvalidTraceID = "InvalidTraceId"
	CodeMissingID      = "MissingId"
	CodeInvalidTimes   = "InvalidTimes"
)

// Rejection is one span the mapping refused: X-Ray's error code, the span id
// (16 hex digits, empty if it had none) and why.
type Rejection struct {
	Code    string
	ID      string
	Message string
}

// Mapper maps OTLP spans to X-Ray segment documents. It remembers the start
// second given to traces with random W3C ids (see traceID), so one Mapper
// should serve every listener of a process. It is safe for concurrent use.
type Mapper struct {
	ids *epochs
}

// NewMapper returns a Mapper remembering the ids of up to about 500,000
// recent traces with random W3C ids.
func NewMapper() *Mapper { return &Mapper{ids: newEpochs(1 << 18)} }

// resourceCtx is what every span of one ResourceSpans shares.
type resourceCtx struct {
	attrs  resourceAttrs
	origin string
	// meta is the segment metadata's resource part, pre-rendered:
	// `"otel.resource.k":v,...` without braces; empty when there is none.
	meta []byte
	lang string
}

// Map appends to out the documents td maps to, and returns the spans it
// refused. Like the X-Ray SDKs, and unlike the collector's exporter, it
// nests: a subsegment whose parent span is in the same request (same
// resource, same trace) is embedded in its parent's document, up to
// maxEmbedded subsegments per document; server and consumer spans, root
// spans, and subsegments whose parent is elsewhere are documents of their
// own. A client or producer span with no parent becomes two entities: a
// segment for the calling service and the call as its subsegment. Each
// Span's Root holds exactly what xray.Decode reads back from its Doc. Map
// does not retain td.
func (m *Mapper) Map(td ptrace.Traces, out []model.Span) ([]model.Span, []Rejection) {
	var rejected []Rejection
	var arena []byte
	var docs []*doc
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		rc := newResourceCtx(rs.Resource())
		docs = docs[:0]
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				var rej *Rejection
				docs, rej = m.mapSpan(spans.At(k), rc, docs)
				if rej != nil {
					rejected = append(rejected, *rej)
				}
			}
		}
		nest(docs)
		for _, d := range docs {
			if !d.embedded {
				out = d.render(rc, &arena, out)
			}
		}
	}
	return out, rejected
}

// maxEmbedded bounds the subsegments nested in one document; past it,
// subsegments are sent on their own, as the X-Ray SDKs stream them.
const maxEmbedded = 100

// maxNesting bounds how deep subsegments nest (xray.Decode takes 64).
const maxNesting = 32

type spanKey struct {
	trace model.TraceID
	id    model.SpanID
}

// nest embeds each subsegment whose parent is among docs in that parent.
// Parent chains that loop or run deeper than maxNesting stay independent.
func nest(docs []*doc) {
	if len(docs) < 2 {
		return
	}
	byID := make(map[spanKey]*doc, len(docs))
	for _, d := range docs {
		byID[spanKey{d.traceID, d.e.ID}] = d
	}
	// depth of the chain above d within docs: -1 not yet known, -2 being
	// computed (a loop).
	for _, d := range docs {
		d.depth = -1
	}
	var depth func(d *doc) int
	depth = func(d *doc) int {
		switch d.depth {
		case -2:
			return maxNesting + 1
		case -1:
		default:
			return d.depth
		}
		d.depth = -2
		n := 0
		if d.independent {
			if p := byID[spanKey{d.traceID, d.e.ParentID}]; p != nil && p != d {
				n = depth(p) + 1
			}
		}
		d.depth = n
		return n
	}
	for _, d := range docs {
		if !d.independent || depth(d) == 0 || depth(d) > maxNesting {
			continue
		}
		p := byID[spanKey{d.traceID, d.e.ParentID}]
		if p.depth > maxNesting {
			continue
		}
		p.children = append(p.children, d)
		d.embedded = true
	}
}

func newResourceCtx(r pcommon.Resource) *resourceCtx {
	rc := &resourceCtx{}
	rc.attrs.read(r.Attributes())
	rc.origin = rc.attrs.origin()
	rc.lang = rc.attrs.sdkLanguage
	if r.Attributes().Len() > 0 {
		w := jsonw{}
		for k, v := range r.Attributes().All() {
			w.key("otel.resource." + k)
			w.value(v, 0)
		}
		rc.meta = w.b
	}
	return rc
}

// doc gathers one document's fields: the decoded entity and what the
// document carries beyond it.
type doc struct {
	traceID       model.TraceID
	e             model.Entity
	independent   bool // "type": "subsegment"
	segment       bool // carries the resource: origin, aws, service, resource metadata
	forwarded     bool
	contentLength int64
	awsRequestID  string
	awsTableNames []string
	sqlConn       string
	exceptions    []exception
	annotations   []model.Annotation
	metaKeys      []string
	metaVals      []pcommon.Value
	links         ptrace.SpanLinkSlice
	linkIDs       []model.TraceID
	hasLinks      bool
	// nesting within one request's documents
	children []*doc
	embedded bool
	depth    int
}

type exception struct {
	model.Exception
	cause string // id of the exception that caused this one
	stack []frame
}

type frame struct {
	path, label string
	line        int
}

func (m *Mapper) mapSpan(sp ptrace.Span, rc *resourceCtx, out []*doc) ([]*doc, *Rejection) {
	sid := sp.SpanID()
	if sp.TraceID().IsEmpty() {
		return out, &Rejection{Code: CodeInvalidTraceID, ID: idString(sid), Message: "span has an all-zero trace id"}
	}
	if sid.IsEmpty() {
		return out, &Rejection{Code: CodeMissingID, Message: "span has an all-zero span id"}
	}
	startNs, endNs := uint64(sp.StartTimestamp()), uint64(sp.EndTimestamp())
	if startNs == 0 || endNs < startNs {
		return out, &Rejection{Code: CodeInvalidTimes, ID: idString(sid),
			Message: "span " + idString(sid) + ": end time is before start time, or start time is missing"}
	}
	start, end := seconds(startNs), seconds(endNs)
	tid := traceID(sp.TraceID(), uint32(startNs/1e9), m.ids)

	var a spanAttrs
	attrs := sp.Attributes()
	var consumedBuf [48]bool
	consumed := consumedBuf[:0]
	for k, v := range attrs.All() {
		consumed = append(consumed, a.consume(k, v))
	}

	kind := sp.Kind()
	parent := sp.ParentSpanID()
	root := parent.IsEmpty() || a.awsSpanKind == "LOCAL_ROOT"
	isSegment := kind == ptrace.SpanKindServer || kind == ptrace.SpanKindConsumer ||
		(root && kind != ptrace.SpanKindClient && kind != ptrace.SpanKindProducer)

	d := &doc{traceID: tid, independent: !isSegment}
	e := &d.e
	e.ID = model.SpanID(be64(sid))
	if !parent.IsEmpty() {
		e.ParentID = model.SpanID(be64(parent))
	}
	e.Start, e.End = start, end

	// A client or producer span with no parent is a service calling out on
	// its own (a job, a CLI): the service gets a segment of its own, with a
	// derived id, and the span becomes its subsegment.
	if root && !isSegment {
		seg := &doc{traceID: tid, segment: true}
		seg.e.ID = derivedID(sid, 0)
		seg.e.ParentID = e.ParentID
		seg.e.Start, seg.e.End = start, end
		seg.e.Name = segmentName(rc, &a, sp)
		seg.e.Origin = rc.origin
		seg.fillResource(rc)
		seg.e.Fault, seg.e.Error, seg.e.Throttle = flags(sp, &a)
		out = append(out, seg)
		e.ParentID = seg.e.ID
	}

	if isSegment {
		d.segment = true
		e.Name = segmentName(rc, &a, sp)
		e.Origin = rc.origin
		d.fillResource(rc)
	} else {
		e.Name, e.Namespace = subsegmentName(&a, sp)
	}
	e.User = valid(a.user)
	e.Fault, e.Error, e.Throttle = flags(sp, &a)
	d.fillHTTP(&a, kind)
	d.fillAWS(&a, e.Namespace == "aws")
	d.fillSQL(&a, sp.Name())
	d.fillCause(sp, rc.lang, kind == ptrace.SpanKindClient || kind == ptrace.SpanKindProducer)

	// The remaining attributes: scalars are annotations (indexed), the rest
	// metadata; consumed attributes named in aws.xray.annotations are
	// annotated too.
	i := 0
	for k, v := range attrs.All() {
		c := consumed[i]
		i++
		if c && !slices.Contains(a.annotateAll, k) {
			continue
		}
		if k == "aws.xray.annotations" {
			continue
		}
		// X-Ray refuses annotation keys over 500 bytes: such attributes
		// stay in metadata.
		if val, ok := annotationValue(v); ok && len(k) <= 500 {
			d.annotations = append(d.annotations, model.Annotation{Key: annotationKey(k), Value: val})
			continue
		}
		d.metaKeys = append(d.metaKeys, k)
		d.metaVals = append(d.metaVals, v)
	}
	d.annotations = dedupAnnotations(d.annotations)
	if len(d.annotations) > 0 {
		e.Annotations = d.annotations
	}
	d.links = sp.Links()
	d.hasLinks = d.links.Len() > 0
	if d.hasLinks {
		d.linkIDs = make([]model.TraceID, d.links.Len())
		for i := range d.linkIDs {
			d.linkIDs[i] = traceID(d.links.At(i).TraceID(), uint32(startNs/1e9), m.ids)
		}
	}
	return append(out, d), nil
}

// seconds converts nanoseconds to epoch seconds, adding the fraction to the
// whole seconds so that round values stay round (1795642095.25, not
// 1795642095.2499998).
func seconds(ns uint64) float64 {
	return float64(ns/1e9) + float64(ns%1e9)/1e9
}

func be64(b [8]byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

func idString(b [8]byte) string {
	if b == [8]byte{} {
		return ""
	}
	return model.SpanID(be64(b)).String()
}

// segmentName is the service's name: aws.local.service, else the resource's
// service.name, else what a subsegment would be called.
func segmentName(rc *resourceCtx, a *spanAttrs, sp ptrace.Span) string {
	for _, n := range []string{a.localService, rc.attrs.service} {
		if n != "" {
			return fixName(n)
		}
	}
	n, _ := subsegmentName(a, sp)
	return n
}

// subsegmentName follows the collector exporter's order: the X-Ray remote
// service attribute, peer.service, the AWS service, the database as
// name@host, the RPC service, the HTTP host, the peer's name; Fluoro adds the
// messaging destination before the span name itself.
func subsegmentName(a *spanAttrs, sp ptrace.Span) (name, namespace string) {
	kind := sp.Kind()
	awsSDK := a.rpcSystem == "aws-api"
	if awsSDK || a.awsService != "" {
		namespace = "aws"
	} else if kind == ptrace.SpanKindClient || kind == ptrace.SpanKindProducer {
		namespace = "remote"
	}
	switch {
	case a.remoteService != "" && kind != ptrace.SpanKindServer && kind != ptrace.SpanKindInternal:
		name = a.remoteService
		if awsSDK {
			name = strings.TrimPrefix(strings.TrimPrefix(name, "AWS.SDK."), "AWS::")
		}
	case a.peerService != "":
		name = a.peerService
	case a.awsService != "":
		name = a.awsService
	case awsSDK && a.rpcService != "":
		name = a.rpcService
	case a.dbName != "":
		name = a.dbName
		if h := dbHost(a); h != "" {
			name += "@" + h
		}
	case a.rpcService != "":
		name = a.rpcService
	case a.host != "":
		name = hostOnly(a.host)
	case a.peerName != "":
		name = a.peerName
	case a.msgDestination != "" && (kind == ptrace.SpanKindProducer || kind == ptrace.SpanKindConsumer):
		name = a.msgDestination
	case a.url != "" && kind == ptrace.SpanKindClient && urlHost(a.url) != "":
		name = urlHost(a.url)
	default:
		name = sp.Name()
	}
	return fixName(name), namespace
}

func dbHost(a *spanAttrs) string {
	if a.dbConnection != "" {
		if u, err := url.Parse(strings.TrimPrefix(a.dbConnection, "jdbc:")); err == nil && u.Hostname() != "" {
			return u.Hostname()
		}
	}
	if a.host != "" {
		return hostOnly(a.host)
	}
	return a.peerName
}

func urlHost(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// hostOnly drops a port from a Host header value.
func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.Contains(h[i:], "]") && strings.Count(h, ":") == 1 {
		return h[:i]
	}
	return h
}

// flags are X-Ray's fault, error and throttle, as the exporter sets them: an
// HTTP status in 400–499 is an error (429 also a throttle), 500–599 a
// fault; otherwise a span with status ERROR is a fault.
func flags(sp ptrace.Span, a *spanAttrs) (fault, err, throttle bool) {
	switch code := a.status; {
	case code >= 400 && code <= 499:
		return false, true, code == 429
	case code >= 500 && code <= 599:
		return true, false, false
	}
	return sp.Status().Code() == ptrace.StatusCodeError, false, false
}

func (d *doc) fillResource(rc *resourceCtx) {
	r := &rc.attrs
	d.e.AccountID = valid(r.account)
	if r.cloudPlatform == "aws_ec2" || r.hostID != "" {
		d.e.InstanceID, d.e.AvailabilityZone = valid(r.hostID), valid(r.zone)
	}
}

func (d *doc) fillHTTP(a *spanAttrs, kind ptrace.SpanKind) {
	if !a.hasHTTP {
		return
	}
	h := &d.e.HTTP
	h.Method = valid(a.method)
	h.UserAgent = valid(a.userAgent)
	h.ClientIP = valid(a.clientIP)
	d.forwarded = a.hasForwarded
	if h.ClientIP == "" && kind == ptrace.SpanKindServer {
		h.ClientIP = valid(a.peerIP)
	}
	if a.status > 0 && a.status < 1000 {
		h.Status = int(a.status)
	}
	d.contentLength = a.contentLength
	switch {
	case a.url != "":
		h.URL = valid(a.url)
	case a.host != "" || (kind != ptrace.SpanKindServer && a.peerName != ""):
		scheme := a.scheme
		if scheme == "" {
			scheme = "http"
		}
		host := a.host
		if host == "" {
			host = a.peerName
		}
		u := scheme + "://" + host
		if a.port != "" && !strings.Contains(host, ":") && !(scheme == "http" && a.port == "80") && !(scheme == "https" && a.port == "443") {
			u += ":" + a.port
		}
		switch {
		case a.target != "":
			u += a.target
		case a.path != "":
			u += a.path
			if a.query != "" {
				u += "?" + a.query
			}
		default:
			u += "/"
		}
		h.URL = valid(u)
	}
}

func (d *doc) fillAWS(a *spanAttrs, awsCall bool) {
	op := a.awsOperation
	if op == "" && awsCall {
		op = a.rpcMethod
	}
	table := a.awsTableName
	if len(a.awsTableNames) == 1 {
		table = a.awsTableNames[0]
	} else if len(a.awsTableNames) > 1 {
		d.awsTableNames = a.awsTableNames
	}
	fn := ""
	if awsCall {
		fn = a.awsFunction
	}
	d.e.AWS = model.AWSCall{Operation: valid(op), Region: valid(a.awsRegion), TableName: valid(table),
		QueueURL: valid(a.awsQueueURL), Bucket: valid(a.awsBucket), Function: valid(fn)}
	d.awsRequestID = a.awsRequestID
}

var sqlSystems = map[string]bool{"db2": true, "derby": true, "hive": true, "mariadb": true, "mssql": true,
	"mysql": true, "oracle": true, "postgresql": true, "sqlite": true, "teradata": true, "other_sql": true,
	"cockroachdb": true, "h2": true, "hsqldb": true, "clickhouse": true, "trino": true, "microsoft.sql_server": true,
	"oracle.db": true, "ibm.db2": true}

func (d *doc) fillSQL(a *spanAttrs, spanName string) {
	if !sqlSystems[a.dbSystem] {
		return
	}
	s := &model.SQL{DatabaseType: valid(a.dbSystem), SanitizedQuery: valid(a.dbStatement), User: valid(a.dbUser)}
	if a.dbConnection != "" {
		s.URL = valid(a.dbConnection)
	} else if h := dbHost(a); h != "" {
		u := a.dbSystem + "://" + h
		if a.port != "" {
			u += ":" + a.port
		}
		s.URL = valid(u + "/" + a.dbName)
	}
	conn := a.dbConnection
	if conn == "" {
		conn = "localhost"
	}
	d.sqlConn = conn + "/" + a.dbName
	d.e.SQL = s
}

// fillCause turns exception events into the cause's exceptions, with their
// stacks parsed for the languages the exporter knows; a span with status
// ERROR and no exception event gets one exception carrying the status
// message.
func (d *doc) fillCause(sp ptrace.Span, lang string, remote bool) {
	events := sp.Events()
	n := 0
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		if ev.Name() != "exception" {
			continue
		}
		var typ, msg, stack string
		for k, v := range ev.Attributes().All() {
			switch k {
			case "exception.type":
				typ = v.AsString()
			case "exception.message":
				msg = v.AsString()
			case "exception.stacktrace":
				stack = v.AsString()
			}
		}
		for _, x := range parseStack(typ, msg, stack, lang) {
			x.ID = derivedID(sp.SpanID(), uint64(n+1)).String()
			x.Remote = remote
			n++
			d.exceptions = append(d.exceptions, x)
		}
	}
	// Chained exceptions ("Caused by") point at the next one.
	for i := range d.exceptions {
		if d.exceptions[i].cause == "next" {
			d.exceptions[i].cause = ""
			if i+1 < len(d.exceptions) {
				d.exceptions[i].cause = d.exceptions[i+1].ID
			}
		}
	}
	if n == 0 && sp.Status().Code() == ptrace.StatusCodeError && sp.Status().Message() != "" {
		d.exceptions = append(d.exceptions, exception{Exception: model.Exception{
			ID: derivedID(sp.SpanID(), 1).String(), Message: sp.Status().Message(), Remote: remote}})
	}
	for i := range d.exceptions {
		x := &d.exceptions[i].Exception
		x.Type, x.Message = valid(x.Type), valid(x.Message)
		d.e.Exceptions = append(d.e.Exceptions, *x)
	}
}

func annotationValue(v pcommon.Value) (model.Value, bool) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return model.Value{Kind: model.String, Str: valid(v.Str())}, true
	case pcommon.ValueTypeInt:
		return model.Value{Kind: model.Number, Num: float64(v.Int())}, true
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308 {
			return model.Value{}, false // NaN and infinities have no JSON form
		}
		return model.Value{Kind: model.Number, Num: f}, true
	case pcommon.ValueTypeBool:
		return model.Value{Kind: model.Bool, Bool: v.Bool()}, true
	}
	return model.Value{}, false
}

// annotationKey makes an attribute name an annotation key as the exporter
// does with its default allowDot gate: letters A–Z, digits and dots are
// kept, anything else becomes an underscore.
func annotationKey(k string) string {
	ok := true
	for i := 0; i < len(k); i++ {
		if !isKeyByte(k[i]) {
			ok = false
			break
		}
	}
	if ok && k != "" {
		return k
	}
	if k == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && isKeyByte(byte(r)) {
			return r
		}
		return '_'
	}, k)
}

func isKeyByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.'
}

// dedupAnnotations sorts by key; of keys made equal by annotationKey the
// last value wins, as when X-Ray reads a repeated JSON key.
func dedupAnnotations(a []model.Annotation) []model.Annotation {
	if len(a) < 2 {
		return a
	}
	slices.SortStableFunc(a, func(x, y model.Annotation) int { return strings.Compare(x.Key, y.Key) })
	out := a[:0]
	for i := range a {
		if len(out) > 0 && out[len(out)-1].Key == a[i].Key {
			out[len(out)-1] = a[i]
			continue
		}
		out = append(out, a[i])
	}
	return out
}

// fixName makes a span or service name a valid X-Ray name, as the exporter
// does: characters other than letters, digits, spaces and _ . : / % & # = + -
// @ are removed, the name is cut to 200 characters (Fluoro counts
// characters, not bytes), and an empty result becomes "span".
func fixName(n string) string {
	ok := utf8.RuneCountInString(n) <= 200
	if ok {
		for _, r := range n {
			if !nameRune(r) {
				ok = false
				break
			}
		}
	}
	if !ok {
		var b strings.Builder
		count := 0
		for _, r := range n {
			if r == utf8.RuneError || !nameRune(r) {
				continue
			}
			if count == 200 {
				break
			}
			b.WriteRune(r)
			count++
		}
		n = b.String()
	}
	if strings.TrimSpace(n) == "" {
		return "span"
	}
	return n
}

func nameRune(r rune) bool {
	return r == ' ' || r >= '0' && r <= '9' || unicode.IsLetter(r) || strings.ContainsRune("_.:/%&#=+-@", r)
}

// valid replaces invalid UTF-8, as the document writer does, so that the
// entity holds what the document says.
func valid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
