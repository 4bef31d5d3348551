package servicegraph

import (
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// RelativeAccuracy is the histograms' guarantee: every value a histogram
// reports (a bin of ResponseTimeHistogram, a percentile) is within 1% of a
// value that was added.
const RelativeAccuracy = 0.01

// indexMapping is the one mapping every histogram uses, so that any two
// merge and the encoded form can omit it.
var indexMapping = func() mapping.IndexMapping {
	m, err := mapping.NewLogarithmicMapping(RelativeAccuracy)
	if err != nil {
		panic(err) // a constant accuracy in (0, 1) cannot fail
	}
	return m
}()

// maxBins bounds a histogram's memory, also when decoding damaged bytes.
// At 1% accuracy 2,048 bins span a ratio of 10^17 between the smallest and
// largest value kept (a nanosecond to years); only beyond it would the
// smallest values be merged into one bin.
const maxBins = 2048

// Histogram is a mergeable distribution of durations in seconds: a DDSketch
// with 1% relative accuracy. The zero value is empty and ready to use.
type Histogram struct {
	s *ddsketch.DDSketch
}

func (h *Histogram) sketch() *ddsketch.DDSketch {
	if h.s == nil {
		h.s = ddsketch.NewDDSketch(indexMapping, store.NewCollapsingLowestDenseStore(maxBins),
			store.NewCollapsingLowestDenseStore(maxBins))
	}
	return h.s
}

// Add records one duration; negative or NaN values count as zero.
func (h *Histogram) Add(seconds float64) {
	if !(seconds > 0) {
		seconds = 0
	}
	h.sketch().Add(seconds) //nolint:errcheck // only negative values fail, and they are clamped
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.s == nil || o.s.IsEmpty() {
		return
	}
	h.sketch().MergeWith(o.s) //nolint:errcheck // same mapping by construction
}

// Count is the number of values added.
func (h *Histogram) Count() float64 {
	if h.s == nil {
		return 0
	}
	return h.s.GetCount()
}

// Quantile returns the value at quantile q in [0, 1], or 0 when empty.
func (h *Histogram) Quantile(q float64) float64 {
	if h.s == nil || h.s.IsEmpty() {
		return 0
	}
	v, err := h.s.GetValueAtQuantile(q)
	if err != nil {
		return 0
	}
	return v
}

// Entry is one entry of an X-Ray histogram: a value in seconds and how many
// values fell there.
type Entry struct {
	Value float64
	Count int64
}

// Entries returns the histogram as X-Ray returns one: distinct values,
// rounded to the millisecond, with their counts, in increasing value. Bins
// that round to the same millisecond are merged.
func (h *Histogram) Entries() []Entry {
	if h.s == nil || h.s.IsEmpty() {
		return nil
	}
	var out []Entry
	var byMS = map[int64]int{}
	h.s.ForEach(func(v, c float64) bool {
		ms := int64(math.Round(v * 1000))
		n := int64(math.Round(c))
		if i, ok := byMS[ms]; ok {
			out[i].Count += n
			return false
		}
		byMS[ms] = len(out)
		out = append(out, Entry{Value: float64(ms) / 1000, Count: n})
		return false
	})
	sortEntries(out)
	return out
}

func sortEntries(es []Entry) {
	for i := 1; i < len(es); i++ { // few entries, nearly sorted already
		for j := i; j > 0 && es[j].Value < es[j-1].Value; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// encode appends the sketch without its mapping (a uvarint length, then
// the bytes). An empty histogram is a zero length.
func (h *Histogram) encode(b []byte) []byte {
	if h.s == nil || h.s.IsEmpty() {
		return append(b, 0)
	}
	var tmp []byte
	h.s.Encode(&tmp, true)
	b = appendUvarint(b, uint64(len(tmp)))
	return append(b, tmp...)
}

// decodeMerge merges an encoded sketch into h. The sketch library panics
// on some malformed input (found by FuzzDecodeBucket); that becomes an
// error, and h may then hold part of the input.
func (h *Histogram) decodeMerge(enc []byte) (err error) {
	if len(enc) == 0 {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decode sketch: %v", r)
		}
	}()
	return h.sketch().DecodeAndMergeWith(enc)
}

// Stats are the statistics of a node or an edge: X-Ray's ServiceStatistics
// and EdgeStatistics, plus the time range they cover and the histograms.
type Stats struct {
	OK            int64
	ErrorOther    int64 // 4xx other than 429
	Throttle      int64 // 429
	Fault         int64 // 5xx
	Total         int64
	ResponseTime  float64 // sum of response times, seconds
	Start, End    float64 // earliest start and latest end, epoch seconds
	ResponseTimes Histogram
	// Durations is the distribution of the durations of the traces that
	// passed through a node (nodes only).
	Durations Histogram
}

// ErrorTotal and FaultTotal are X-Ray's ErrorStatistics.TotalCount and
// FaultStatistics.TotalCount.
func (s *Stats) ErrorTotal() int64 { return s.ErrorOther + s.Throttle }
func (s *Stats) FaultTotal() int64 { return s.Fault }

// count records one request: its flags, its response time and its span.
// The flags are counted as X-Ray counts them: a fault is a fault whatever
// else is set; otherwise a throttle (429) or another error counts as an
// error; otherwise the request is OK.
func (s *Stats) count(fault, err, throttle bool, start, end float64) {
	s.Total++
	switch {
	case fault:
		s.Fault++
	case throttle:
		s.Throttle++
	case err:
		s.ErrorOther++
	default:
		s.OK++
	}
	rt := end - start
	if rt < 0 {
		rt = 0
	}
	s.ResponseTime += rt
	s.ResponseTimes.Add(rt)
	s.span(start, end)
}

func (s *Stats) span(start, end float64) {
	if s.Start == 0 || (start > 0 && start < s.Start) {
		s.Start = start
	}
	if end > s.End {
		s.End = end
	}
}

// Merge adds o to s.
func (s *Stats) Merge(o *Stats) {
	s.OK += o.OK
	s.ErrorOther += o.ErrorOther
	s.Throttle += o.Throttle
	s.Fault += o.Fault
	s.Total += o.Total
	s.ResponseTime += o.ResponseTime
	if o.Start > 0 || o.End > 0 {
		s.span(o.Start, o.End)
	}
	s.ResponseTimes.Merge(&o.ResponseTimes)
	s.Durations.Merge(&o.Durations)
}
