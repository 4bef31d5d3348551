package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// summaryVersion is the first byte of every encoded summary. Version 1
// wrote floats as 8 bytes; version 2 writes them as short decimals
// (appendFloat). Both decode.
const (
	summaryVersion   = 2
	summaryVersionV1 = 1
)

// AppendSummary appends the binary encoding of s to dst, for engines that
// store summaries as opaque values. The trace id is not encoded: engines key
// summaries by it. The layout is documented in docs/storage-format.md.
func AppendSummary(dst []byte, s *model.Summary) []byte {
	dst = append(dst, summaryVersion)
	for _, f := range [...]float64{s.Start, s.End, s.ResponseTime, s.Updated} {
		dst = appendFloat(dst, f)
	}
	var flags byte
	for i, b := range [...]bool{s.HasFault, s.HasError, s.HasThrottle, s.IsPartial, s.HTTP.Traced, s.HasInferred, s.RootThrottle} {
		if b {
			flags |= 1 << i
		}
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(s.Revision))
	dst = binary.AppendUvarint(dst, uint64(s.Spans))
	dst = appendStrings(dst, s.HTTP.Method, s.HTTP.URL, s.HTTP.UserAgent, s.HTTP.ClientIP)
	dst = binary.AppendUvarint(dst, uint64(s.HTTP.Status))

	index := make(map[model.ServiceID]int, len(s.Services))
	dst = binary.AppendUvarint(dst, uint64(len(s.Services)))
	for i, svc := range s.Services {
		index[svc] = i
		dst = appendStrings(dst, svc.Name, svc.Type, svc.AccountID)
	}
	ref := func(dst []byte, svcs []model.ServiceID) []byte {
		dst = binary.AppendUvarint(dst, uint64(len(svcs)))
		for _, svc := range svcs {
			i, ok := index[svc]
			if !ok {
				panic(fmt.Sprintf("summary of %s refers to service %v missing from Services", s.TraceID, svc))
			}
			dst = binary.AppendUvarint(dst, uint64(i))
		}
		return dst
	}
	if s.EntryPoint != nil {
		dst = ref(dst, []model.ServiceID{*s.EntryPoint})
	} else {
		dst = ref(dst, nil)
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.Annotations)))
	for _, a := range s.Annotations {
		dst = appendStrings(dst, a.Key)
		dst = append(dst, byte(a.Value.Kind))
		switch a.Value.Kind {
		case model.String:
			dst = appendStrings(dst, a.Value.Str)
		case model.Number:
			dst = appendFloat(dst, a.Value.Num)
		case model.Bool:
			b := byte(0)
			if a.Value.Bool {
				b = 1
			}
			dst = append(dst, b)
		}
		dst = ref(dst, a.Services)
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.Users)))
	for _, u := range s.Users {
		dst = appendStrings(dst, u.Name)
		dst = ref(dst, u.Services)
	}
	for _, list := range [][]string{s.ResourceARNs, s.InstanceIDs, s.AvailabilityZones} {
		dst = binary.AppendUvarint(dst, uint64(len(list)))
		dst = appendStrings(dst, list...)
	}
	// Root causes came later: an encoding that ends here has none.
	for _, kind := range [][]model.RootCause{s.FaultRootCauses, s.ErrorRootCauses, s.ResponseTimeRootCauses} {
		dst = binary.AppendUvarint(dst, uint64(len(kind)))
		for _, rc := range kind {
			b := byte(0)
			if rc.ClientImpacting {
				b = 1
			}
			dst = append(dst, b)
			dst = binary.AppendUvarint(dst, uint64(len(rc.Services)))
			for _, svc := range rc.Services {
				dst = appendStrings(dst, svc.ID.Name, svc.ID.Type, svc.ID.AccountID)
				b := byte(0)
				if svc.Inferred {
					b = 1
				}
				dst = append(dst, b)
				dst = binary.AppendUvarint(dst, uint64(len(svc.EntityPath)))
				for _, e := range svc.EntityPath {
					dst = appendStrings(dst, e.Name)
					b := byte(0)
					if e.Remote {
						b = 1
					}
					dst = append(dst, b)
					dst = appendFloat(dst, e.Coverage)
					dst = binary.AppendUvarint(dst, uint64(len(e.Exceptions)))
					for _, x := range e.Exceptions {
						dst = appendStrings(dst, x.ID, x.Type, x.Message)
						b := byte(0)
						if x.Remote {
							b = 1
						}
						dst = append(dst, b)
					}
				}
			}
		}
	}
	// SampledBy came after root causes: an encoding that ends here has none.
	dst = appendStrings(dst, s.SampledBy)
	return dst
}

func appendStrings(dst []byte, ss ...string) []byte {
	for _, s := range ss {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

var errSummary = errors.New("decode summary: corrupt encoding")

// DecodeSummary decodes what AppendSummary encoded into s, for trace id.
// Strings are copied out of b.
func DecodeSummary(id model.TraceID, b []byte, s *model.Summary) error {
	return decodeSummary(decoder{b: b}, id, s)
}

// SummaryDecoder decodes many summaries, as a scan does, sharing the strings
// that recur between them (service names, annotation keys and values, user
// agents) instead of allocating each anew. Not safe for concurrent use.
type SummaryDecoder struct{ strs map[string]string }

// maxInterned bounds the strings a SummaryDecoder keeps.
const maxInterned = 8192

// Decode is DecodeSummary with shared strings.
func (sd *SummaryDecoder) Decode(id model.TraceID, b []byte, s *model.Summary) error {
	if sd.strs == nil {
		sd.strs = make(map[string]string)
	}
	return decodeSummary(decoder{b: b, strs: sd.strs}, id, s)
}

// DecodeSummaryHead decodes only the head of an encoded summary: TraceID,
// the times, the flags, Revision, Spans and HTTP. Its strings point into b:
// they are valid only as long as b is.
func DecodeSummaryHead(id model.TraceID, b []byte, s *model.Summary) error {
	d := decoder{b: b, alias: true}
	decodeHead(&d, id, s)
	return d.err
}

func decodeHead(d *decoder, id model.TraceID, s *model.Summary) {
	switch d.byte() {
	case summaryVersion:
		d.v1 = false
	case summaryVersionV1:
		d.v1 = true
	default:
		d.err = fmt.Errorf("decode summary: unknown version")
		return
	}
	*s = model.Summary{TraceID: id}
	s.Start, s.End, s.ResponseTime, s.Updated = d.float(), d.float(), d.float(), d.float()
	flags := d.byte()
	s.HasFault, s.HasError, s.HasThrottle, s.IsPartial = flags&1 != 0, flags&2 != 0, flags&4 != 0, flags&8 != 0
	s.HTTP.Traced = flags&16 != 0
	s.HasInferred = flags&32 != 0
	s.RootThrottle = flags&64 != 0
	s.Revision, s.Spans = int(d.uvarint()), int(d.uvarint())
	s.HTTP.Method, s.HTTP.URL, s.HTTP.UserAgent, s.HTTP.ClientIP = d.str(), d.str(), d.str(), d.str()
	s.HTTP.Status = int(d.uvarint())
}

func decodeSummary(d decoder, id model.TraceID, s *model.Summary) error {
	decodeHead(&d, id, s)
	if d.err != nil {
		return d.err
	}
	if n := d.count(); n > 0 {
		s.Services = make([]model.ServiceID, n)
		for i := range s.Services {
			s.Services[i] = model.ServiceID{Name: d.str(), Type: d.str(), AccountID: d.str()}
		}
	}
	refs := func() []model.ServiceID {
		n := d.count()
		if n == 0 {
			return nil
		}
		out := make([]model.ServiceID, 0, n)
		for range n {
			i := d.uvarint()
			if i >= uint64(len(s.Services)) {
				d.err = errSummary
				return nil
			}
			out = append(out, s.Services[i])
		}
		return out
	}
	if ep := refs(); len(ep) == 1 {
		s.EntryPoint = &ep[0]
	}
	if n := d.count(); n > 0 {
		s.Annotations = make([]model.SummaryAnnotation, n)
		for i := range s.Annotations {
			a := &s.Annotations[i]
			a.Key = d.str()
			a.Value.Kind = model.ValueKind(d.byte())
			switch a.Value.Kind {
			case model.String:
				a.Value.Str = d.str()
			case model.Number:
				a.Value.Num = d.float()
			case model.Bool:
				a.Value.Bool = d.byte() == 1
			default:
				d.err = errSummary
			}
			a.Services = refs()
		}
	}
	if n := d.count(); n > 0 {
		s.Users = make([]model.SummaryUser, n)
		for i := range s.Users {
			s.Users[i].Name = d.str()
			s.Users[i].Services = refs()
		}
	}
	for _, list := range []*[]string{&s.ResourceARNs, &s.InstanceIDs, &s.AvailabilityZones} {
		if n := d.count(); n > 0 {
			*list = make([]string, n)
			for i := range *list {
				(*list)[i] = d.str()
			}
		}
	}
	if len(d.b) > 0 && d.err == nil {
		for _, kind := range []*[]model.RootCause{&s.FaultRootCauses, &s.ErrorRootCauses, &s.ResponseTimeRootCauses} {
			*kind = d.rootCauses()
		}
	}
	if len(d.b) > 0 && d.err == nil {
		s.SampledBy = d.str()
	}
	return d.err
}

func (d *decoder) rootCauses() []model.RootCause {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]model.RootCause, n)
	for i := range out {
		rc := &out[i]
		rc.ClientImpacting = d.byte() == 1
		if m := d.count(); m > 0 {
			rc.Services = make([]model.RootCauseService, m)
			for j := range rc.Services {
				svc := &rc.Services[j]
				svc.ID = model.ServiceID{Name: d.str(), Type: d.str(), AccountID: d.str()}
				svc.Inferred = d.byte() == 1
				if k := d.count(); k > 0 {
					svc.EntityPath = make([]model.RootCauseEntity, k)
					for l := range svc.EntityPath {
						e := &svc.EntityPath[l]
						e.Name = d.str()
						e.Remote = d.byte() == 1
						e.Coverage = d.float()
						if x := d.count(); x > 0 {
							e.Exceptions = make([]model.Exception, x)
							for xi := range e.Exceptions {
								e.Exceptions[xi] = model.Exception{ID: d.str(), Type: d.str(), Message: d.str()}
								e.Exceptions[xi].Remote = d.byte() == 1
							}
						}
					}
				}
			}
		}
	}
	return out
}

type decoder struct {
	v1    bool // floats are 8 bytes
	b     []byte
	err   error
	strs  map[string]string // shared strings, or nil
	alias bool              // strings point into b instead of copying
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.err = errSummary
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) float() float64 {
	if !d.v1 {
		return d.decFloat()
	}
	if len(d.b) < 8 {
		d.err = errSummary
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errSummary
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length and bounds it by the bytes left, so corrupt input
// cannot make a huge allocation.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errSummary
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	b := d.b[:n]
	d.b = d.b[n:]
	if d.alias {
		if n == 0 {
			return ""
		}
		return unsafe.String(&b[0], n)
	}
	if d.strs == nil {
		return string(b)
	}
	if s, ok := d.strs[string(b)]; ok { // the lookup does not allocate
		return s
	}
	s := string(b)
	if len(d.strs) < maxInterned {
		d.strs[s] = s
	}
	return s
}

// SummaryHeadLen returns the length of an encoded summary's head: the
// version byte, the four times, the flags, Revision, Spans and HTTP. The
// times are the 32 bytes after the version byte. Engines that store
// summaries by column split them there.
func SummaryHeadLen(b []byte) (int, error) {
	d := decoder{b: b, alias: true}
	var s model.Summary
	decodeHead(&d, model.TraceID{}, &s)
	if d.err != nil {
		return 0, d.err
	}
	return len(b) - len(d.b), nil
}

// appendFloat writes f as its shortest decimal, m × 10^e: a byte e+64 then
// m as a zigzag varint; values that do not fit (e outside [-63, 63], m of
// more than 17 digits) are written as byte 0 and the 8 bytes of the float.
// Times to the microsecond take 6–8 bytes instead of 8 random ones, which
// compression then shortens further.
func appendFloat(dst []byte, f float64) []byte {
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // -d.ddddde±dd
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	i := bytes.IndexByte(b, 'e')
	if i < 0 || i+2 >= len(b) || f == 0 && math.Signbit(f) { // NaN, Inf, -0
		return binary.LittleEndian.AppendUint64(append(dst, 0), math.Float64bits(f))
	}
	exp := 0
	for _, c := range b[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if b[i+1] == '-' {
		exp = -exp
	}
	var m int64
	digits := 0
	for _, c := range b[:i] {
		if c != '.' {
			m = m*10 + int64(c-'0')
			digits++
		}
	}
	exp -= digits - 1 // m × 10^exp
	if neg {
		m = -m
	}
	if exp < -63 || exp > 63 || digits > 17 {
		return binary.LittleEndian.AppendUint64(append(dst, 0), math.Float64bits(f))
	}
	dst = append(dst, byte(exp+64))
	return binary.AppendVarint(dst, m)
}

var exact10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

func (d *decoder) decFloat() float64 {
	e := d.byte()
	if d.err != nil {
		return 0
	}
	if e == 0 {
		if len(d.b) < 8 {
			d.err = errSummary
			return 0
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		return v
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errSummary
		return 0
	}
	d.b = d.b[n:]
	exp := int(e) - 64
	// Exact when m and 10^|exp| are exact doubles: one correctly rounded
	// operation (Clinger's fast path). Otherwise parse the decimal.
	if m := v; m > -1<<53 && m < 1<<53 {
		switch {
		case exp >= 0 && exp <= 22:
			return float64(m) * exact10[exp]
		case exp < 0 && -exp <= 22:
			return float64(m) / exact10[-exp]
		}
	}
	f, err := strconv.ParseFloat(strconv.FormatInt(v, 10)+"e"+strconv.Itoa(exp), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		d.err = errSummary
	}
	return f
}
