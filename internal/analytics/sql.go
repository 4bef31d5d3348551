package analytics

import (
	"cmp"
	"slices"
	"strings"

	"github.com/fluoro-dev/fluoro/internal/model"
)

// Defaults of the database analysis.
const (
	// DefaultNPlusOne is how many times one statement must run inside one
	// segment to count as an N+1 pattern.
	DefaultNPlusOne = 5
	// DefaultRepeats is how many identical downstream calls inside one
	// trace make a caching candidate.
	DefaultRepeats = 3
	// maxExamples bounds the example trace ids of a row.
	maxExamples = 3
)

// SQLStatement is one sanitized SQL statement: its latency as the callers
// measured it, and who ran it.
type SQLStatement struct {
	Query        string         `json:"query"`
	DatabaseType string         `json:"databaseType,omitempty"`
	Database     string         `json:"database,omitempty"`
	Traces       int64          `json:"traces"`
	Seconds      float64        `json:"seconds"` // total time spent in it
	Stats        Stats          `json:"stats"`
	Callers      []ServiceCount `json:"callers"`
}

// NPlusOne is a statement run many times inside single segments: the loop
// that should have been one query.
type NPlusOne struct {
	Query   string  `json:"query"`
	Service Service `json:"service"`
	// Segments counts the segments in which the statement ran at least the
	// threshold number of times; MaxRepeats and MeanRepeats describe them.
	Segments    int64    `json:"segments"`
	MaxRepeats  int64    `json:"maxRepeats"`
	MeanRepeats float64  `json:"meanRepeats"`
	Seconds     float64  `json:"seconds"` // time spent in those repeated calls
	Examples    []string `json:"examples"`
}

// CachingCandidate is a downstream call made repeatedly, identically (same
// target, method and URL, or same AWS operation and resource), inside single
// traces. AWS calls carry no request parameters in their segments, so an
// AWS candidate may be a batching candidate instead.
type CachingCandidate struct {
	Service Service `json:"service"` // the caller
	Call    string  `json:"call"`
	Traces  int64   `json:"traces"`
	// MaxRepeats and MeanRepeats count the calls per affected trace;
	// Seconds is the time spent in the calls after the first of each.
	MaxRepeats  int64    `json:"maxRepeats"`
	MeanRepeats float64  `json:"meanRepeats"`
	Seconds     float64  `json:"seconds"`
	Examples    []string `json:"examples"`
}

// SQLResult is the answer of /api/analytics/sql.
type SQLResult struct {
	Traces Coverage `json:"traces"`
	// Statements are ordered slowest first (by p99, then total time).
	Statements []SQLStatement     `json:"statements"`
	NPlusOne   []NPlusOne         `json:"nPlusOne"`
	Caching    []CachingCandidate `json:"caching"`
	Thresholds map[string]int     `json:"thresholds"`
}

type sqlAgg struct {
	dbType, db string
	st         *stat
	traces     int64
	callers    map[model.ServiceID]int64
}

type repeatKey struct {
	svc  model.ServiceID
	call string
}

type repeatAgg struct {
	n, maxRep, sumRep int64
	secs              float64
	examples          []string
}

// Database finds slow SQL statements, N+1 patterns and caching candidates.
type Database struct {
	nPlusOne, repeats int
	stmts             map[string]*sqlAgg
	n1                map[repeatKey]*repeatAgg
	cache             map[repeatKey]*repeatAgg
}

// NewDatabase returns an accumulator; nPlusOne and repeats are the
// thresholds (DefaultNPlusOne and DefaultRepeats when zero).
func NewDatabase(nPlusOne, repeats int) *Database {
	if nPlusOne <= 1 {
		nPlusOne = DefaultNPlusOne
	}
	if repeats <= 1 {
		repeats = DefaultRepeats
	}
	return &Database{nPlusOne: nPlusOne, repeats: repeats, stmts: map[string]*sqlAgg{},
		n1: map[repeatKey]*repeatAgg{}, cache: map[repeatKey]*repeatAgg{}}
}

// sqlText is the statement a SQL subsegment ran: its sanitized_query, or
// when the SDK recorded none, the database named by the subsegment.
func sqlText(e *model.Entity) string {
	if q := strings.TrimSpace(e.SQL.SanitizedQuery); q != "" {
		return q
	}
	return "(no sanitized_query) " + e.Name
}

// callKey describes a downstream call for identity: target, method and URL
// (with its query), or AWS operation and resource.
func callKey(e *model.Entity) string {
	var b strings.Builder
	b.WriteString(e.Name)
	if e.Namespace == "aws" {
		for _, s := range []string{e.AWS.Operation, e.AWS.TableName, e.AWS.QueueURL, e.AWS.Bucket, e.AWS.Function} {
			if s != "" {
				b.WriteString(" ")
				b.WriteString(s)
			}
		}
		return b.String()
	}
	if e.HTTP.Method != "" || e.HTTP.URL != "" {
		b.WriteString(" " + e.HTTP.Method + " " + e.HTTP.URL)
	}
	return b.String()
}

type segCount struct {
	n    int64
	secs float64
}

// Add takes one trace; it needs the spans.
func (d *Database) Add(t *Trace) {
	ix := newIndex(t.Spans)
	tid := t.Summary.TraceID.String()
	inTrace := map[string]bool{}
	perSeg := map[*model.Entity]map[string]*segCount{}
	calls := map[repeatKey]*segCount{}
	ix.each(func(seg, e *model.Entity) {
		if e == seg || !isCall(e) {
			return
		}
		dur := duration(e)
		svc := model.ServiceID{}
		if seg != nil {
			svc = model.ServiceID{Name: seg.Name, Type: seg.Origin}
		}
		if e.SQL == nil {
			k := repeatKey{svc: svc, call: callKey(e)}
			c := calls[k]
			if c == nil {
				c = &segCount{}
				calls[k] = c
			} else if dur > 0 {
				c.secs += dur // time after the first call
			}
			c.n++
			return
		}
		q := sqlText(e)
		a := d.stmts[q]
		if a == nil {
			a = &sqlAgg{dbType: e.SQL.DatabaseType, db: e.SQL.URL, st: newStat(), callers: map[model.ServiceID]int64{}}
			d.stmts[q] = a
		}
		a.st.add(e)
		a.callers[svc]++
		if !inTrace[q] {
			inTrace[q] = true
			a.traces++
		}
		if seg != nil {
			m := perSeg[seg]
			if m == nil {
				m = map[string]*segCount{}
				perSeg[seg] = m
			}
			c := m[q]
			if c == nil {
				c = &segCount{}
				m[q] = c
			}
			c.n++
			c.secs += max(dur, 0)
		}
	})
	for seg, m := range perSeg {
		for q, c := range m {
			if c.n >= int64(d.nPlusOne) {
				d.n1[repeatKey{svc: model.ServiceID{Name: seg.Name, Type: seg.Origin}, call: q}] = addRepeat(
					d.n1[repeatKey{svc: model.ServiceID{Name: seg.Name, Type: seg.Origin}, call: q}], c, tid)
			}
		}
	}
	for k, c := range calls {
		if c.n >= int64(d.repeats) {
			d.cache[k] = addRepeat(d.cache[k], c, tid)
		}
	}
}

func addRepeat(a *repeatAgg, c *segCount, tid string) *repeatAgg {
	if a == nil {
		a = &repeatAgg{}
	}
	a.n++
	a.sumRep += c.n
	a.maxRep = max(a.maxRep, c.n)
	a.secs += c.secs
	if len(a.examples) < maxExamples && !slices.Contains(a.examples, tid) {
		a.examples = append(a.examples, tid)
	}
	return a
}

// Result renders the top rows of each list (all when top <= 0).
func (d *Database) Result(top int) SQLResult {
	r := SQLResult{Statements: []SQLStatement{}, NPlusOne: []NPlusOne{}, Caching: []CachingCandidate{},
		Thresholds: map[string]int{"nPlusOne": d.nPlusOne, "repeats": d.repeats}}
	for q, a := range d.stmts {
		s := SQLStatement{Query: q, DatabaseType: a.dbType, Database: a.db, Traces: a.traces, Seconds: a.st.d.sum, Stats: a.st.stats(), Callers: []ServiceCount{}}
		for svc, n := range a.callers {
			s.Callers = append(s.Callers, ServiceCount{Service: serviceOf(svc), Count: n})
		}
		slices.SortFunc(s.Callers, func(a, b ServiceCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Service.Name, b.Service.Name))
		})
		r.Statements = append(r.Statements, s)
	}
	slices.SortFunc(r.Statements, func(a, b SQLStatement) int {
		return cmp.Or(cmp.Compare(b.Stats.P99, a.Stats.P99), cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(a.Query, b.Query))
	})
	for k, a := range d.n1 {
		r.NPlusOne = append(r.NPlusOne, NPlusOne{Query: k.call, Service: serviceOf(k.svc), Segments: a.n, MaxRepeats: a.maxRep,
			MeanRepeats: float64(a.sumRep) / float64(a.n), Seconds: a.secs, Examples: a.examples})
	}
	slices.SortFunc(r.NPlusOne, func(a, b NPlusOne) int {
		return cmp.Or(cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(b.Segments, a.Segments), cmp.Compare(a.Query, b.Query))
	})
	for k, a := range d.cache {
		r.Caching = append(r.Caching, CachingCandidate{Service: serviceOf(k.svc), Call: k.call, Traces: a.n, MaxRepeats: a.maxRep,
			MeanRepeats: float64(a.sumRep) / float64(a.n), Seconds: a.secs, Examples: a.examples})
	}
	slices.SortFunc(r.Caching, func(a, b CachingCandidate) int {
		return cmp.Or(cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(b.Traces, a.Traces), cmp.Compare(a.Call, b.Call))
	})
	r.Statements, r.NPlusOne, r.Caching = head(r.Statements, top), head(r.NPlusOne, top), head(r.Caching, top)
	return r
}
