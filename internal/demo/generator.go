// Package demo generates a realistic multi-service X-Ray topology and sends it
// through the daemon's UDP path. It backs `fluoro demo`, which shows a newcomer
// data within a minute, and doubles as the load generator for ingest benchmarks,
// so generation writes JSON by hand from pre-encoded fragments.
package demo

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// MaxSpanBytes bounds GeneratorOptions.SpanBytes so that every document still
// fits in one UDP datagram (segments holding many embedded spans are streamed
// as independent subsegments when padding would make them too large).
const MaxSpanBytes = 10000

// GeneratorOptions tunes a Generator.
type GeneratorOptions struct {
	// SpanBytes is the target size of each span's own JSON (its fields, not
	// those of its embedded children). 0 keeps the natural size, about 300
	// bytes per span on average; a larger value pads every span with a
	// metadata string up to about that many bytes. At most MaxSpanBytes.
	SpanBytes int
}

// Trace is one generated trace.
type Trace struct {
	// ID is the X-Ray trace id, 1-<8 hex epoch seconds>-<24 hex>.
	ID string
	// Docs are the segment documents (UDP bodies without the header line) in
	// the order the SDKs would send them: a callee's segment before its
	// caller's, independent subsegments before their segment, an in-progress
	// segment before its descendants and its complete version.
	Docs [][]byte
	// Spans counts the segments and subsegments in Docs, embedded or
	// independent, each once: an in-progress document adds none.
	Spans int
}

// Generator produces traces of a fixed demo topology: a client calls
// api-gateway, which calls the orders, payments, inventory and users
// services; they call PostgreSQL, DynamoDB, SQS, S3, SNS and an
// uninstrumented partner API. About 90% of traces succeed; the rest carry a
// client error, a DynamoDB throttle or a fault with its cause.
//
// A Generator is deterministic for a seed and start times, and not safe for
// concurrent use.
type Generator struct {
	opts  GeneratorOptions
	rng   *rand.Rand
	topo  *topology
	idKey uint64
	idSeq uint64

	// State of the trace being generated.
	traceID [35]byte
	site    siteKind // the failure this trace carries, siteNone if ok
	target  int      // index of the eligible site that fails
	seen    int      // eligible sites of kind site visited so far
	spans   int
	rid     int // the resource id in this trace's request URLs

	arena []byte   // finished documents, back to back
	ends  []int    // end offset of each document in arena
	docs  [][]byte // returned Trace.Docs, slices of arena
	bufs  [][]byte // one scratch buffer per nesting level of open documents
	level int
	pad   []byte // MaxSpanBytes of padding text
}

// NewGenerator returns a generator whose random choices derive from seed.
// opts.SpanBytes is clamped to [0, MaxSpanBytes].
func NewGenerator(seed int64, opts GeneratorOptions) *Generator {
	opts.SpanBytes = min(max(opts.SpanBytes, 0), MaxSpanBytes)
	s := uint64(seed)
	g := &Generator{
		opts:  opts,
		rng:   rand.New(rand.NewPCG(s, mix64(s^0x5ca1ab1e))),
		topo:  newTopology(),
		idKey: mix64(s + 0x9e3779b97f4a7c15),
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	g.pad = make([]byte, MaxSpanBytes)
	for i := range g.pad {
		g.pad[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return g
}

// Trace generates one trace starting at start. The returned Docs share the
// generator's memory and stay valid only until the next call to Trace.
func (g *Generator) Trace(start time.Time) Trace {
	g.arena, g.ends, g.spans, g.level = g.arena[:0], g.ends[:0], 0, 0

	b := append(g.traceID[:0], "1-"...)
	b = appendHex(b, uint64(uint32(start.Unix())), 8)
	b = append(b, '-')
	b = appendHex(b, g.newID(), 16)
	appendHex(b, uint64(g.rng.Uint32()), 8)

	g.site, g.target, g.seen = siteNone, 0, 0
	switch p := g.rng.Float64(); {
	case p < pOK:
	case p < pOK+pError:
		g.site = siteError
	case p < pOK+pError+pThrottle:
		g.site = siteThrottle
	default:
		g.site = siteFault
	}
	r := g.route()
	if g.site != siteNone {
		g.target = g.rng.IntN(r.sites[g.site])
	}
	g.rid = 1000 + g.rng.IntN(900000)
	g.segment(r.op, 0, start.UnixMicro())

	g.docs = g.docs[:0]
	prev := 0
	for _, end := range g.ends {
		g.docs = append(g.docs, g.arena[prev:end:end])
		prev = end
	}
	return Trace{ID: string(g.traceID[:]), Docs: g.docs, Spans: g.spans}
}

// The per-trace outcome mix; faults take the remainder.
const (
	pOK       = 0.90
	pError    = 0.05
	pThrottle = 0.02

	pInProgress = 0.012 // a segment is first sent in progress
	pStream     = 0.04  // a segment streams its subsegments independently
	pSlow       = 0.008 // a call lands in the latency tail
	pUser       = 0.6   // the gateway segment names its user

	streamSubsegments = 20     // the Go SDK streams past this many subsegments
	streamBytes       = 48_000 // stream when padding would make a document larger
)

// route picks a gateway route by weight among those able to carry g.site.
func (g *Generator) route() *route {
	for {
		n := g.rng.IntN(g.topo.weight)
		for i := range g.topo.routes {
			r := &g.topo.routes[i]
			if n -= r.weight; n < 0 {
				if g.site == siteNone || r.sites[g.site] > 0 {
					return r
				}
				break
			}
		}
	}
}

// hit reports whether an eligible failure site of kind k is the one this
// trace fails at. Sites are counted in visiting order.
func (g *Generator) hit(k siteKind, eligible bool) bool {
	if !eligible || g.site != k {
		return false
	}
	g.seen++
	return g.seen-1 == g.target
}

// outcome is how a call ended, as seen by its caller.
type outcome struct {
	status               int // HTTP status of a failed call, 0 when it succeeded
	fault, err, throttle bool
	exc                  []byte // pre-encoded exception of a fault, for the caller's cause
	viaService           bool   // the failure came back from an instrumented service
}

func (o outcome) failed() bool { return o.fault || o.err }

// segment writes the document of op's segment, called with parent id parent
// (0 for the root) at start, and returns its end time and outcome.
func (g *Generator) segment(op *operation, parent uint64, start int64) (int64, outcome) {
	id := g.newID()
	svc := op.svc
	inst := svc.statics[g.rng.IntN(len(svc.statics))]
	if g.rng.Float64() < pInProgress {
		b := g.begin()
		b = g.appendSegmentHead(b, svc, id, parent, start, inst)
		b = append(b, `,"in_progress":true`...)
		b = append(g.appendRequest(b, op), "}}"...)
		g.finish(append(b, '}'))
	}

	b := g.begin()
	b = g.appendSegmentHead(b, svc, id, parent, start, inst)
	loop := 0
	if op.loop != nil {
		loop = op.loop.minRep + g.rng.IntN(op.loop.maxRep-op.loop.minRep+1)
	}
	subs := op.subsegments + max(loop-1, 0)
	stream := subs > streamSubsegments || g.rng.Float64() < pStream ||
		g.opts.SpanBytes*(op.maxSpans) > streamBytes

	children := op.children
	var out outcome
	if g.hit(siteError, op.errStatus != 0) {
		// The request is rejected after its first check.
		children = children[:min(1, len(children))]
		out = outcome{status: op.errStatus, err: true}
	}
	t := start + g.between(150)
	childStart := len(b)
	b, t, cout := g.children(b, children, id, stream, t, loop)
	childBytes := len(b) - childStart
	end := t + g.between(200)

	status := op.okStatus
	switch {
	case cout.fault:
		out = outcome{status: 500, fault: true, exc: cout.exc}
		status = 500
		if op.edge && cout.viaService {
			status = 502
		}
	case cout.failed():
		out = cout
		out.exc, out.viaService = nil, false
		status = cout.status
	case out.err:
		status = out.status
	}
	b = g.appendRequest(b, op)
	b = append(b, `},"response":{"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	if status < 300 {
		b = append(b, `,"content_length":`...)
		b = strconv.AppendInt(b, int64(op.respBytes+g.rng.IntN(op.respBytes+1)), 10)
	}
	b = append(b, "}}"...)
	b = appendFlags(b, out)
	if out.fault {
		b = g.appendCause(b, svc, out.exc)
	}
	if op.edge && g.rng.Float64() < pUser {
		b = append(b, `,"user":"customer-`...)
		b = strconv.AppendInt(b, int64(g.rng.IntN(5000)), 10)
		b = append(b, '"')
	}
	b = g.appendAnnotations(b, op.annotations)
	b = append(b, `,"end_time":`...)
	b = appendTime(b, end)
	b = g.appendPadding(b, len(b)-childBytes)
	g.finish(append(b, '}'))
	g.spans++
	return end, out
}

func (g *Generator) appendSegmentHead(b []byte, svc *service, id, parent uint64, start int64, inst []byte) []byte {
	b = append(b, `{"name":"`...)
	b = append(b, svc.name...)
	b = append(b, `","id":"`...)
	b = appendHex(b, id, 16)
	b = append(b, `","trace_id":"`...)
	b = append(b, g.traceID[:]...)
	b = append(b, `","start_time":`...)
	b = appendTime(b, start)
	if parent != 0 {
		b = append(b, `,"parent_id":"`...)
		b = appendHex(b, parent, 16)
		b = append(b, '"')
	}
	return append(b, inst...)
}

// appendRequest writes `,"http":{"request":{...}` leaving both objects open.
func (g *Generator) appendRequest(b []byte, op *operation) []byte {
	b = append(b, op.request...)
	if op.urlID {
		b = strconv.AppendInt(b, int64(g.rid), 10)
	}
	b = append(b, '"')
	if op.edge {
		b = append(b, `,"user_agent":"`...)
		b = append(b, g.topo.userAgents[g.rng.IntN(len(g.topo.userAgents))]...)
		b = append(b, `","client_ip":"`...)
		ip := g.rng.Uint32()
		b = strconv.AppendInt(b, int64(1+ip>>24%223), 10)
		for shift := 16; shift >= 0; shift -= 8 {
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(ip>>shift&0xff), 10)
		}
		b = append(b, '"')
	}
	return b
}

// children writes the subsegments nodes under parent starting at t, embedded
// in b or, when stream, as independent documents. A failed child ends the
// sequence. loop is the repeat count of the node with minRep > 0.
func (g *Generator) children(b []byte, nodes []*node, parent uint64, stream bool, t int64, loop int) ([]byte, int64, outcome) {
	open := false
	var out outcome
	for _, n := range nodes {
		reps := 1
		if n.minRep > 0 {
			reps = loop
		}
		for rep := range reps {
			var end int64
			if stream {
				d := g.begin()
				d, end, out = g.sub(d, n, parent, true, t, rep == 0)
				g.finish(d)
			} else {
				if open {
					b = append(b, ',')
				} else {
					b = append(b, `,"subsegments":[`...)
					open = true
				}
				b, end, out = g.sub(b, n, parent, false, t, rep == 0)
			}
			t = end + g.between(120)
			if out.failed() {
				break
			}
		}
		if out.failed() {
			break
		}
	}
	if open {
		b = append(b, ']')
	}
	return b, t, out
}

// sub writes the subsegment of node n under parent, starting at start, and
// returns its end time and outcome. first is false for the repetitions of a
// loop, which are never failure sites.
func (g *Generator) sub(b []byte, n *node, parent uint64, independent bool, start int64, first bool) ([]byte, int64, outcome) {
	id := g.newID()
	spanStart := len(b)
	b = append(b, `{"name":"`...)
	b = append(b, n.name...)
	b = append(b, `","id":"`...)
	b = appendHex(b, id, 16)
	b = append(b, `","start_time":`...)
	b = appendTime(b, start)
	if independent {
		b = append(b, `,"type":"subsegment","trace_id":"`...)
		b = append(b, g.traceID[:]...)
		b = append(b, `","parent_id":"`...)
		b = appendHex(b, parent, 16)
		b = append(b, '"')
	}
	b = append(b, n.static...)

	var out outcome
	var end int64
	childBytes := 0
	cause := false // the failure starts here: record its exception
	switch n.kind {
	case kindLocal:
		t := start + g.between(40)
		if len(n.children) > 0 {
			cs := len(b)
			b, t, out = g.children(b, n.children, id, false, t, 0)
			childBytes = len(b) - cs
		} else {
			t += g.latency(n.latency)
		}
		if !out.failed() && g.hit(siteFault, first && n.exc != nil) {
			out = outcome{status: 500, fault: true, exc: n.exc}
			cause = true
		}
		out.viaService = false
		end = t + g.between(40)

	case kindService:
		cend, cout := g.segment(n.callee, id, start+g.between(400))
		end = cend + g.between(400)
		status := n.okStatus
		if cout.failed() {
			out = cout
			out.exc, out.viaService = n.exc, true
			status = cout.status
		}
		b = append(b, n.request...)
		if n.callee.urlID {
			b = strconv.AppendInt(b, int64(g.rid), 10)
		}
		b = g.appendResponse(b, `","traced":true},"response":{"status":`, status, n.respBytes)

	case kindHTTP, kindSQL, kindAWS:
		end = start + g.latency(n.latency)
		status := n.okStatus
		retries := 0
		switch {
		case g.hit(siteThrottle, first && n.throttle):
			out = outcome{status: 429, err: true, throttle: true}
			status, retries = 429, 3
			end += 3 * g.latency(n.latency)
		case g.hit(siteFault, first && n.exc != nil):
			out = outcome{status: n.faultStatus, fault: true, exc: n.exc}
			status, cause = n.faultStatus, true
		}
		switch n.kind {
		case kindHTTP:
			b = g.appendResponse(b, `,"response":{"status":`, status, n.respBytes)
		case kindAWS:
			b = append(b, `,"aws":{`...)
			b = append(b, n.awsFields...)
			b = append(b, `,"request_id":"`...)
			b = g.appendRequestID(b, n.reqID)
			b = append(b, `","retries":`...)
			b = strconv.AppendInt(b, int64(retries), 10)
			b = g.appendResponse(b, `},"http":{"response":{"status":`, status, n.respBytes)
		}
	}

	b = appendFlags(b, out)
	if cause {
		b = g.appendCause(b, n.svc, n.exc)
	}
	b = append(b, `,"end_time":`...)
	b = appendTime(b, end)
	b = g.appendPadding(b, len(b)-spanStart-childBytes)
	g.spans++
	return append(b, '}'), end, out
}

// appendResponse writes prefix, the status, a content length for a success
// and closes the response and http objects.
func (g *Generator) appendResponse(b []byte, prefix string, status, size int) []byte {
	b = append(b, prefix...)
	b = strconv.AppendInt(b, int64(status), 10)
	if status < 300 && size > 0 {
		b = append(b, `,"content_length":`...)
		b = strconv.AppendInt(b, int64(size+g.rng.IntN(size+1)), 10)
	}
	return append(b, "}}"...)
}

func appendFlags(b []byte, o outcome) []byte {
	if o.fault {
		b = append(b, `,"fault":true`...)
	}
	if o.err {
		b = append(b, `,"error":true`...)
	}
	if o.throttle {
		b = append(b, `,"throttle":true`...)
	}
	return b
}

// appendCause writes a cause object with one exception, exc being its
// pre-encoded fields after the id.
func (g *Generator) appendCause(b []byte, svc *service, exc []byte) []byte {
	b = append(b, `,"cause":{"working_directory":"`...)
	b = append(b, svc.workdir...)
	b = append(b, `","exceptions":[{"id":"`...)
	b = appendHex(b, g.newID(), 16)
	b = append(b, '"')
	b = append(b, exc...)
	return append(b, "}]}"...)
}

func (g *Generator) appendAnnotations(b []byte, anns []annotation) []byte {
	if len(anns) == 0 {
		return b
	}
	b = append(b, `,"annotations":{`...)
	for i := range anns {
		a := &anns[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, a.key...)
		switch {
		case a.values != nil:
			b = append(b, '"')
			b = append(b, a.values[g.rng.IntN(len(a.values))]...)
			b = append(b, '"')
		case a.max > 0:
			b = strconv.AppendInt(b, int64(a.min+g.rng.IntN(a.max-a.min+1)), 10)
		case a.cents:
			v := 199 + g.rng.IntN(50000)
			b = strconv.AppendInt(b, int64(v/100), 10)
			b = append(b, '.', byte('0'+v/10%10), byte('0'+v%10))
		default:
			b = strconv.AppendBool(b, g.rng.IntN(4) == 0)
		}
	}
	return append(b, '}')
}

const (
	padOpen  = `,"metadata":{"default":{"padding":"`
	padClose = `"}}`
)

// appendPadding pads a span whose own JSON has size bytes so far (before its
// closing brace) to about opts.SpanBytes.
func (g *Generator) appendPadding(b []byte, size int) []byte {
	n := g.opts.SpanBytes - size - 1 - len(padOpen) - len(padClose)
	if g.opts.SpanBytes == 0 || n <= 0 {
		return b
	}
	b = append(b, padOpen...)
	b = append(b, g.pad[:n]...)
	return append(b, padClose...)
}

func (g *Generator) appendRequestID(b []byte, style reqIDStyle) []byte {
	switch style {
	case reqDynamoDB: // 52 characters of upper-case base32
		const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
		for range 4 {
			v := g.rng.Uint64()
			for range 13 {
				b = append(b, digits[v&31])
				v >>= 5
			}
		}
	case reqS3: // 16 upper-case hex digits
		const digits = "0123456789ABCDEF"
		v := g.rng.Uint64()
		for range 16 {
			b = append(b, digits[v&15])
			v >>= 4
		}
	default: // UUID
		hi, lo := g.rng.Uint64(), g.rng.Uint64()
		b = appendHex(b, hi>>32, 8)
		b = append(b, '-')
		b = appendHex(b, hi>>16&0xffff, 4)
		b = append(b, '-')
		b = appendHex(b, hi&0xffff, 4)
		b = append(b, '-')
		b = appendHex(b, lo>>48, 4)
		b = append(b, '-')
		b = appendHex(b, lo&0xffffffffffff, 12)
	}
	return b
}

// latency returns a call's duration in microseconds around median: mostly
// near it, sometimes tens to hundreds of times longer.
func (g *Generator) latency(median int64) int64 {
	d := float64(median) * (0.3 + 0.7*g.rng.ExpFloat64())
	if g.rng.Float64() < pSlow {
		d *= 20 + 300*g.rng.Float64()
	}
	return int64(d) + 1
}

// between returns a small gap of up to about 2×mean microseconds, at least 1.
func (g *Generator) between(mean int) int64 {
	return int64(1 + g.rng.IntN(2*mean))
}

// newID returns a non-zero 64-bit id, unique for the generator's lifetime:
// a bijective mix of a counter.
func (g *Generator) newID() uint64 {
	for {
		g.idSeq++
		if id := mix64(g.idKey + g.idSeq); id != 0 {
			return id
		}
	}
}

// begin opens a document at the next nesting level and returns its buffer.
func (g *Generator) begin() []byte {
	g.level++
	for g.level >= len(g.bufs) {
		g.bufs = append(g.bufs, make([]byte, 0, 4096))
	}
	return g.bufs[g.level][:0]
}

// finish closes the document opened by the matching begin.
func (g *Generator) finish(b []byte) {
	g.arena = append(g.arena, b...)
	g.ends = append(g.ends, len(g.arena))
	g.bufs[g.level] = b[:0]
	g.level--
}

// mix64 is the splitmix64 finalizer, a bijection on uint64.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// appendHex appends the low 4×n bits of v as n lower-case hex digits.
func appendHex(b []byte, v uint64, n int) []byte {
	const digits = "0123456789abcdef"
	for i := n - 1; i >= 0; i-- {
		b = append(b, digits[v>>(4*uint(i))&15])
	}
	return b
}

// appendTime appends epoch microseconds as seconds with six decimals.
func appendTime(b []byte, us int64) []byte {
	b = strconv.AppendInt(b, us/1e6, 10)
	f := us % 1e6
	return append(b, '.',
		byte('0'+f/100000), byte('0'+f/10000%10), byte('0'+f/1000%10),
		byte('0'+f/100%10), byte('0'+f/10%10), byte('0'+f%10))
}

// The demo topology. Everything below is built once per Generator and only
// read afterwards; strings are plain ASCII that needs no JSON escaping.

// siteKind is the failure a trace carries.
type siteKind int

const (
	siteNone     siteKind = iota
	siteError             // an operation answers 4xx
	siteThrottle          // DynamoDB answers 429
	siteFault             // a call or local code fails with an exception
	nSiteKinds
)

type nodeKind uint8

const (
	kindLocal   nodeKind = iota // local subsegment, no namespace; may hold children
	kindService                 // http call to an instrumented service: remote subsegment plus the callee's segment
	kindHTTP                    // http call to an uninstrumented host: remote subsegment only
	kindSQL                     // PostgreSQL query
	kindAWS                     // AWS SDK call
)

type reqIDStyle uint8

const (
	reqUUID reqIDStyle = iota
	reqDynamoDB
	reqS3
)

type service struct {
	name    string
	workdir string
	statics [][]byte // variants (instances) of the segment's fixed fields: origin, aws, service
	frames  string   // pre-encoded outer stack frames of the service's request handler
}

// operation is an endpoint of a service: one segment.
type operation struct {
	svc         *service
	edge        bool   // the gateway: client fields, user, 502 for downstream faults
	request     []byte // `,"http":{"request":{"method":"…","url":"…` without the closing quote
	urlID       bool   // the URL ends with a numeric resource id
	okStatus    int
	errStatus   int // 4xx answered in error traces, 0 = never
	respBytes   int
	annotations []annotation
	children    []*node

	loop        *node // the child repeated minRep..maxRep times, if any
	subsegments int   // subsegments in the segment's own document, loop counted once
	maxSpans    int   // spans in the segment's own document at most
}

// node is a subsegment of an operation.
type node struct {
	kind        nodeKind
	name        string
	svc         *service // the service making the call
	static      []byte   // fixed fields written after start_time
	request     []byte   // kindService: `,"http":{"request":{…"url":"…` without the closing quote
	callee      *operation
	awsFields   []byte
	reqID       reqIDStyle
	latency     int64 // median microseconds of a leaf
	okStatus    int
	faultStatus int
	respBytes   int
	throttle    bool   // a throttle site
	exc         []byte // a fault site: the exception's fields after its id
	children    []*node
	minRep      int // > 0: repeated (an N+1 query loop)
	maxRep      int
}

type annotation struct {
	key    string   // `"key":`
	values []string // a string among values, or
	min    int      // an integer in [min, max] when max > 0, or
	max    int
	cents  bool // a price with two decimals, or else a boolean
}

type route struct {
	op     *operation
	weight int
	sites  [nSiteKinds]int // failure sites of each kind
}

type topology struct {
	routes     []route
	weight     int
	userAgents []string
}

func newTopology() *topology {
	t := &topology{userAgents: []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148",
		"ShopApp/4.2.1 (Android 14; Pixel 8)",
		"curl/8.5.0",
	}}
	gw := &service{name: "api-gateway", workdir: "/srv/api-gateway",
		frames: `{"path":"gateway/proxy.go","line":118,"label":"(*Proxy).ServeHTTP"},{"path":"net/http/server.go","line":3210,"label":"serverHandler.ServeHTTP"}`}
	for _, az := range []string{"a", "b", "c"} {
		gw.statics = append(gw.statics, segStatic("AWS::EC2::Instance",
			`"ec2":{"instance_id":"i-0b5a4c3f2e1d0987`+az+`","availability_zone":"us-east-1`+az+`"}`,
			"X-Ray for Go", "1.8.4", "1.14.2"))
	}
	orders := &service{name: "orders", workdir: "/app",
		frames: `{"path":"orders/http.go","line":64,"label":"(*Server).ServeHTTP"},{"path":"net/http/server.go","line":3210,"label":"serverHandler.ServeHTTP"}`}
	for _, pod := range []string{"k2x7p", "m8q4z", "t5w9d"} {
		orders.statics = append(orders.statics, segStatic("AWS::ECS::Container",
			`"ecs":{"container":"orders-6d9f8b7c5-`+pod+`"}`, "X-Ray for Go", "1.8.4", "2.7.0"))
	}
	payments := &service{name: "payments", workdir: "/opt/payments",
		frames: `{"path":"ChargeController.java","line":57,"label":"com.shop.payments.ChargeController.charge"},{"path":"FrameworkServlet.java","line":914,"label":"org.springframework.web.servlet.FrameworkServlet.service"}`}
	for _, pod := range []string{"q4r2t", "v7n3k"} {
		payments.statics = append(payments.statics, segStatic("AWS::EKS::Container",
			`"eks":{"pod":"payments-7c6d5b9f8-`+pod+`","cluster_name":"shop-prod"}`, "X-Ray for Java", "2.15.1", "3.2.1"))
	}
	inventory := &service{name: "inventory", workdir: "/usr/src/app",
		frames: `{"path":"/usr/src/app/routes.js","line":88,"label":"router.handle"},{"path":"/usr/src/app/node_modules/express/lib/router/layer.js","line":95,"label":"Layer.handle"}`}
	for _, task := range []string{"3b1f", "9c2e"} {
		inventory.statics = append(inventory.statics, segStatic("AWS::ECS::Container",
			`"ecs":{"container":"inventory-`+task+`","launch_type":"FARGATE"}`, "X-Ray for Node.js", "3.5.3", "0.19.4"))
	}
	users := &service{name: "users", workdir: "/var/app/current",
		frames: `{"path":"/var/app/current/users/views.py","line":42,"label":"dispatch"},{"path":"/var/app/venv/lib/python3.12/site-packages/flask/app.py","line":880,"label":"full_dispatch_request"}`}
	users.statics = append(users.statics, segStatic("AWS::ElasticBeanstalk::Environment",
		`"elastic_beanstalk":{"environment_name":"users-prod","version_label":"users-v42","deployment_id":17}`,
		"X-Ray for Python", "2.12.1", "5.0.3"))

	ms := time.Millisecond
	verify := &operation{svc: users, request: request("POST", "http://users.internal:8000/v1/tokens/verify"),
		okStatus: 200, errStatus: 401, respBytes: 120,
		annotations: []annotation{choice("auth_method", "jwt", "api_key")},
		children: []*node{
			users.local("cache_get", ms/5),
			users.dynamo("GetItem", `"table_name":"sessions"`, 4*ms),
			users.local("verify_jwt", ms/3),
		}}
	profile := &operation{svc: users, request: request("GET", "http://users.internal:8000/v1/users/"), urlID: true,
		okStatus: 200, errStatus: 404, respBytes: 900,
		annotations: []annotation{choice("plan", "free", "plus", "business")},
		children: []*node{
			users.sql("users", "SELECT * FROM users WHERE id = $1", 2*ms,
				"/var/app/current/users/repo.py", 31, "get_user"),
			users.dynamo("GetItem", `"table_name":"user-preferences"`, 5*ms),
			users.local("serialize_profile", ms/5),
		}}

	reserve := &operation{svc: inventory, request: request("POST", "http://inventory.internal:3000/reservations"),
		okStatus: 201, errStatus: 409, respBytes: 200,
		annotations: []annotation{choice("warehouse", "iad-1", "iad-2", "cmh-1"), integer("units", 1, 12)},
		children: []*node{
			inventory.dynamo("UpdateItem", `"table_name":"stock"`, 6*ms),
			inventory.dynamo("PutItem", `"table_name":"reservations"`, 5*ms),
		}}
	products := &operation{svc: inventory, request: request("GET", "http://inventory.internal:3000/products"),
		okStatus: 200, errStatus: 400, respBytes: 6000,
		annotations: []annotation{choice("category", "books", "garden", "kitchen", "toys"), boolean("cache_hit")},
		children: []*node{
			inventory.local("cache_get", ms/5),
			inventory.dynamo("Query", `"table_name":"products"`, 8*ms),
			inventory.aws("S3", "GetObject", `"bucket_name":"shop-catalog-assets","key":"manifests/latest.json"`, reqS3, 15*ms, 200, 4000),
			inventory.local("paginate", ms/10),
			inventory.bug(inventory.local("rank_results", ms), "TypeError",
				"Cannot read properties of undefined (reading 'score')", "/usr/src/app/ranking.js", 27, "rankResults"),
		}}

	charge := &operation{svc: payments, request: request("POST", "http://payments.internal:8080/v1/charges"),
		okStatus: 201, errStatus: 402, respBytes: 300,
		annotations: []annotation{choice("currency", "USD", "EUR", "GBP"), {key: `"amount":`, cents: true}, choice("psp", "partner")},
		children: []*node{
			payments.bug(payments.local("fraud_check", 2*ms), "java.lang.NullPointerException",
				"Cannot invoke String.length() because card.holder is null", "FraudRules.java", 133, "com.shop.payments.FraudRules.score"),
			payments.local("tokenize_card", ms/2),
			payments.http("api.partner.example", "POST", "https://api.partner.example/v1/charges", 45*ms),
			payments.dynamo("PutItem", `"table_name":"payments"`, 5*ms),
			payments.aws("SNS", "Publish", `"topic_arn":"arn:aws:sns:us-east-1:123456789012:payment-events"`, reqUUID, 9*ms, 200, 300),
		}}

	getOrder := &operation{svc: orders, request: request("GET", "http://orders.internal:8080/orders/"), urlID: true,
		okStatus: 200, errStatus: 404, respBytes: 1500,
		annotations: []annotation{integer("order_items", 1, 12)},
		children: []*node{
			orders.local("check_access", ms/5),
			orders.sql("orders", "SELECT * FROM orders WHERE id = $1", 2*ms,
				"orders/store.go", 88, "(*Store).Order"),
			orders.sql("orders", "SELECT * FROM order_items WHERE order_id = $1", 2*ms,
				"orders/store.go", 104, "(*Store).Items"),
			orders.local("render_response", ms/4),
		}}
	itemsLoop := orders.sql("orders", "SELECT * FROM order_items WHERE order_id = $1", 2*ms,
		"orders/store.go", 104, "(*Store).Items")
	itemsLoop.minRep, itemsLoop.maxRep = 2, 26
	listOrders := &operation{svc: orders, request: request("GET", "http://orders.internal:8080/orders?customer="), urlID: true,
		okStatus: 200, errStatus: 400, respBytes: 9000,
		annotations: []annotation{integer("page_size", 10, 50)},
		children: []*node{
			orders.sql("orders", "SELECT * FROM orders WHERE customer_id = $1 LIMIT $2", 4*ms,
				"orders/store.go", 61, "(*Store).OrdersOf"),
			itemsLoop,
			orders.local("render_response", ms/2),
		}}
	createOrder := &operation{svc: orders, request: request("POST", "http://orders.internal:8080/orders"),
		okStatus: 201, errStatus: 422, respBytes: 400,
		annotations: []annotation{integer("order_items", 1, 12), boolean("express")},
		children: []*node{
			orders.bug(orders.local("validate_cart", ms/2), "*errors.errorString",
				"runtime error: index out of range [3] with length 3", "orders/cart.go", 47, "Cart.Validate"),
			orders.local("compute_totals", ms/5),
			orders.call(reserve, "reserve: POST http://inventory.internal:3000/reservations: 500 Internal Server Error"),
			orders.call(charge, "charge: POST http://payments.internal:8080/v1/charges: 500 Internal Server Error"),
			orders.local("db_transaction", 0,
				orders.sql("orders", "INSERT INTO orders VALUES ($1, $2, $3) RETURNING id", 3*ms,
					"orders/store.go", 140, "(*Store).CreateOrder"),
				orders.sql("orders", "INSERT INTO order_items SELECT * FROM unnest($1, $2, $3)", 3*ms,
					"orders/store.go", 151, "(*Store).CreateOrder"),
				orders.sql("orders", "COMMIT", ms, "orders/store.go", 160, "(*Store).CreateOrder"),
			),
			orders.aws("SQS", "SendMessage", `"queue_url":"https://sqs.us-east-1.amazonaws.com/123456789012/order-events"`, reqUUID, 8*ms, 200, 350),
		}}

	edge := func(method, path string, urlID bool, children ...*node) *operation {
		route := method + " " + path
		if urlID {
			route += "{id}"
		}
		return &operation{svc: gw, edge: true, request: request(method, "https://api.shop.example"+path), urlID: urlID,
			okStatus: 200, respBytes: 800, children: append([]*node{gw.local("rate_limit", ms/10)}, children...),
			annotations: []annotation{
				choice("route", route),
				choice("customer_tier", "free", "pro", "enterprise"),
			}}
	}
	t.routes = []route{
		{weight: 30, op: edge("GET", "/api/orders/", true,
			gw.call(verify, "users: POST http://users.internal:8000/v1/tokens/verify: 500"),
			gw.call(getOrder, "orders: GET http://orders.internal:8080/orders: 500"))},
		{weight: 14, op: edge("POST", "/api/orders", false,
			gw.call(verify, "users: POST http://users.internal:8000/v1/tokens/verify: 500"),
			gw.call(createOrder, "orders: POST http://orders.internal:8080/orders: 500"))},
		{weight: 28, op: edge("GET", "/api/products", false,
			gw.call(products, "inventory: GET http://inventory.internal:3000/products: 500"))},
		{weight: 6, op: edge("GET", "/api/orders", false,
			gw.call(verify, "users: POST http://users.internal:8000/v1/tokens/verify: 500"),
			gw.call(listOrders, "orders: GET http://orders.internal:8080/orders: 500"))},
		{weight: 12, op: edge("GET", "/api/me", false,
			gw.call(verify, "users: POST http://users.internal:8000/v1/tokens/verify: 500"),
			gw.call(profile, "users: GET http://users.internal:8000/v1/users: 500"))},
		{weight: 10, op: edge("GET", "/healthz", false)},
	}
	for i := range t.routes {
		r := &t.routes[i]
		t.weight += r.weight
		r.op.walk(&r.sites)
	}
	return t
}

// walk derives op's counts and adds its failure sites, and those of its
// callees, to sites.
func (op *operation) walk(sites *[nSiteKinds]int) {
	if op.errStatus != 0 {
		sites[siteError]++
	}
	op.subsegments, op.maxSpans = 0, 1
	var visit func(n *node)
	visit = func(n *node) {
		op.subsegments++
		op.maxSpans += max(n.maxRep, 1)
		if n.minRep > 0 {
			op.loop = n
		}
		if n.throttle {
			sites[siteThrottle]++
		}
		if n.exc != nil && n.kind != kindService {
			sites[siteFault]++
		}
		if n.callee != nil {
			n.callee.walk(sites)
		}
		for _, c := range n.children {
			visit(c)
		}
	}
	for _, n := range op.children {
		visit(n)
	}
}

func segStatic(origin, resource, sdk, sdkVersion, version string) []byte {
	return []byte(`,"origin":"` + origin + `","aws":{` + resource + `,"xray":{"sdk":"` + sdk +
		`","sdk_version":"` + sdkVersion + `"}},"service":{"version":"` + version + `"}`)
}

func request(method, url string) []byte {
	return []byte(`,"http":{"request":{"method":"` + method + `","url":"` + url)
}

func choice(key string, values ...string) annotation {
	return annotation{key: `"` + key + `":`, values: values}
}

func integer(key string, lo, hi int) annotation {
	return annotation{key: `"` + key + `":`, min: lo, max: hi}
}

func boolean(key string) annotation { return annotation{key: `"` + key + `":`} }

// exc pre-encodes an exception thrown at path:line in label, inside the
// service's request handler.
func (s *service) exc(typ, msg string, remote bool, path string, line int, label string) []byte {
	b := []byte(`,"type":"` + typ + `","message":"` + msg + `"`)
	if remote {
		b = append(b, `,"remote":true`...)
	}
	b = append(b, `,"stack":[{"path":"`+path+`","line":`+strconv.Itoa(line)+`,"label":"`+label+`"},`...)
	b = append(b, s.frames...)
	return append(b, ']')
}

func (s *service) local(name string, latency time.Duration, children ...*node) *node {
	return &node{kind: kindLocal, name: name, svc: s, latency: latency.Microseconds(), children: children}
}

// bug makes the local node n a fault site throwing typ.
func (s *service) bug(n *node, typ, msg, path string, line int, label string) *node {
	n.exc = s.exc(typ, msg, false, path, line, label)
	return n
}

func (s *service) sql(db, query string, latency time.Duration, path string, line int, label string) *node {
	return &node{kind: kindSQL, name: db + "@db.internal", svc: s, latency: latency.Microseconds(),
		static: []byte(`,"namespace":"remote","sql":{"url":"postgresql://db.internal:5432/` + db +
			`","sanitized_query":"` + query + `","database_type":"PostgreSQL","database_version":"16.3",` +
			`"driver_version":"pgx/v5.6.0","user":"` + s.name + `_svc"}`),
		exc: s.exc("*pgconn.PgError", "ERROR: canceling statement due to statement timeout (SQLSTATE 57014)",
			true, path, line, label),
	}
}

func (s *service) aws(name, op, fields string, style reqIDStyle, latency time.Duration, status, size int) *node {
	return &node{kind: kindAWS, name: name, svc: s, latency: latency.Microseconds(), reqID: style,
		okStatus: status, faultStatus: 500, respBytes: size,
		static:    []byte(`,"namespace":"aws"`),
		awsFields: []byte(`"operation":"` + op + `","region":"us-east-1",` + fields),
		exc: s.exc("InternalServerError", name+" "+op+": We encountered an internal error. Please try again.",
			true, s.workdir+"/aws.go", 211, name+"."+op),
	}
}

func (s *service) dynamo(op, fields string, latency time.Duration) *node {
	n := s.aws("DynamoDB", op, fields, reqDynamoDB, latency, 200, 150)
	n.throttle = true
	return n
}

func (s *service) http(host, method, url string, latency time.Duration) *node {
	return &node{kind: kindHTTP, name: host, svc: s, latency: latency.Microseconds(),
		okStatus: 200, faultStatus: 503, respBytes: 250,
		static: []byte(`,"namespace":"remote","http":{"request":{"method":"` + method + `","url":"` + url + `"}`),
		exc:    s.exc("HttpServerErrorException", "503 Service Unavailable from "+host, true, "PartnerClient.java", 72, "com.shop.payments.PartnerClient.charge"),
	}
}

// call makes a traced http call to op; msg is the caller's error when op faults.
func (s *service) call(op *operation, msg string) *node {
	return &node{kind: kindService, name: op.svc.name, svc: s, callee: op, okStatus: op.okStatus, respBytes: op.respBytes,
		static:  []byte(`,"namespace":"remote"`),
		request: op.request,
		exc:     s.exc("RemoteError", msg, true, s.workdir+"/client.go", 39, "Client.Do"),
	}
}
