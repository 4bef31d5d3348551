package store

import (
	"encoding/binary"
	"math"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// Hint narrows a summary scan to the traces that may hold one term. An
// engine may answer with a superset (it may ignore the hint entirely); the
// caller re-checks every summary it gets.
type Hint struct {
	Field HintField
	// Key is the annotation key for HintAnnotation.
	Key string
	// Value is the service or user name (Str) for HintService and HintUser,
	// and the annotation value for HintAnnotation.
	Value model.Value
}

// HintField says what a Hint looks for.
type HintField uint8

// Hint fields.
const (
	HintService    HintField = iota + 1 // a service (node) of that name is in the trace
	HintUser                            // a segment records that user
	HintAnnotation                      // an annotation Key with that Value
	HintFault                           // the trace has a fault
	HintError                           // the trace has an error
	HintThrottle                        // the root segment was throttled
)

// Terms lists the hints a summary satisfies: what an engine indexes.
func Terms(s *model.Summary) []Hint {
	var out []Hint
	seen := map[string]bool{}
	for _, svc := range s.Services {
		if !seen[svc.Name] {
			seen[svc.Name] = true
			out = append(out, Hint{Field: HintService, Value: model.Value{Kind: model.String, Str: svc.Name}})
		}
	}
	for _, u := range s.Users {
		out = append(out, Hint{Field: HintUser, Value: model.Value{Kind: model.String, Str: u.Name}})
	}
	for _, a := range s.Annotations {
		out = append(out, Hint{Field: HintAnnotation, Key: a.Key, Value: a.Value})
	}
	for _, f := range []struct {
		set   bool
		field HintField
	}{{s.HasFault, HintFault}, {s.HasError, HintError}, {s.RootThrottle, HintThrottle}} {
		if f.set {
			out = append(out, Hint{Field: f.field})
		}
	}
	return out
}

// AppendHint appends a byte encoding of h for engines' index keys. No
// encoding is a prefix of another's, so a trace id may follow it.
func AppendHint(dst []byte, h Hint) []byte {
	dst = append(dst, byte(h.Field))
	switch h.Field {
	case HintFault, HintError, HintThrottle:
		return dst
	case HintAnnotation:
		dst = appendStrings(dst, h.Key)
	}
	dst = append(dst, byte(h.Value.Kind))
	switch h.Value.Kind {
	case model.Number:
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(h.Value.Num))
	case model.Bool:
		if h.Value.Bool {
			return append(dst, 1)
		}
		return append(dst, 0)
	}
	return appendStrings(dst, h.Value.Str)
}
