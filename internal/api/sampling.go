package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/fluoro-dev/fluoro/internal/sampling"
)

// The centralized sampling operations (xray-protocol.md §5). The SDKs call
// /GetSamplingRules and /SamplingTargets unsigned on the daemon's TCP port;
// the AWS SDKs and CLI call all six.
func (s *Server) registerSampling() {
	s.op("/CreateSamplingRule", s.createSamplingRule)
	s.op("/UpdateSamplingRule", s.updateSamplingRule)
	s.op("/DeleteSamplingRule", s.deleteSamplingRule)
	s.op("/GetSamplingRules", s.getSamplingRules)
	s.op("/SamplingTargets", s.getSamplingTargets)
	s.op("/SamplingStatisticSummaries", s.getSamplingStatisticSummaries)
}

// epochSeconds is a timestamp on the wire: a JSON number of seconds since
// the epoch, fractional when needed (the restJson1 default).
type epochSeconds time.Time

func (t epochSeconds) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// UnmarshalJSON accepts a number of seconds; a number above 1e11 is taken
// as milliseconds (the Java SDK serializes java.util.Date that way). An
// RFC 3339 string is accepted too.
func (t *epochSeconds) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("timestamp %q is neither epoch seconds nor RFC 3339", s)
		}
		*t = epochSeconds(v)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return fmt.Errorf("timestamp %s is not a number of epoch seconds", b)
	}
	if f > 1e11 {
		f /= 1000
	}
	sec, frac := math.Modf(f)
	*t = epochSeconds(time.Unix(int64(sec), int64(frac*1e9)))
	return nil
}

// wireRate is a Double on the wire: a number, or "NaN", "Infinity" and
// "-Infinity" as strings (how the AWS SDKs encode those).
type wireRate float64

func (r *wireRate) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*r = wireRate(math.NaN())
		case "Infinity":
			*r = wireRate(math.Inf(1))
		case "-Infinity":
			*r = wireRate(math.Inf(-1))
		default:
			return fmt.Errorf("%q is not a number", s)
		}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*r = wireRate(f)
	return nil
}

// ruleIn is SamplingRule and SamplingRuleUpdate as clients send them: every
// member optional, so absence can be told from zero.
type ruleIn struct {
	RuleName          *string
	RuleARN           *string
	ResourceARN       *string
	Priority          *int64
	FixedRate         *wireRate
	ReservoirSize     *int64
	ServiceName       *string
	ServiceType       *string
	Host              *string
	HTTPMethod        *string
	URLPath           *string
	Version           *int64
	Attributes        map[string]string
	SamplingRateBoost json.RawMessage
}

// ruleOut is SamplingRule as the SDKs need it: every member present
// (xray-protocol.md §2.4: rules lacking one are dropped by some SDK).
type ruleOut struct {
	RuleName      string
	RuleARN       string
	ResourceARN   string
	Priority      int
	FixedRate     float64
	ReservoirSize int
	ServiceName   string
	ServiceType   string
	Host          string
	HTTPMethod    string
	URLPath       string
	Version       int
	Attributes    map[string]string
}

type recordOut struct {
	SamplingRule ruleOut
	CreatedAt    epochSeconds
	ModifiedAt   epochSeconds
}

func toRecordOut(rec sampling.Record) recordOut {
	r := rec.Rule
	attrs := r.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	return recordOut{
		SamplingRule: ruleOut{
			RuleName: r.RuleName, RuleARN: rec.RuleARN, ResourceARN: r.ResourceARN, Priority: r.Priority,
			FixedRate: r.FixedRate, ReservoirSize: r.ReservoirSize, ServiceName: r.ServiceName,
			ServiceType: r.ServiceType, Host: r.Host, HTTPMethod: r.HTTPMethod, URLPath: r.URLPath,
			Version: r.Version, Attributes: attrs,
		},
		CreatedAt:  epochSeconds(rec.CreatedAt),
		ModifiedAt: epochSeconds(rec.ModifiedAt),
	}
}

// samplingError turns a sampling.Error into the API's error shape.
func samplingError(err error) error {
	var e *sampling.Error
	if errors.As(err, &e) {
		return &Error{Status: http.StatusBadRequest, Code: e.Code, Message: e.Message}
	}
	return err
}

// intField checks that an integer member fits the model's Integer (int32).
func intField(name string, v *int64) (*int, error) {
	if v == nil {
		return nil, nil
	}
	if *v < math.MinInt32 || *v > math.MaxInt32 {
		return nil, invalid("%s %d is out of range", name, *v)
	}
	n := int(*v)
	return &n, nil
}

func (s *Server) createSamplingRule(_ context.Context, body []byte) (any, error) {
	var in struct {
		SamplingRule *ruleIn
		Tags         []sampling.Tag
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r := in.SamplingRule
	if r == nil {
		return nil, invalid("SamplingRule is required")
	}
	if len(r.SamplingRateBoost) > 0 && !bytes.Equal(r.SamplingRateBoost, []byte("null")) {
		return nil, invalid("SamplingRateBoost is not supported by this server")
	}
	for name, present := range map[string]bool{
		"ResourceARN": r.ResourceARN != nil, "Priority": r.Priority != nil, "FixedRate": r.FixedRate != nil,
		"ReservoirSize": r.ReservoirSize != nil, "ServiceName": r.ServiceName != nil, "ServiceType": r.ServiceType != nil,
		"Host": r.Host != nil, "HTTPMethod": r.HTTPMethod != nil, "URLPath": r.URLPath != nil, "Version": r.Version != nil,
	} {
		if !present {
			return nil, invalid("SamplingRule.%s is required", name)
		}
	}
	rule := sampling.Rule{
		RuleName: deref(r.RuleName), FixedRate: float64(*r.FixedRate), ServiceName: *r.ServiceName,
		ServiceType: *r.ServiceType, Host: *r.Host, HTTPMethod: *r.HTTPMethod, URLPath: *r.URLPath,
		ResourceARN: *r.ResourceARN, Attributes: r.Attributes,
	}
	for _, f := range []struct {
		name string
		src  *int64
		dst  *int
	}{{"Priority", r.Priority, &rule.Priority}, {"ReservoirSize", r.ReservoirSize, &rule.ReservoirSize}, {"Version", r.Version, &rule.Version}} {
		v, err := intField(f.name, f.src)
		if err != nil {
			return nil, err
		}
		*f.dst = *v
	}
	if s.cfg.Sampling == nil {
		return nil, errNoSampling
	}
	rec, err := s.cfg.Sampling.Create(context.Background(), rule, deref(r.RuleARN), in.Tags)
	if err != nil {
		return nil, samplingError(err)
	}
	return struct{ SamplingRuleRecord recordOut }{toRecordOut(rec)}, nil
}

func (s *Server) updateSamplingRule(_ context.Context, body []byte) (any, error) {
	var in struct{ SamplingRuleUpdate *ruleIn }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r := in.SamplingRuleUpdate
	if r == nil {
		return nil, invalid("SamplingRuleUpdate is required")
	}
	if len(r.SamplingRateBoost) > 0 && !bytes.Equal(r.SamplingRateBoost, []byte("null")) {
		return nil, invalid("SamplingRateBoost is not supported by this server")
	}
	if r.Version != nil {
		return nil, invalid("SamplingRuleUpdate has no Version member")
	}
	u := sampling.Update{
		RuleName: r.RuleName, RuleARN: r.RuleARN, ServiceName: r.ServiceName, ServiceType: r.ServiceType,
		Host: r.Host, HTTPMethod: r.HTTPMethod, URLPath: r.URLPath, ResourceARN: r.ResourceARN, Attributes: r.Attributes,
	}
	if r.FixedRate != nil {
		f := float64(*r.FixedRate)
		u.FixedRate = &f
	}
	var err error
	if u.Priority, err = intField("Priority", r.Priority); err != nil {
		return nil, err
	}
	if u.ReservoirSize, err = intField("ReservoirSize", r.ReservoirSize); err != nil {
		return nil, err
	}
	if s.cfg.Sampling == nil {
		return nil, errNoSampling
	}
	rec, err := s.cfg.Sampling.Update(context.Background(), u)
	if err != nil {
		return nil, samplingError(err)
	}
	return struct{ SamplingRuleRecord recordOut }{toRecordOut(rec)}, nil
}

func (s *Server) deleteSamplingRule(_ context.Context, body []byte) (any, error) {
	var in struct{ RuleName, RuleARN *string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if s.cfg.Sampling == nil {
		return nil, errNoSampling
	}
	rec, err := s.cfg.Sampling.Delete(context.Background(), in.RuleName, in.RuleARN)
	if err != nil {
		return nil, samplingError(err)
	}
	return struct{ SamplingRuleRecord recordOut }{toRecordOut(rec)}, nil
}

var errNoSampling = &Error{Status: http.StatusNotFound, Code: "UnknownOperationException", Message: "sampling is not configured on this server"}

// pageToken encodes an offset into a listing; tokens are opaque to clients.
func pageToken(offset int) *string {
	t := base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(offset)))
	return &t
}

func pageOffset(token *string, n int) (int, error) {
	if token == nil || *token == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*token)
	if err == nil && len(b) > 1 && b[0] == 'o' {
		if off, err := strconv.Atoi(string(b[1:])); err == nil && off >= 0 && off <= n {
			return off, nil
		}
	}
	return 0, invalid("NextToken %q is not a token this server issued", *token)
}

func (s *Server) samplingPage() int {
	if s.cfg.SamplingPageSize > 0 {
		return s.cfg.SamplingPageSize
	}
	return 100
}

func (s *Server) getSamplingRules(_ context.Context, body []byte) (any, error) {
	var in struct{ NextToken *string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if s.cfg.Sampling == nil {
		return nil, errNoSampling
	}
	recs := s.cfg.Sampling.Records()
	off, err := pageOffset(in.NextToken, len(recs))
	if err != nil {
		return nil, err
	}
	end := min(off+s.samplingPage(), len(recs))
	out := struct {
		SamplingRuleRecords []recordOut
		NextToken           *string `json:",omitempty"`
	}{SamplingRuleRecords: make([]recordOut, 0, end-off)}
	for _, rec := range recs[off:end] {
		out.SamplingRuleRecords = append(out.SamplingRuleRecords, toRecordOut(rec))
	}
	if end < len(recs) {
		out.NextToken = pageToken(end)
	}
	return out, nil
}

// maxStatisticsDocuments bounds one GetSamplingTargets call. X-Ray's model
// says 25, but an SDK reports every rule it used plus Default, which is 26
// with a full quota of rules, and SDKs do not split their reports.
const maxStatisticsDocuments = sampling.MaxRules + 1

// nodeSDKQuirk reports whether a GetSamplingTargets call comes from npm's
// aws-xray-sdk-core, which sends no User-Agent (every AWS SDK and the other
// X-Ray SDKs send one). That SDK reads ReservoirQuotaTTL and
// LastRuleModification with `new Date(n)`, as milliseconds: given X-Ray's
// epoch seconds, every quota looks expired since 1970 and each process
// borrows one request a second, so a fleet overruns its reservoir (against
// AWS X-Ray too). Fluoro sends that SDK milliseconds, which it reads right.
func nodeSDKQuirk(ctx context.Context) bool {
	ua, ok := ctx.Value(userAgentKey{}).(string)
	return ok && ua == ""
}

// wireTime is a time as a JSON number: epoch seconds, or milliseconds for
// the Node.js SDK (nodeSDKQuirk).
type wireTime struct {
	t      time.Time
	millis bool
}

func (w wireTime) MarshalJSON() ([]byte, error) {
	if w.millis {
		return strconv.AppendInt(nil, w.t.UnixMilli(), 10), nil
	}
	return epochSeconds(w.t).MarshalJSON()
}

func (s *Server) getSamplingTargets(ctx context.Context, body []byte) (any, error) {
	millis := nodeSDKQuirk(ctx)
	var in struct {
		SamplingStatisticsDocuments []struct {
			RuleName     *string
			ClientID     *string
			Timestamp    *epochSeconds
			RequestCount *int64
			SampledCount *int64
			BorrowCount  *int64
		}
		SamplingBoostStatisticsDocuments json.RawMessage
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.SamplingStatisticsDocuments == nil {
		return nil, invalid("SamplingStatisticsDocuments is required")
	}
	if n := len(in.SamplingStatisticsDocuments); n > maxStatisticsDocuments {
		return nil, invalid("SamplingStatisticsDocuments has %d members, at most %d are allowed", n, maxStatisticsDocuments)
	}
	if s.cfg.Sampling == nil {
		return nil, errNoSampling
	}
	stats := make([]sampling.Statistics, 0, len(in.SamplingStatisticsDocuments))
	for i, d := range in.SamplingStatisticsDocuments {
		if d.RuleName == nil || *d.RuleName == "" {
			return nil, invalid("SamplingStatisticsDocuments[%d].RuleName is required", i)
		}
		if d.ClientID == nil || *d.ClientID == "" {
			return nil, invalid("SamplingStatisticsDocuments[%d].ClientID is required", i)
		}
		st := sampling.Statistics{RuleName: *d.RuleName, ClientID: *d.ClientID}
		if d.Timestamp != nil {
			st.Timestamp = time.Time(*d.Timestamp)
		}
		for _, c := range []struct {
			name string
			src  *int64
			dst  *int
		}{{"RequestCount", d.RequestCount, &st.RequestCount}, {"SampledCount", d.SampledCount, &st.SampledCount}, {"BorrowCount", d.BorrowCount, &st.BorrowCount}} {
			v, err := intField(fmt.Sprintf("SamplingStatisticsDocuments[%d].%s", i, c.name), c.src)
			if err != nil {
				return nil, err
			}
			if v != nil {
				*c.dst = *v
			}
		}
		stats = append(stats, st)
	}
	targets, unprocessed := s.cfg.Sampling.Targets(stats)
	type targetOut struct {
		RuleName          string
		FixedRate         float64
		ReservoirQuota    int
		ReservoirQuotaTTL wireTime
		Interval          int
	}
	type unprocessedOut struct{ RuleName, ErrorCode, Message string }
	out := struct {
		SamplingTargetDocuments []targetOut
		LastRuleModification    wireTime
		UnprocessedStatistics   []unprocessedOut
	}{
		SamplingTargetDocuments: make([]targetOut, 0, len(targets)),
		LastRuleModification:    wireTime{s.cfg.Sampling.LastRuleModification(), millis},
		UnprocessedStatistics:   make([]unprocessedOut, 0, len(unprocessed)),
	}
	for _, t := range targets {
		out.SamplingTargetDocuments = append(out.SamplingTargetDocuments, targetOut{
			RuleName: t.RuleName, FixedRate: t.FixedRate, ReservoirQuota: t.ReservoirQuota,
			ReservoirQuotaTTL: wireTime{t.ReservoirQuotaTTL, millis}, Interval: t.Interval,
		})
	}
	for _, u := range unprocessed {
		out.UnprocessedStatistics = append(out.UnprocessedStatistics, unprocessedOut(u))
	}
	return out, nil
}

func (s *Server) getSamplingStatisticSummaries(_ context.Context, body []byte) (any, error) {
	var in struct{ NextToken *string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if s.cfg.Sampling == nil {
		return nil, errNoSampling
	}
	sums := s.cfg.Sampling.Summaries()
	off, err := pageOffset(in.NextToken, len(sums))
	if err != nil {
		return nil, err
	}
	end := min(off+s.samplingPage(), len(sums))
	type summaryOut struct {
		RuleName     string
		Timestamp    epochSeconds
		RequestCount int
		BorrowCount  int
		SampledCount int
	}
	out := struct {
		SamplingStatisticSummaries []summaryOut
		NextToken                  *string `json:",omitempty"`
	}{SamplingStatisticSummaries: make([]summaryOut, 0, end-off)}
	for _, x := range sums[off:end] {
		out.SamplingStatisticSummaries = append(out.SamplingStatisticSummaries, summaryOut{
			RuleName: x.RuleName, Timestamp: epochSeconds(x.Timestamp), RequestCount: x.RequestCount,
			BorrowCount: x.BorrowCount, SampledCount: x.SampledCount,
		})
	}
	if end < len(sums) {
		out.NextToken = pageToken(end)
	}
	return out, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
