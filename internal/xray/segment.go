// Package xray translates the X-Ray wire formats to and from Fluoro's model:
// daemon datagrams and segment documents in, API shapes out. It does no I/O.
package xray

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// MaxDocumentSize is X-Ray's limit on one segment document.
const MaxDocumentSize = 64 * 1024

// Error codes, as X-Ray reports them in UnprocessedTraceSegments.
const (
	CodeInvalidJSON      = "InvalidJSON"
	CodeMissingID        = "MissingId"
	CodeInvalidTraceID   = "InvalidTraceId"
	CodeInvalidName      = "InvalidName"
	CodeMissingParentID  = "MissingParentId"
	CodeInvalidSegment   = "InvalidSegment"
	CodeInvalidTimes     = "InvalidTimes"
	CodeInvalidAnnotaton = "InvalidAnnotation"
	CodeTooLarge         = "SegmentTooLarge"
)

// DocError is a rejected document: Code is X-Ray's error code, ID the
// document's id when one could be read.
type DocError struct {
	ID      string
	Code    string
	Message string
}

func (e *DocError) Error() string { return e.Code + ": " + e.Message }

// parsers are reused across documents: fastjson's parser keeps its buffers.
var parsers fastjson.ParserPool

// Decode parses and validates one segment document: a segment, an
// independent subsegment, or a JSON array of independent subsegments. It
// returns one Span per document object. A rejected document yields a
// *DocError and no spans: X-Ray accepts or rejects a document as a whole.
// A span's Doc aliases doc, except for the elements of an array document,
// which are re-serialised one by one; decoded strings never alias doc.
func Decode(doc []byte) ([]model.Span, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) > MaxDocumentSize {
		return nil, &DocError{ID: sniffID(doc), Code: CodeTooLarge,
			Message: fmt.Sprintf("document is %d bytes, over the %d-byte limit", len(doc), MaxDocumentSize)}
	}
	p := parsers.Get()
	defer parsers.Put(p)
	// fastjson's parser is lenient (it takes .5, 01, bad escapes and raw
	// control characters); its validator is as strict as encoding/json.
	err := fastjson.ValidateBytes(doc)
	var v *fastjson.Value
	if err == nil {
		v, err = p.ParseBytes(doc)
	}
	if err != nil {
		return nil, &DocError{ID: sniffID(doc), Code: CodeInvalidJSON, Message: "document is not valid JSON: " + err.Error()}
	}
	if v.Type() == fastjson.TypeArray {
		elems, _ := v.Array()
		spans := make([]model.Span, 0, len(elems))
		for _, e := range elems {
			s, err := decodeOne(e, e.MarshalTo(nil))
			if err != nil {
				return nil, err
			}
			if !s.Independent {
				return nil, &DocError{ID: s.Root.ID.String(), Code: CodeInvalidSegment,
					Message: `an array document may hold only subsegments with "type": "subsegment"`}
			}
			spans = append(spans, s)
		}
		if len(spans) == 0 {
			return nil, &DocError{Code: CodeInvalidSegment, Message: "document is an empty array"}
		}
		return spans, nil
	}
	s, err := decodeOne(v, doc)
	if err != nil {
		return nil, err
	}
	return []model.Span{s}, nil
}

func decodeOne(v *fastjson.Value, doc []byte) (model.Span, error) {
	if v.Type() != fastjson.TypeObject {
		return model.Span{}, &DocError{Code: CodeInvalidJSON, Message: "document is not a JSON object"}
	}
	id := stringField(v, "id")
	span := model.Span{Doc: doc, Independent: strings.EqualFold(stringField(v, "type"), "subsegment")}
	kind := "segment"
	if span.Independent {
		kind = "subsegment"
	}
	tv := v.Get("trace_id")
	if tv == nil {
		return span, &DocError{ID: id, Code: CodeInvalidTraceID, Message: kind + " has no trace_id"}
	}
	traceID := stringOf(tv)
	tid, err := model.ParseTraceID(traceID)
	if err != nil || tid.IsZero() {
		if err == nil {
			err = fmt.Errorf("the all-zero trace id is reserved for disabled SDKs")
		}
		return span, &DocError{ID: id, Code: CodeInvalidTraceID, Message: fmt.Sprintf("trace_id %q: %v", truncate(traceID, 60), err)}
	}
	span.TraceID = tid
	if span.Independent && stringField(v, "parent_id") == "" {
		return span, &DocError{ID: id, Code: CodeMissingParentID, Message: "independent subsegment has no parent_id"}
	}
	if err := decodeEntity(v, &span.Root, kind, id, 0); err != nil {
		return span, err
	}
	return span, nil
}

const maxDepth = 64

// decodeEntity reads a segment or subsegment object into e, validating it.
// Fields of unexpected JSON types are ignored, except those X-Ray requires.
// docID is the id of the document's top object, which errors report (X-Ray's
// UnprocessedTraceSegments.Id); the message names the entity at fault.
func decodeEntity(v *fastjson.Value, e *model.Entity, kind, docID string, depth int) error {
	obj, err := v.Object()
	if err != nil {
		return &DocError{ID: docID, Code: CodeInvalidSegment, Message: kind + " is not a JSON object"}
	}
	idv := obj.Get("id")
	if idv == nil || stringOf(idv) == "" {
		return &DocError{ID: docID, Code: CodeMissingID, Message: kind + " has no id"}
	}
	rawID := stringOf(idv)
	if depth == 0 {
		docID = rawID
	}
	if depth > maxDepth {
		return &DocError{ID: docID, Code: CodeInvalidSegment, Message: fmt.Sprintf("subsegments nested deeper than %d levels", maxDepth)}
	}
	id, err := model.ParseSpanID(rawID)
	if err == nil && id == 0 {
		err = errZeroID
	}
	if err != nil {
		return &DocError{ID: docID, Code: CodeMissingID, Message: fmt.Sprintf("%s id %q: %v", kind, truncate(rawID, 60), err)}
	}
	e.ID = id
	fail := func(code, format string, args ...any) error {
		return &DocError{ID: docID, Code: code, Message: kind + " " + rawID + ": " + fmt.Sprintf(format, args...)}
	}
	var (
		name, start, end *fastjson.Value
		subsegments      *fastjson.Value
		failure          error
	)
	obj.Visit(func(key []byte, f *fastjson.Value) {
		if failure != nil {
			return
		}
		switch string(key) {
		case "name":
			name = f
		case "start_time":
			start = f
		case "end_time":
			end = f
		case "parent_id":
			if p := stringOf(f); p != "" {
				pid, err := model.ParseSpanID(p)
				if err == nil && pid == 0 {
					err = errZeroID
				}
				if err != nil {
					failure = fail(CodeInvalidSegment, "parent_id %q: %v", truncate(p, 60), err)
					return
				}
				e.ParentID = pid
			}
		case "in_progress":
			e.InProgress = f.Type() == fastjson.TypeTrue
		case "origin":
			e.Origin = stringOf(f)
		case "namespace":
			e.Namespace = stringOf(f)
		case "user":
			e.User = stringOf(f)
		case "resource_arn":
			e.ResourceARN = stringOf(f)
		case "fault":
			e.Fault = f.Type() == fastjson.TypeTrue
		case "error":
			e.Error = f.Type() == fastjson.TypeTrue
		case "throttle":
			e.Throttle = f.Type() == fastjson.TypeTrue
		case "http":
			decodeHTTP(f, &e.HTTP)
		case "aws":
			decodeAWS(f, e)
		case "sql":
			if f.Type() == fastjson.TypeObject {
				e.SQL = &model.SQL{URL: stringField(f, "url"), SanitizedQuery: stringField(f, "sanitized_query"),
					DatabaseType: stringField(f, "database_type"), User: stringField(f, "user")}
			}
		case "cause":
			e.Exceptions = decodeCause(f)
		case "annotations":
			failure = decodeAnnotations(f, e, fail)
		case "subsegments":
			subsegments = f
		}
	})
	if failure != nil {
		return failure
	}
	if name == nil {
		return fail(CodeInvalidName, "name is missing")
	}
	if name.Type() != fastjson.TypeString {
		return fail(CodeInvalidName, "name must be a string")
	}
	e.Name = stringOf(name)
	if msg := checkName(e.Name); msg != "" {
		return fail(CodeInvalidName, "name %q %s", truncate(e.Name, 60), msg)
	}
	var ok bool
	if e.Start, ok = number(start); !ok {
		return fail(CodeInvalidTimes, "start_time must be a finite number of epoch seconds")
	}
	if end != nil && end.Type() != fastjson.TypeNull {
		if e.End, ok = number(end); !ok {
			return fail(CodeInvalidTimes, "end_time must be a finite number of epoch seconds")
		}
		if e.End < e.Start {
			return fail(CodeInvalidTimes, "end_time %v is before start_time %v", e.End, e.Start)
		}
		e.InProgress = false
	} else if !e.InProgress {
		return fail(CodeInvalidTimes, "has neither end_time nor in_progress: true")
	}
	if subsegments != nil {
		subs, err := subsegments.Array()
		if err != nil {
			return fail(CodeInvalidSegment, "subsegments must be an array")
		}
		if len(subs) > 0 {
			e.Subsegments = make([]model.Entity, len(subs))
			for i, sv := range subs {
				if err := decodeEntity(sv, &e.Subsegments[i], "subsegment", docID, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func decodeHTTP(v *fastjson.Value, h *model.HTTP) {
	if req := v.Get("request"); req != nil && req.Type() == fastjson.TypeObject {
		h.Method, h.URL = stringField(req, "method"), stringField(req, "url")
		h.UserAgent, h.ClientIP = stringField(req, "user_agent"), stringField(req, "client_ip")
		h.Traced = req.GetBool("traced")
	}
	if st := v.Get("response", "status"); st != nil {
		if n, ok := number(st); ok && n >= 0 && n < 1000 {
			h.Status = int(n)
		}
	}
}

func decodeAWS(v *fastjson.Value, e *model.Entity) {
	if v.Type() != fastjson.TypeObject {
		return
	}
	e.AccountID = stringField(v, "account_id")
	if ec2 := v.Get("ec2"); ec2 != nil {
		e.InstanceID, e.AvailabilityZone = stringField(ec2, "instance_id"), stringField(ec2, "availability_zone")
	}
	e.AWS = model.AWSCall{Operation: stringField(v, "operation"), Region: stringField(v, "region"),
		TableName: stringField(v, "table_name"), QueueURL: stringField(v, "queue_url"),
		Bucket: stringField(v, "bucket_name"), Function: stringField(v, "function_name")}
}

// decodeCause accepts the three wire forms of cause: an object with
// exceptions, a bare exception id string, and {"id": ...}. Only the first
// carries exceptions; the others point at one recorded below.
func decodeCause(v *fastjson.Value) []model.Exception {
	exs := v.GetArray("exceptions")
	if len(exs) == 0 {
		return nil
	}
	out := make([]model.Exception, 0, len(exs))
	for _, x := range exs {
		if x.Type() != fastjson.TypeObject {
			continue
		}
		out = append(out, model.Exception{ID: stringField(x, "id"), Type: stringField(x, "type"),
			Message: stringField(x, "message"), Remote: x.GetBool("remote")})
	}
	return out
}

func decodeAnnotations(v *fastjson.Value, e *model.Entity, fail func(code, format string, args ...any) error) error {
	obj, err := v.Object()
	if err != nil {
		return fail(CodeInvalidAnnotaton, "annotations must be an object")
	}
	var failure error
	obj.Visit(func(key []byte, f *fastjson.Value) {
		if failure != nil {
			return
		}
		k := string(key)
		if msg := checkAnnotationKey(k); msg != "" {
			failure = fail(CodeInvalidAnnotaton, "annotation key %q %s", truncate(k, 60), msg)
			return
		}
		var val model.Value
		switch f.Type() {
		case fastjson.TypeString:
			val = model.Value{Kind: model.String, Str: stringOf(f)}
		case fastjson.TypeNumber:
			n, ok := number(f)
			if !ok {
				failure = fail(CodeInvalidAnnotaton, "annotation %q is a number out of range", k)
				return
			}
			val = model.Value{Kind: model.Number, Num: n}
		case fastjson.TypeTrue, fastjson.TypeFalse:
			val = model.Value{Kind: model.Bool, Bool: f.Type() == fastjson.TypeTrue}
		default:
			failure = fail(CodeInvalidAnnotaton, "annotation %q must be a string, number or boolean", k)
			return
		}
		// A key repeated in one object: the last value wins, as in encoding/json.
		for i := range e.Annotations {
			if e.Annotations[i].Key == k {
				e.Annotations[i].Value = val
				return
			}
		}
		e.Annotations = append(e.Annotations, model.Annotation{Key: k, Value: val})
	})
	if failure != nil {
		return failure
	}
	sortAnnotations(e.Annotations)
	return nil
}

var errZeroID = errors.New("the all-zero id is reserved for disabled SDKs")

// number reads a JSON number exactly (fastjson's own conversion can be off by
// an ulp for exponent forms such as 1.478293361271E9); ok is false for other
// types and for numbers beyond float64's range.
func number(v *fastjson.Value) (float64, bool) {
	if v == nil || v.Type() != fastjson.TypeNumber {
		return 0, false
	}
	var buf [32]byte
	f, err := strconv.ParseFloat(string(v.MarshalTo(buf[:0])), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// stringOf returns a string value (copied), or "" for any other type.
func stringOf(v *fastjson.Value) string {
	if v == nil || v.Type() != fastjson.TypeString {
		return ""
	}
	b, _ := v.StringBytes()
	return string(b)
}

func stringField(v *fastjson.Value, key string) string { return stringOf(v.Get(key)) }

// checkName applies X-Ray's rule for names: at most 200 characters of
// Unicode letters, digits, whitespace and _ . : / % & # = + \ - @.
func checkName(name string) string {
	if name == "" {
		return "is empty"
	}
	if !utf8.ValidString(name) {
		return "is not valid UTF-8"
	}
	if n := utf8.RuneCountInString(name); n > 200 {
		return fmt.Sprintf("is %d characters long, over the 200 allowed", n)
	}
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsSpace(r) || unicode.IsMark(r) {
			continue
		}
		if !strings.ContainsRune(`_.:/%&#=+\-@`, r) {
			return fmt.Sprintf("contains %q; names may hold letters, digits, spaces and _ . : / %% & # = + \\ - @", r)
		}
	}
	return ""
}

// checkAnnotationKey accepts any printable key up to 500 bytes. X-Ray's
// filters reach keys outside [A-Za-z0-9_] with annotation[key].
func checkAnnotationKey(k string) string {
	if k == "" {
		return "is empty"
	}
	if len(k) > 500 {
		return "is longer than 500 bytes"
	}
	if !utf8.ValidString(k) {
		return "is not valid UTF-8"
	}
	for _, r := range k {
		if unicode.IsControl(r) {
			return "contains a control character"
		}
	}
	return ""
}

func sortAnnotations(a []model.Annotation) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].Key < a[j-1].Key; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// sniffID finds the document's "id" for an error report when the document
// cannot be decoded, as the X-Ray daemon does with a regular expression.
func sniffID(doc []byte) string {
	i := bytes.Index(doc, []byte(`"id"`))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(doc[i+4:], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) < 18 || rest[0] != '"' || rest[17] != '"' {
		return ""
	}
	if _, err := model.ParseSpanID(string(rest[1:17])); err != nil {
		return ""
	}
	return string(rest[1:17])
}
