// Package redact removes sensitive data from X-Ray segment documents before
// they leave a host: keys named by wildcard patterns are dropped, and
// substrings of string values that match regular expressions are masked,
// as the OpenTelemetry collector's redaction processor does for
// attributes. The fields that make a document a segment (ids, times, name,
// flags, nesting) are never touched.
package redact

import (
	"fmt"
	"regexp"

	"github.com/valyala/fastjson"

	"github.com/fluoro-dev/fluoro/internal/sampling"
)

// Mask replaces each matched substring of a string value.
const Mask = "****"

// Config says what to redact. The zero value redacts nothing.
type Config struct {
	// Enabled turns redaction on.
	Enabled bool `yaml:"enabled"`
	// BlockedKeys are X-Ray wildcard patterns (* and ?) of keys to drop
	// wherever they appear: annotation and metadata keys, http, sql and aws
	// fields, user. The structural fields are never dropped.
	BlockedKeys []string `yaml:"blocked_keys"`
	// BlockedValues are regular expressions (RE2); every match inside a
	// string value is replaced by Mask.
	BlockedValues []string `yaml:"blocked_values"`
}

// structural fields are what X-Ray needs to place a document in its trace.
var structural = map[string]bool{
	"id": true, "trace_id": true, "parent_id": true, "name": true, "type": true, "start_time": true,
	"end_time": true, "in_progress": true, "subsegments": true, "namespace": true, "origin": true,
	"fault": true, "error": true, "throttle": true, "precursor_ids": true,
}

// Redactor applies a Config. It is safe for concurrent use.
type Redactor struct {
	keys   []string
	values []*regexp.Regexp
	parser fastjson.ParserPool
}

// New compiles cfg.
func New(cfg Config) (*Redactor, error) {
	r := &Redactor{keys: cfg.BlockedKeys}
	for _, k := range cfg.BlockedKeys {
		if k == "" {
			return nil, fmt.Errorf("blocked_keys: empty pattern")
		}
	}
	for _, v := range cfg.BlockedValues {
		re, err := regexp.Compile(v)
		if err != nil {
			return nil, fmt.Errorf("blocked_values %q: %w", v, err)
		}
		r.values = append(r.values, re)
	}
	return r, nil
}

// Document returns doc with the configured keys dropped and values masked,
// and whether anything changed. A document that is not JSON is returned
// unchanged with an error; the caller decides what to do with it. dst is
// appended to.
func (r *Redactor) Document(dst, doc []byte) ([]byte, bool, error) {
	p := r.parser.Get()
	defer r.parser.Put(p)
	v, err := p.ParseBytes(doc)
	if err != nil {
		return append(dst, doc...), false, fmt.Errorf("redact: %w", err)
	}
	var a fastjson.Arena
	changed := false
	if v.Type() == fastjson.TypeArray { // an array of subsegments
		for _, x := range v.GetArray() {
			changed = r.entity(&a, x) || changed
		}
	} else {
		changed = r.entity(&a, v)
	}
	if !changed {
		return append(dst, doc...), false, nil
	}
	return v.MarshalTo(dst), true, nil
}

// entity redacts a segment or subsegment: its non-structural fields, then
// its subsegments as entities of their own.
func (r *Redactor) entity(a *fastjson.Arena, v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	changed := false
	for _, s := range v.GetArray("subsegments") {
		changed = r.entity(a, s) || changed
	}
	return r.object(a, o, true) || changed
}

// object drops blocked keys and redacts the other values of o; at the top
// of an entity the structural fields are left alone.
func (r *Redactor) object(a *fastjson.Arena, o *fastjson.Object, top bool) bool {
	type set struct {
		k string
		v *fastjson.Value
	}
	var drop []string
	var sets []set
	changed := false
	o.Visit(func(k []byte, x *fastjson.Value) {
		key := string(k)
		if top && structural[key] {
			return
		}
		if r.blockedKey(key) {
			drop = append(drop, key)
			return
		}
		repl, c := r.value(a, x)
		changed = changed || c
		if repl != nil {
			sets = append(sets, set{key, repl})
		}
	})
	for _, k := range drop {
		o.Del(k)
	}
	for _, s := range sets {
		o.Set(s.k, s.v)
	}
	return changed || len(drop) > 0
}

// value redacts a value in place where it can; a string that must change
// comes back as a replacement for the caller to set.
func (r *Redactor) value(a *fastjson.Arena, x *fastjson.Value) (*fastjson.Value, bool) {
	switch x.Type() {
	case fastjson.TypeObject:
		o, _ := x.Object()
		return nil, r.object(a, o, false)
	case fastjson.TypeArray:
		changed := false
		for i, y := range x.GetArray() {
			repl, c := r.value(a, y)
			changed = changed || c
			if repl != nil {
				x.SetArrayItem(i, repl)
			}
		}
		return nil, changed
	case fastjson.TypeString:
		s := string(x.GetStringBytes())
		out := s
		for _, re := range r.values {
			out = re.ReplaceAllLiteralString(out, Mask)
		}
		if out == s {
			return nil, false
		}
		return a.NewString(out), true
	}
	return nil, false
}

func (r *Redactor) blockedKey(k string) bool {
	for _, p := range r.keys {
		if sampling.Match(p, k) {
			return true
		}
	}
	return false
}
