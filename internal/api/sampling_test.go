package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"

	"github.com/fluoro-dev/fluoro/internal/api"
	"github.com/fluoro-dev/fluoro/internal/sampling"
	"github.com/fluoro-dev/fluoro/internal/store/embedded"
)

// clock is a settable clock shared by the Service and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type samplingFixture struct {
	dir    string
	st     *embedded.Store
	clock  *clock
	http   *httptest.Server
	client *awsxray.Client
}

// newSamplingFixture serves the API over an embedded store in dir, with a
// fake clock starting at start and rule pages of pageSize.
func newSamplingFixture(t *testing.T, dir string, start time.Time, pageSize int) *samplingFixture {
	t.Helper()
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &samplingFixture{dir: dir, st: st, clock: &clock{t: start}}
	svc, err := sampling.Open(context.Background(), sampling.Config{Objects: st.Objects(), Now: f.clock.now, Region: "eu-west-1", Account: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	f.http = httptest.NewServer(api.New(api.Config{Store: st, Sampling: svc, SamplingPageSize: pageSize,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	f.client = awsxray.New(awsxray.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(f.http.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	t.Cleanup(f.close)
	return f
}

func (f *samplingFixture) close() {
	if f.http != nil {
		f.http.Close()
		f.st.Close()
		f.http = nil
	}
}

func rule(name string, priority int32) *types.SamplingRule {
	return &types.SamplingRule{
		RuleName: aws.String(name), Priority: aws.Int32(priority), FixedRate: 0.1, ReservoirSize: 5,
		ServiceName: aws.String("*"), ServiceType: aws.String("*"), Host: aws.String("*"), HTTPMethod: aws.String("*"),
		URLPath: aws.String("*"), ResourceARN: aws.String("*"), Version: aws.Int32(1),
	}
}

// wantAPIError checks that err is the typed X-Ray error E.
func wantAPIError[E error](t *testing.T, what string, err error) {
	t.Helper()
	var e E
	if !errors.As(err, &e) {
		t.Errorf("%s: error %v, want %T", what, err, e)
	}
}

func allRules(t *testing.T, c *awsxray.Client) []types.SamplingRuleRecord {
	t.Helper()
	var out []types.SamplingRuleRecord
	p := awsxray.NewGetSamplingRulesPaginator(c, &awsxray.GetSamplingRulesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("GetSamplingRules: %v", err)
		}
		out = append(out, page.SamplingRuleRecords...)
	}
	return out
}

// TestSamplingRulesAPI drives the rule operations through aws-sdk-go-v2:
// the Default rule as X-Ray serves it, create, every validation error,
// partial updates by name and ARN, deletion, the rule limit, pagination,
// and rules surviving a restart.
func TestSamplingRulesAPI(t *testing.T) {
	ctx := context.Background()
	start := time.Unix(1_750_000_000, 0)
	dir := t.TempDir()
	f := newSamplingFixture(t, dir, start, 7)
	c := f.client

	// The Default rule, exactly.
	recs := allRules(t, c)
	if len(recs) != 1 {
		t.Fatalf("a new server has %d rules, want Default alone", len(recs))
	}
	d := recs[0].SamplingRule
	got := fmt.Sprintf("%s %s %d %v %d %s %s %s %s %s %s %d %v", aws.ToString(d.RuleName), aws.ToString(d.RuleARN),
		aws.ToInt32(d.Priority), d.FixedRate, d.ReservoirSize, aws.ToString(d.ServiceName), aws.ToString(d.ServiceType),
		aws.ToString(d.Host), aws.ToString(d.HTTPMethod), aws.ToString(d.URLPath), aws.ToString(d.ResourceARN),
		aws.ToInt32(d.Version), d.Attributes)
	if want := "Default arn:aws:xray:eu-west-1:123456789012:sampling-rule/Default 10000 0.05 1 * * * * * * 1 map[]"; got != want {
		t.Errorf("Default rule:\n got %s\nwant %s", got, want)
	}
	if !recs[0].CreatedAt.Equal(start) || !recs[0].ModifiedAt.Equal(start) {
		t.Errorf("Default CreatedAt %v ModifiedAt %v, want %v", recs[0].CreatedAt, recs[0].ModifiedAt, start)
	}

	// Create.
	f.clock.advance(90*time.Second + 250*time.Millisecond)
	created := start.Add(90*time.Second + 250*time.Millisecond)
	in := rule("api", 100)
	in.ServiceName, in.URLPath, in.Attributes = aws.String("web-*"), aws.String("/api/*"), map[string]string{"tenant": "a?me"}
	out, err := c.CreateSamplingRule(ctx, &awsxray.CreateSamplingRuleInput{SamplingRule: in,
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}})
	if err != nil {
		t.Fatalf("CreateSamplingRule: %v", err)
	}
	r := out.SamplingRuleRecord
	if aws.ToString(r.SamplingRule.RuleARN) != "arn:aws:xray:eu-west-1:123456789012:sampling-rule/api" ||
		aws.ToString(r.SamplingRule.URLPath) != "/api/*" || r.SamplingRule.Attributes["tenant"] != "a?me" ||
		!r.CreatedAt.Equal(created) || !r.ModifiedAt.Equal(created) {
		t.Errorf("created record %+v (rule %+v)", r, r.SamplingRule)
	}

	// Every refusal is an InvalidRequestException.
	bad := func(what string, edit func(*types.SamplingRule)) {
		t.Helper()
		r := rule("bad", 50)
		edit(r)
		_, err := c.CreateSamplingRule(ctx, &awsxray.CreateSamplingRuleInput{SamplingRule: r})
		wantAPIError[*types.InvalidRequestException](t, what, err)
	}
	long := func(n int) *string { return aws.String(strings.Repeat("x", n)) }
	bad("duplicate name", func(r *types.SamplingRule) { r.RuleName = aws.String("api") })
	bad("the Default name", func(r *types.SamplingRule) { r.RuleName = aws.String("Default") })
	bad("no name", func(r *types.SamplingRule) { r.RuleName = nil })
	bad("name of 33", func(r *types.SamplingRule) { r.RuleName = long(33) })
	bad("ARN of another name", func(r *types.SamplingRule) {
		r.RuleARN = aws.String("arn:aws:xray:eu-west-1:123456789012:sampling-rule/other")
	})
	bad("priority 0", func(r *types.SamplingRule) { r.Priority = aws.Int32(0) })
	bad("priority 10000", func(r *types.SamplingRule) { r.Priority = aws.Int32(10000) })
	bad("rate 1.5", func(r *types.SamplingRule) { r.FixedRate = 1.5 })
	bad("rate -0.1", func(r *types.SamplingRule) { r.FixedRate = -0.1 })
	bad("rate NaN", func(r *types.SamplingRule) { r.FixedRate = math.NaN() })
	bad("rate +Inf", func(r *types.SamplingRule) { r.FixedRate = math.Inf(1) })
	bad("reservoir -1", func(r *types.SamplingRule) { r.ReservoirSize = -1 })
	bad("ServiceName of 65", func(r *types.SamplingRule) { r.ServiceName = long(65) })
	bad("ServiceType of 65", func(r *types.SamplingRule) { r.ServiceType = long(65) })
	bad("Host of 65", func(r *types.SamplingRule) { r.Host = long(65) })
	bad("HTTPMethod of 11", func(r *types.SamplingRule) { r.HTTPMethod = long(11) })
	bad("URLPath of 129", func(r *types.SamplingRule) { r.URLPath = long(129) })
	bad("ResourceARN of 501", func(r *types.SamplingRule) { r.ResourceARN = long(501) })
	bad("version 2", func(r *types.SamplingRule) { r.Version = aws.Int32(2) })
	bad("6 attributes", func(r *types.SamplingRule) {
		r.Attributes = map[string]string{"a": "1", "b": "1", "c": "1", "d": "1", "e": "1", "f": "1"}
	})
	bad("empty attribute key", func(r *types.SamplingRule) { r.Attributes = map[string]string{"": "1"} })
	bad("attribute key of 33", func(r *types.SamplingRule) { r.Attributes = map[string]string{*long(33): "1"} })
	bad("empty attribute value", func(r *types.SamplingRule) { r.Attributes = map[string]string{"k": ""} })
	bad("attribute value of 33", func(r *types.SamplingRule) { r.Attributes = map[string]string{"k": *long(33)} })
	bad("rate boost", func(r *types.SamplingRule) {
		r.SamplingRateBoost = &types.SamplingRateBoost{MaxRate: 0.5, CooldownWindowMinutes: 5}
	})
	_, err = c.CreateSamplingRule(ctx, &awsxray.CreateSamplingRuleInput{SamplingRule: rule("tagged", 5),
		Tags: []types.Tag{{Key: aws.String("aws:reserved"), Value: aws.String("x")}}})
	wantAPIError[*types.InvalidRequestException](t, "reserved tag key", err)

	// Partial update by name: only the rate changes.
	f.clock.advance(time.Minute)
	up, err := c.UpdateSamplingRule(ctx, &awsxray.UpdateSamplingRuleInput{SamplingRuleUpdate: &types.SamplingRuleUpdate{
		RuleName: aws.String("api"), FixedRate: aws.Float64(0.25)}})
	if err != nil {
		t.Fatalf("UpdateSamplingRule: %v", err)
	}
	u := up.SamplingRuleRecord
	if u.SamplingRule.FixedRate != 0.25 || u.SamplingRule.ReservoirSize != 5 || aws.ToString(u.SamplingRule.ServiceName) != "web-*" ||
		u.SamplingRule.Attributes["tenant"] != "a?me" || !u.CreatedAt.Equal(created) || !u.ModifiedAt.Equal(created.Add(time.Minute)) {
		t.Errorf("after updating FixedRate: %+v %+v", u, u.SamplingRule)
	}
	// By ARN, clearing the attributes and moving the priority.
	up, err = c.UpdateSamplingRule(ctx, &awsxray.UpdateSamplingRuleInput{SamplingRuleUpdate: &types.SamplingRuleUpdate{
		RuleARN: aws.String("arn:aws:xray:eu-west-1:123456789012:sampling-rule/api"), Priority: aws.Int32(7),
		Attributes: map[string]string{}}})
	if err != nil {
		t.Fatalf("UpdateSamplingRule by ARN: %v", err)
	}
	if u := up.SamplingRuleRecord.SamplingRule; aws.ToInt32(u.Priority) != 7 || len(u.Attributes) != 0 || u.FixedRate != 0.25 {
		t.Errorf("after updating by ARN: %+v", u)
	}
	// The Default rule: rate and reservoir only.
	up, err = c.UpdateSamplingRule(ctx, &awsxray.UpdateSamplingRuleInput{SamplingRuleUpdate: &types.SamplingRuleUpdate{
		RuleName: aws.String("Default"), FixedRate: aws.Float64(0.5), ReservoirSize: aws.Int32(3)}})
	if err != nil {
		t.Fatalf("UpdateSamplingRule Default: %v", err)
	}
	if u := up.SamplingRuleRecord.SamplingRule; u.FixedRate != 0.5 || u.ReservoirSize != 3 || aws.ToInt32(u.Priority) != 10000 {
		t.Errorf("Default after update: %+v", u)
	}
	badUpdate := func(what string, u types.SamplingRuleUpdate) {
		t.Helper()
		_, err := c.UpdateSamplingRule(ctx, &awsxray.UpdateSamplingRuleInput{SamplingRuleUpdate: &u})
		wantAPIError[*types.InvalidRequestException](t, what, err)
	}
	badUpdate("Default's ServiceName", types.SamplingRuleUpdate{RuleName: aws.String("Default"), ServiceName: aws.String("x")})
	badUpdate("Default's Priority", types.SamplingRuleUpdate{RuleName: aws.String("Default"), Priority: aws.Int32(1)})
	badUpdate("unknown rule", types.SamplingRuleUpdate{RuleName: aws.String("nope"), FixedRate: aws.Float64(0.1)})
	badUpdate("no name or ARN", types.SamplingRuleUpdate{FixedRate: aws.Float64(0.1)})
	badUpdate("foreign ARN", types.SamplingRuleUpdate{RuleARN: aws.String("arn:aws:xray:us-east-1:1:sampling-rule/api")})
	badUpdate("rate 2", types.SamplingRuleUpdate{RuleName: aws.String("api"), FixedRate: aws.Float64(2)})
	badUpdate("priority 10000", types.SamplingRuleUpdate{RuleName: aws.String("api"), Priority: aws.Int32(10000)})
	if r := allRules(t, c)[0].SamplingRule; aws.ToString(r.RuleName) != "api" || r.FixedRate != 0.25 || aws.ToInt32(r.Priority) != 7 {
		t.Errorf("a refused update changed the rule: %+v", r)
	}

	// Delete: Default never, unknown rules are refused.
	_, err = c.DeleteSamplingRule(ctx, &awsxray.DeleteSamplingRuleInput{RuleName: aws.String("Default")})
	wantAPIError[*types.InvalidRequestException](t, "delete Default", err)
	_, err = c.DeleteSamplingRule(ctx, &awsxray.DeleteSamplingRuleInput{RuleARN: aws.String("arn:aws:xray:eu-west-1:123456789012:sampling-rule/Default")})
	wantAPIError[*types.InvalidRequestException](t, "delete Default by ARN", err)
	_, err = c.DeleteSamplingRule(ctx, &awsxray.DeleteSamplingRuleInput{RuleName: aws.String("nope")})
	wantAPIError[*types.InvalidRequestException](t, "delete unknown", err)

	// The limit: 25 rules besides Default.
	for i := 1; i < sampling.MaxRules; i++ {
		if _, err := c.CreateSamplingRule(ctx, &awsxray.CreateSamplingRuleInput{SamplingRule: rule(fmt.Sprintf("r%02d", i), int32(1000-i))}); err != nil {
			t.Fatalf("create rule %d: %v", i, err)
		}
	}
	_, err = c.CreateSamplingRule(ctx, &awsxray.CreateSamplingRuleInput{SamplingRule: rule("one-too-many", 9)})
	wantAPIError[*types.RuleLimitExceededException](t, "26th rule", err)

	// Pages of 7 with the SDK's paginator: all 26, by priority then name.
	recs = allRules(t, c)
	var names []string
	for _, r := range recs {
		names = append(names, aws.ToString(r.SamplingRule.RuleName))
	}
	if len(recs) != 26 || names[0] != "api" || names[1] != "r24" || names[24] != "r01" || names[25] != "Default" {
		t.Errorf("GetSamplingRules pages: %d rules %v", len(recs), names)
	}
	_, err = c.GetSamplingRules(ctx, &awsxray.GetSamplingRulesInput{NextToken: aws.String("forged")})
	wantAPIError[*types.InvalidRequestException](t, "forged NextToken", err)

	// Delete by ARN, then by name.
	del, err := c.DeleteSamplingRule(ctx, &awsxray.DeleteSamplingRuleInput{RuleARN: aws.String("arn:aws:xray:eu-west-1:123456789012:sampling-rule/r01")})
	if err != nil || aws.ToString(del.SamplingRuleRecord.SamplingRule.RuleName) != "r01" {
		t.Fatalf("DeleteSamplingRule by ARN: %v, %+v", err, del)
	}
	if _, err := c.DeleteSamplingRule(ctx, &awsxray.DeleteSamplingRuleInput{RuleName: aws.String("r02")}); err != nil {
		t.Fatalf("DeleteSamplingRule by name: %v", err)
	}
	if n := len(allRules(t, c)); n != 24 {
		t.Errorf("%d rules after two deletions, want 24", n)
	}

	// A restart keeps the rules, their times, and the updated Default.
	before := allRules(t, c)
	f.close()
	f = newSamplingFixture(t, dir, start.Add(time.Hour), 100)
	after := allRules(t, f.client)
	if fmt.Sprintf("%+v", recordsString(before)) != fmt.Sprintf("%+v", recordsString(after)) {
		t.Errorf("rules after a restart differ:\n got %v\nwant %v", recordsString(after), recordsString(before))
	}
}

func recordsString(recs []types.SamplingRuleRecord) []string {
	var out []string
	for _, r := range recs {
		s := r.SamplingRule
		out = append(out, fmt.Sprintf("%s/%s/%d/%v/%d/%s/%v/%v/%v", aws.ToString(s.RuleName), aws.ToString(s.RuleARN),
			aws.ToInt32(s.Priority), s.FixedRate, s.ReservoirSize, aws.ToString(s.ServiceName), s.Attributes,
			r.CreatedAt.UnixMilli(), r.ModifiedAt.UnixMilli()))
	}
	return out
}

// TestSamplingTargetsAPI: GetSamplingTargets and
// GetSamplingStatisticSummaries through aws-sdk-go-v2: targets for known
// rules, UnprocessedStatistics with a 4xx code for unknown ones,
// LastRuleModification, and summaries per rule and window.
func TestSamplingTargetsAPI(t *testing.T) {
	ctx := context.Background()
	start := time.Unix(1_750_000_000, 0)
	f := newSamplingFixture(t, t.TempDir(), start, 2)
	c := f.client
	f.clock.advance(5 * time.Second)
	if _, err := c.CreateSamplingRule(ctx, &awsxray.CreateSamplingRuleInput{SamplingRule: rule("api", 10)}); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(10 * time.Second)
	now := f.clock.now()
	doc := func(rule, client string, requests, sampled, borrowed int32) types.SamplingStatisticsDocument {
		return types.SamplingStatisticsDocument{RuleName: aws.String(rule), ClientID: aws.String(client), Timestamp: aws.Time(now),
			RequestCount: requests, SampledCount: sampled, BorrowCount: borrowed}
	}
	out, err := c.GetSamplingTargets(ctx, &awsxray.GetSamplingTargetsInput{SamplingStatisticsDocuments: []types.SamplingStatisticsDocument{
		doc("api", "aaaaaaaaaaaaaaaaaaaaaaaa", 300, 20, 1),
		doc("Default", "aaaaaaaaaaaaaaaaaaaaaaaa", 10, 1, 0),
		doc("gone", "aaaaaaaaaaaaaaaaaaaaaaaa", 10, 1, 0),
	}})
	if err != nil {
		t.Fatalf("GetSamplingTargets: %v", err)
	}
	if len(out.SamplingTargetDocuments) != 2 {
		t.Fatalf("targets %+v, want api and Default", out.SamplingTargetDocuments)
	}
	api, def := out.SamplingTargetDocuments[0], out.SamplingTargetDocuments[1]
	ttl := now.Add(sampling.DefaultTTL)
	if aws.ToString(api.RuleName) != "api" || api.FixedRate != 0.1 || aws.ToInt32(api.ReservoirQuota) != 5 ||
		!aws.ToTime(api.ReservoirQuotaTTL).Equal(ttl) || aws.ToInt32(api.Interval) != 10 {
		t.Errorf("api target %+v (TTL %v)", api, aws.ToTime(api.ReservoirQuotaTTL))
	}
	if aws.ToString(def.RuleName) != "Default" || def.FixedRate != 0.05 || aws.ToInt32(def.ReservoirQuota) != 1 {
		t.Errorf("Default target %+v", def)
	}
	if len(out.UnprocessedStatistics) != 1 || aws.ToString(out.UnprocessedStatistics[0].RuleName) != "gone" ||
		!strings.HasPrefix(aws.ToString(out.UnprocessedStatistics[0].ErrorCode), "4") {
		t.Errorf("unprocessed %+v, want gone with a 4xx code", out.UnprocessedStatistics)
	}
	// LastRuleModification is the server's start (rules may have changed
	// while it was down) or the latest change, whichever is later.
	if got := aws.ToTime(out.LastRuleModification); !got.Equal(start.Add(5 * time.Second)) {
		t.Errorf("LastRuleModification %v, want the creation of api at %v", got, start.Add(5*time.Second))
	}

	// A second client in the next window, then the summaries.
	f.clock.advance(10 * time.Second)
	now = f.clock.now()
	if _, err := c.GetSamplingTargets(ctx, &awsxray.GetSamplingTargetsInput{SamplingStatisticsDocuments: []types.SamplingStatisticsDocument{
		doc("api", "bbbbbbbbbbbbbbbbbbbbbbbb", 7, 3, 0), doc("api", "aaaaaaaaaaaaaaaaaaaaaaaa", 5, 2, 1),
	}}); err != nil {
		t.Fatal(err)
	}
	var sums []string
	p := awsxray.NewGetSamplingStatisticSummariesPaginator(c, &awsxray.GetSamplingStatisticSummariesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("GetSamplingStatisticSummaries: %v", err)
		}
		for _, s := range page.SamplingStatisticSummaries {
			sums = append(sums, fmt.Sprintf("%s@%d:%d/%d/%d", aws.ToString(s.RuleName), aws.ToTime(s.Timestamp).Unix()-start.Unix(),
				s.RequestCount, s.SampledCount, s.BorrowCount))
		}
	}
	if got, want := strings.Join(sums, " "), "api@20:12/5/1 Default@10:10/1/0 api@10:300/20/1"; got != want {
		t.Errorf("summaries (rule@window:requests/sampled/borrowed):\n got %s\nwant %s", got, want)
	}

}

// TestSamplingWireShapes checks the raw JSON the classic SDKs parse by hand:
// Attributes present as {} (Node drops rules without it), and numeric
// timestamps (Node rejects a targets response without a numeric
// LastRuleModification).
func TestSamplingWireShapes(t *testing.T) {
	f := newSamplingFixture(t, t.TempDir(), time.Unix(1_750_000_000, 500_000_000), 100)
	post := func(path, body string) map[string]any {
		t.Helper()
		resp, err := http.Post(f.http.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: status %d, %v", path, resp.StatusCode, err)
		}
		return v
	}
	rules := post("/GetSamplingRules", `{"NextToken":null}`)
	rec := rules["SamplingRuleRecords"].([]any)[0].(map[string]any)
	r := rec["SamplingRule"].(map[string]any)
	if a, ok := r["Attributes"].(map[string]any); !ok || len(a) != 0 {
		t.Errorf("Default's Attributes = %#v, want {}", r["Attributes"])
	}
	if rec["CreatedAt"] != 1_750_000_000.5 || r["Version"] != 1.0 || r["FixedRate"] != 0.05 {
		t.Errorf("record %v", rec)
	}
	if _, ok := rules["NextToken"]; ok {
		t.Errorf("a single page carries a NextToken: %v", rules)
	}
	// The Node SDK's document: integer Timestamp; Java's: milliseconds.
	targets := post("/SamplingTargets", `{"SamplingStatisticsDocuments":[
		{"RuleName":"Default","ClientID":"0123456789abcdef01234567","RequestCount":3,"BorrowCount":1,"SampledCount":1,"Timestamp":1750000000},
		{"RuleName":"Default","ClientID":"0123456789abcdef01234568","RequestCount":3,"BorrowCount":0,"SampledCount":1,"Timestamp":1750000000123}]}`)
	if _, ok := targets["LastRuleModification"].(float64); !ok {
		t.Errorf("LastRuleModification = %#v, want a number", targets["LastRuleModification"])
	}
	docs := targets["SamplingTargetDocuments"].([]any)
	if len(docs) != 2 {
		t.Fatalf("targets %v", targets)
	}
	if ttl, ok := docs[0].(map[string]any)["ReservoirQuotaTTL"].(float64); !ok || ttl != 1_750_000_060 {
		t.Errorf("ReservoirQuotaTTL = %#v, want 1750000060", docs[0].(map[string]any)["ReservoirQuotaTTL"])
	}
	if u, ok := targets["UnprocessedStatistics"].([]any); !ok || len(u) != 0 {
		t.Errorf("UnprocessedStatistics = %#v, want []", targets["UnprocessedStatistics"])
	}

	// What the AWS SDKs refuse to send, other clients may: each is an
	// InvalidRequestException, never a crash or a silent default.
	refused := func(path, body string) {
		t.Helper()
		resp, err := http.Post(f.http.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidRequestException" {
			t.Errorf("%s %s: %d %s %s, want 400 InvalidRequestException", path, body, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b)
		}
	}
	full := `"RuleName":"x","Priority":5,"FixedRate":0.1,"ReservoirSize":1,"ServiceName":"*","ServiceType":"*","Host":"*","HTTPMethod":"*","URLPath":"*","ResourceARN":"*","Version":1`
	for _, field := range []string{"Priority", "FixedRate", "ReservoirSize", "ServiceName", "ServiceType", "Host", "HTTPMethod", "URLPath", "ResourceARN", "Version"} {
		var kept []string
		for _, kv := range strings.Split(full, ",") {
			if !strings.HasPrefix(kv, `"`+field+`"`) {
				kept = append(kept, kv)
			}
		}
		refused("/CreateSamplingRule", `{"SamplingRule":{`+strings.Join(kept, ",")+`}}`)
	}
	refused("/CreateSamplingRule", `{}`)
	refused("/CreateSamplingRule", `{"SamplingRule":{`+strings.Replace(full, `"Priority":5`, `"Priority":1.5`, 1)+`}}`)
	refused("/CreateSamplingRule", `{"SamplingRule":{`+strings.Replace(full, `"ReservoirSize":1`, `"ReservoirSize":4294967296`, 1)+`}}`)
	refused("/CreateSamplingRule", `{"SamplingRule":{`+strings.Replace(full, `"FixedRate":0.1`, `"FixedRate":"0.1"`, 1)+`}}`)
	refused("/CreateSamplingRule", `{"SamplingRule":[]}`)
	refused("/UpdateSamplingRule", `{}`)
	refused("/UpdateSamplingRule", `{"SamplingRuleUpdate":{"RuleName":"Default","Version":2}}`)
	refused("/DeleteSamplingRule", `{}`)
	refused("/SamplingTargets", `{}`)
	refused("/SamplingTargets", `{"SamplingStatisticsDocuments":[{"RuleName":"Default","RequestCount":1}]}`)
	refused("/SamplingTargets", `{"SamplingStatisticsDocuments":[{"ClientID":"c","RequestCount":1}]}`)
	refused("/SamplingTargets", `{"SamplingStatisticsDocuments":[{"RuleName":"Default","ClientID":"c","Timestamp":"yesterday"}]}`)
	refused("/SamplingTargets", `{"SamplingStatisticsDocuments":[{"RuleName":"Default","ClientID":"c","RequestCount":99999999999}]}`)
	refused("/SamplingTargets", `{"SamplingStatisticsDocuments":[`+strings.Repeat(`{"RuleName":"Default","ClientID":"c"},`, 26)+`{"RuleName":"Default","ClientID":"c"}]}`)
	refused("/SamplingStatisticSummaries", `{"NextToken":"bm9wZQ"}`)
	refused("/GetSamplingRules", `{"NextToken":5}`)
}
