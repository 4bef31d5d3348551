// Package xray translates the X-Ray wire formats to and from Fluoro's model:
// daemon datagrams and segment documents in, API shapes out. It does no I/O.
package xray

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

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

// wire mirrors the fields of a segment document that Fluoro reads. Unknown
// fields are ignored; fields with several wire forms are RawMessage.
type wire struct {
	Name        *string                    `json:"name"`
	ID          *string                    `json:"id"`
	TraceID     *string                    `json:"trace_id"`
	ParentID    *string                    `json:"parent_id"`
	Type        string                     `json:"type"`
	StartTime   json.RawMessage            `json:"start_time"`
	EndTime     json.RawMessage            `json:"end_time"`
	InProgress  bool                       `json:"in_progress"`
	Origin      string                     `json:"origin"`
	Namespace   string                     `json:"namespace"`
	User        string                     `json:"user"`
	ResourceARN string                     `json:"resource_arn"`
	Fault       bool                       `json:"fault"`
	Error       bool                       `json:"error"`
	Throttle    bool                       `json:"throttle"`
	HTTP        *wireHTTP                  `json:"http"`
	AWS         *wireAWS                   `json:"aws"`
	SQL         *wireSQL                   `json:"sql"`
	Cause       json.RawMessage            `json:"cause"`
	Annotations map[string]json.RawMessage `json:"annotations"`
	Subsegments []wire                     `json:"subsegments"`
}

type wireHTTP struct {
	Request *struct {
		Method    string `json:"method"`
		URL       string `json:"url"`
		UserAgent string `json:"user_agent"`
		ClientIP  string `json:"client_ip"`
		Traced    bool   `json:"traced"`
	} `json:"request"`
	Response *struct {
		Status json.RawMessage `json:"status"`
	} `json:"response"`
}

type wireAWS struct {
	AccountID string `json:"account_id"`
	EC2       *struct {
		InstanceID       string `json:"instance_id"`
		AvailabilityZone string `json:"availability_zone"`
	} `json:"ec2"`
	Operation  string `json:"operation"`
	Region     string `json:"region"`
	TableName  string `json:"table_name"`
	QueueURL   string `json:"queue_url"`
	BucketName string `json:"bucket_name"`
	Function   string `json:"function_name"`
}

type wireSQL struct {
	URL            string `json:"url"`
	SanitizedQuery string `json:"sanitized_query"`
	DatabaseType   string `json:"database_type"`
	User           string `json:"user"`
}

type wireCause struct {
	Exceptions []struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Message string `json:"message"`
		Remote  bool   `json:"remote"`
	} `json:"exceptions"`
}

// Decode parses and validates one segment document: a segment, an
// independent subsegment, or a JSON array of independent subsegments. It
// returns one Span per document object. A rejected document yields a
// *DocError and no spans: X-Ray accepts or rejects a document as a whole.
// The spans' Doc fields alias doc.
func Decode(doc []byte) ([]model.Span, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) > MaxDocumentSize {
		return nil, &DocError{ID: sniffID(doc), Code: CodeTooLarge,
			Message: fmt.Sprintf("document is %d bytes, over the %d-byte limit", len(doc), MaxDocumentSize)}
	}
	if len(doc) > 0 && doc[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(doc, &elems); err != nil {
			return nil, &DocError{Code: CodeInvalidJSON, Message: "document is not valid JSON: " + err.Error()}
		}
		spans := make([]model.Span, 0, len(elems))
		for _, e := range elems {
			s, err := decodeOne(e)
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
	s, err := decodeOne(doc)
	if err != nil {
		return nil, err
	}
	return []model.Span{s}, nil
}

func decodeOne(doc []byte) (model.Span, error) {
	var w wire
	if err := json.Unmarshal(doc, &w); err != nil {
		return model.Span{}, &DocError{ID: sniffID(doc), Code: CodeInvalidJSON, Message: "document is not a valid JSON object: " + err.Error()}
	}
	span := model.Span{Doc: doc, Independent: strings.EqualFold(w.Type, "subsegment")}
	kind := "segment"
	if span.Independent {
		kind = "subsegment"
	}
	if w.TraceID == nil {
		return span, &DocError{ID: str(w.ID), Code: CodeInvalidTraceID, Message: kind + " has no trace_id"}
	}
	tid, err := model.ParseTraceID(*w.TraceID)
	if err != nil || tid.IsZero() {
		if err == nil {
			err = fmt.Errorf("the all-zero trace id is reserved for disabled SDKs")
		}
		return span, &DocError{ID: str(w.ID), Code: CodeInvalidTraceID, Message: fmt.Sprintf("trace_id %q: %v", *w.TraceID, err)}
	}
	span.TraceID = tid
	if span.Independent && (w.ParentID == nil || *w.ParentID == "") {
		return span, &DocError{ID: str(w.ID), Code: CodeMissingParentID, Message: "independent subsegment has no parent_id"}
	}
	if err := decodeEntity(&w, &span.Root, kind, 0); err != nil {
		return span, err
	}
	return span, nil
}

const maxDepth = 64

func decodeEntity(w *wire, e *model.Entity, kind string, depth int) error {
	if depth > maxDepth {
		return &DocError{ID: str(w.ID), Code: CodeInvalidSegment, Message: fmt.Sprintf("subsegments nested deeper than %d levels", maxDepth)}
	}
	if w.ID == nil || *w.ID == "" {
		return &DocError{Code: CodeMissingID, Message: kind + " has no id"}
	}
	id, err := model.ParseSpanID(*w.ID)
	if err != nil {
		return &DocError{ID: *w.ID, Code: CodeMissingID, Message: fmt.Sprintf("%s id %q: %v", kind, *w.ID, err)}
	}
	e.ID = id
	fail := func(code, format string, args ...any) error {
		return &DocError{ID: *w.ID, Code: code, Message: kind + " " + *w.ID + ": " + fmt.Sprintf(format, args...)}
	}
	if w.ParentID != nil && *w.ParentID != "" {
		p, err := model.ParseSpanID(*w.ParentID)
		if err != nil {
			return fail(CodeInvalidSegment, "parent_id %q: %v", *w.ParentID, err)
		}
		e.ParentID = p
	}
	if w.Name == nil {
		return fail(CodeInvalidName, "name is missing")
	}
	if msg := checkName(*w.Name); msg != "" {
		return fail(CodeInvalidName, "name %q %s", truncate(*w.Name, 60), msg)
	}
	e.Name = *w.Name
	start, ok := number(w.StartTime)
	if !ok {
		return fail(CodeInvalidTimes, "start_time must be a number of epoch seconds")
	}
	e.Start = start
	e.InProgress = w.InProgress
	if len(w.EndTime) > 0 && string(w.EndTime) != "null" {
		end, ok := number(w.EndTime)
		if !ok {
			return fail(CodeInvalidTimes, "end_time must be a number of epoch seconds")
		}
		if end < start {
			return fail(CodeInvalidTimes, "end_time %v is before start_time %v", end, start)
		}
		e.End = end
		e.InProgress = false
	} else if !w.InProgress {
		return fail(CodeInvalidTimes, "has neither end_time nor in_progress: true")
	}
	e.Origin, e.Namespace, e.User, e.ResourceARN = w.Origin, w.Namespace, w.User, w.ResourceARN
	e.Fault, e.Error, e.Throttle = w.Fault, w.Error, w.Throttle
	if h := w.HTTP; h != nil {
		if r := h.Request; r != nil {
			e.HTTP.Method, e.HTTP.URL, e.HTTP.UserAgent, e.HTTP.ClientIP, e.HTTP.Traced = r.Method, r.URL, r.UserAgent, r.ClientIP, r.Traced
		}
		if r := h.Response; r != nil && len(r.Status) > 0 {
			if v, ok := number(r.Status); ok && v >= 0 && v < 1000 {
				e.HTTP.Status = int(v)
			}
		}
	}
	if a := w.AWS; a != nil {
		e.AccountID = a.AccountID
		if a.EC2 != nil {
			e.InstanceID, e.AvailabilityZone = a.EC2.InstanceID, a.EC2.AvailabilityZone
		}
		e.AWS = model.AWSCall{Operation: a.Operation, Region: a.Region, TableName: a.TableName,
			QueueURL: a.QueueURL, Bucket: a.BucketName, Function: a.Function}
	}
	if s := w.SQL; s != nil {
		e.SQL = &model.SQL{URL: s.URL, SanitizedQuery: s.SanitizedQuery, DatabaseType: s.DatabaseType, User: s.User}
	}
	e.Exceptions = decodeCause(w.Cause)
	if len(w.Annotations) > 0 {
		e.Annotations = make([]model.Annotation, 0, len(w.Annotations))
		for k, raw := range w.Annotations {
			if msg := checkAnnotationKey(k); msg != "" {
				return fail(CodeInvalidAnnotaton, "annotation key %q %s", truncate(k, 60), msg)
			}
			v, ok := annotationValue(raw)
			if !ok {
				return fail(CodeInvalidAnnotaton, "annotation %q must be a string, number or boolean", k)
			}
			e.Annotations = append(e.Annotations, model.Annotation{Key: k, Value: v})
		}
		sortAnnotations(e.Annotations)
	}
	if len(w.Subsegments) > 0 {
		e.Subsegments = make([]model.Entity, len(w.Subsegments))
		for i := range w.Subsegments {
			if err := decodeEntity(&w.Subsegments[i], &e.Subsegments[i], "subsegment", depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeCause accepts the three wire forms of cause: an object with
// exceptions, a bare exception id string, and {"id": ...}. Only the first
// carries exceptions; the others point at one recorded below.
func decodeCause(raw json.RawMessage) []model.Exception {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var c wireCause
	if json.Unmarshal(raw, &c) != nil || len(c.Exceptions) == 0 {
		return nil
	}
	out := make([]model.Exception, len(c.Exceptions))
	for i, x := range c.Exceptions {
		out[i] = model.Exception{ID: x.ID, Type: x.Type, Message: x.Message, Remote: x.Remote}
	}
	return out
}

func annotationValue(raw json.RawMessage) (model.Value, bool) {
	if len(raw) == 0 {
		return model.Value{}, false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return model.Value{}, false
		}
		return model.Value{Kind: model.String, Str: s}, true
	case 't', 'f':
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return model.Value{}, false
		}
		return model.Value{Kind: model.Bool, Bool: b}, true
	default:
		v, ok := number(raw)
		return model.Value{Kind: model.Number, Num: v}, ok
	}
}

// number reads a JSON number; X-Ray times arrive as 1480615200.010 or
// 1.480615200010E9.
func number(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 || raw[0] == '"' || raw[0] == 'n' {
		return 0, false
	}
	var v float64
	if json.Unmarshal(raw, &v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

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

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
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
