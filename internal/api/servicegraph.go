package api

import (
	"context"
	"errors"
	"math"
	"strings"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/servicegraph"
)

// The service-map operations: GetServiceGraph, GetTraceGraph,
// GetTimeSeriesServiceStatistics and the groups API, answered by a
// servicegraph.Service from its pre-aggregated buckets. Member names are
// X-Ray's (aws-sdk-go-v2 service/xray types); times are epoch seconds.

func (s *Server) serviceGraphOps() {
	s.op("/ServiceGraph", s.getServiceGraph)
	s.op("/TraceGraph", s.getTraceGraph)
	s.op("/TimeSeriesServiceStatistics", s.getTimeSeriesServiceStatistics)
	s.op("/CreateGroup", s.createGroup)
	s.op("/GetGroup", s.getGroup)
	s.op("/Groups", s.getGroups)
	s.op("/UpdateGroup", s.updateGroup)
	s.op("/DeleteGroup", s.deleteGroup)
}

type histEntry struct {
	Value float64
	Count int64
}

type errorStats struct{ ThrottleCount, OtherCount, TotalCount int64 }

type faultStats struct{ OtherCount, TotalCount int64 }

// summaryStats is both ServiceStatistics and EdgeStatistics.
type summaryStats struct {
	OkCount           int64
	ErrorStatistics   errorStats
	FaultStatistics   faultStats
	TotalCount        int64
	TotalResponseTime float64
}

type alias struct {
	Name  string
	Names []string
	Type  string `json:",omitempty"`
}

type edgeOut struct {
	ReferenceId           int
	StartTime             *float64 `json:",omitempty"`
	EndTime               *float64 `json:",omitempty"`
	SummaryStatistics     summaryStats
	ResponseTimeHistogram []histEntry
	Aliases               []alias
}

type serviceOut struct {
	ReferenceId           int
	Name                  string
	Names                 []string
	Root                  bool    `json:",omitempty"`
	AccountId             *string `json:",omitempty"`
	Type                  *string `json:",omitempty"`
	State                 string
	StartTime             *float64 `json:",omitempty"`
	EndTime               *float64 `json:",omitempty"`
	Edges                 []edgeOut
	SummaryStatistics     *summaryStats `json:",omitempty"`
	DurationHistogram     []histEntry   `json:",omitempty"`
	ResponseTimeHistogram []histEntry   `json:",omitempty"`
}

func hist(h *servicegraph.Histogram) []histEntry {
	out := []histEntry{}
	for _, e := range h.Entries() {
		out = append(out, histEntry{Value: e.Value, Count: e.Count})
	}
	return out
}

func statsOut(st *servicegraph.Stats) summaryStats {
	return summaryStats{
		OkCount:           st.OK,
		ErrorStatistics:   errorStats{ThrottleCount: st.Throttle, OtherCount: st.ErrorOther, TotalCount: st.ErrorTotal()},
		FaultStatistics:   faultStats{OtherCount: st.Fault, TotalCount: st.FaultTotal()},
		TotalCount:        st.Total,
		TotalResponseTime: math.Round(st.ResponseTime*1e6) / 1e6,
	}
}

func timePtr(t float64) *float64 {
	if t <= 0 {
		return nil
	}
	return &t
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// servicesOut renders a graph as X-Ray's Services list, with ReferenceIds
// assigned densely in node order.
func servicesOut(b *servicegraph.Bucket) []serviceOut {
	nodes, edges := b.Sorted()
	ref := make(map[servicegraph.NodeKey]int, len(nodes))
	for i, n := range nodes {
		ref[n.Key] = i
	}
	out := make([]serviceOut, 0, len(nodes))
	for i, n := range nodes {
		so := serviceOut{ReferenceId: i, Name: n.Key.Name, Names: []string{n.Key.Name}, Root: n.Root,
			AccountId: strPtr(n.Key.AccountID), Type: strPtr(n.Key.Type), State: "active",
			StartTime: timePtr(n.Stats.Start), EndTime: timePtr(n.Stats.End), Edges: []edgeOut{}}
		if n.Kind != servicegraph.KindService {
			so.State = "unknown"
		}
		if n.Kind == servicegraph.KindClient {
			so.Root = false
		} else {
			st := statsOut(&n.Stats)
			so.SummaryStatistics = &st
			so.DurationHistogram = hist(&n.Stats.Durations)
			so.ResponseTimeHistogram = hist(&n.Stats.ResponseTimes)
		}
		for _, e := range edges[n.Key] {
			so.Edges = append(so.Edges, edgeOut{ReferenceId: ref[e.Key.To], StartTime: timePtr(e.Stats.Start),
				EndTime: timePtr(e.Stats.End), SummaryStatistics: statsOut(&e.Stats),
				ResponseTimeHistogram: hist(&e.Stats.ResponseTimes), Aliases: []alias{}})
		}
		out = append(out, so)
	}
	return out
}

// maxGraphRange bounds one GetServiceGraph or time-series query.
const maxGraphRange = 31 * 24 * 3600

func timeRange(start, end *float64) (float64, float64, error) {
	if start == nil || end == nil {
		return 0, 0, invalid("StartTime and EndTime are required")
	}
	if math.IsNaN(*start) || math.IsNaN(*end) || *start < 0 || *end <= *start {
		return 0, 0, invalid("EndTime must be after StartTime")
	}
	if *end-*start > maxGraphRange {
		return 0, 0, invalid("the time range is longer than %d days", maxGraphRange/86400)
	}
	return *start, *end, nil
}

// graphErr turns the servicegraph package's request errors into X-Ray's.
func graphErr(err error) error {
	var ie *servicegraph.InvalidError
	if errors.As(err, &ie) {
		return invalid("%s", ie.Msg)
	}
	return err
}

type groupRef struct {
	GroupName *string
	GroupARN  *string
}

func (r groupRef) names() (string, string) {
	var n, a string
	if r.GroupName != nil {
		n = *r.GroupName
	}
	if r.GroupARN != nil {
		a = *r.GroupARN
	}
	return n, a
}

// group resolves the request's group; none named is the Default group.
func (s *Server) group(r groupRef) (servicegraph.Group, error) {
	n, a := r.names()
	if n == "" && a == "" {
		n = servicegraph.DefaultGroupName
	}
	g, err := s.cfg.ServiceGraph.Resolve(n, a)
	return g, graphErr(err)
}

func (s *Server) getServiceGraph(ctx context.Context, body []byte) (any, error) {
	var in struct {
		StartTime, EndTime *float64
		groupRef
		NextToken *string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	start, end, err := timeRange(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	g, err := s.group(in.groupRef)
	if err != nil {
		return nil, err
	}
	b, err := s.cfg.ServiceGraph.Graph(ctx, g.ID, start, end)
	if err != nil {
		return nil, err
	}
	// One page holds the whole graph: NextToken is never returned.
	return struct {
		StartTime, EndTime       float64
		Services                 []serviceOut
		ContainsOldGroupVersions bool
	}{start, end, servicesOut(b), g.ID != servicegraph.DefaultGroupID && g.FilterSince > start}, nil
}

// maxTraceGraphIDs bounds one GetTraceGraph call.
const maxTraceGraphIDs = 100

func (s *Server) getTraceGraph(ctx context.Context, body []byte) (any, error) {
	var in struct {
		TraceIds  []string
		NextToken *string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.TraceIds) == 0 {
		return nil, invalid("TraceIds is required")
	}
	if len(in.TraceIds) > maxTraceGraphIDs {
		return nil, invalid("TraceIds has %d ids; at most %d are allowed per call", len(in.TraceIds), maxTraceGraphIDs)
	}
	ids := make([]model.TraceID, 0, len(in.TraceIds))
	for _, raw := range in.TraceIds {
		id, err := model.ParseTraceID(raw)
		if err != nil {
			return nil, invalid("TraceIds: %q is not a trace id: %v", raw, err)
		}
		ids = append(ids, id)
	}
	b, err := servicegraph.TraceGraph(ctx, s.cfg.Store, ids)
	if err != nil {
		return nil, err
	}
	return struct{ Services []serviceOut }{servicesOut(b)}, nil
}

type timeSeriesPoint struct {
	Timestamp                float64
	EdgeSummaryStatistics    *summaryStats `json:",omitempty"`
	ServiceSummaryStatistics *summaryStats `json:",omitempty"`
	ResponseTimeHistogram    []histEntry
}

// selector is a parsed EntitySelectorExpression: a service(…) or an
// edge(…, …) without a { } filter.
type selector struct {
	service *filterexpr.ServiceRef // service(...): nil ref matches every node
	isSvc   bool
	edge    *filterexpr.Edge
}

func parseSelector(src string) (selector, error) {
	if len(src) > 500 {
		return selector{}, invalid("EntitySelectorExpression is longer than 500 characters")
	}
	e, err := filterexpr.Parse(src)
	if err != nil {
		return selector{}, invalid("EntitySelectorExpression: %v", err)
	}
	switch x := e.(type) {
	case *filterexpr.Service:
		if x.Filter == nil {
			return selector{service: x.Ref, isSvc: true}, nil
		}
	case *filterexpr.Edge:
		if x.Filter == nil {
			return selector{edge: x}, nil
		}
	}
	return selector{}, invalid("EntitySelectorExpression %q is not a service(…) or edge(…, …) selector without a { } filter", src)
}

func refMatches(r *filterexpr.ServiceRef, k servicegraph.NodeKey) bool {
	return r == nil || ((r.Name == "" || r.Name == k.Name) && (r.Type == "" || r.Type == k.Type) &&
		(r.AccountID == "" || r.AccountID == k.AccountID))
}

// point sums, over one period's graph, the statistics the selector picks:
// the matching nodes (client nodes excepted); the matching edges; or,
// without a selector, the client edges, which carry every request entering
// the group's services.
func (sel selector) point(b *servicegraph.Bucket) (servicegraph.Stats, bool) {
	var acc servicegraph.Stats
	found := false
	if sel.isSvc {
		for k, n := range b.Nodes {
			if n.Kind != servicegraph.KindClient && refMatches(sel.service, k) {
				acc.Merge(&n.Stats)
				found = true
			}
		}
		return acc, found
	}
	for k, e := range b.Edges {
		var ok bool
		if sel.edge != nil {
			ok = refMatches(&sel.edge.Source, k.From) && refMatches(&sel.edge.Destination, k.To) &&
				k.From.Type != servicegraph.ClientType
		} else {
			ok = k.From.Type == servicegraph.ClientType
		}
		if ok {
			acc.Merge(&e.Stats)
			found = true
		}
	}
	return acc, found
}

func (s *Server) getTimeSeriesServiceStatistics(ctx context.Context, body []byte) (any, error) {
	var in struct {
		StartTime, EndTime *float64
		groupRef
		EntitySelectorExpression *string
		Period                   *int
		ForecastStatistics       *bool
		NextToken                *string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	start, end, err := timeRange(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	period := servicegraph.BucketSeconds
	if in.Period != nil {
		period = *in.Period
		if period < servicegraph.BucketSeconds || period%servicegraph.BucketSeconds != 0 {
			return nil, invalid("Period %d is not a positive multiple of %d seconds", period, servicegraph.BucketSeconds)
		}
	}
	var sel selector
	if in.EntitySelectorExpression != nil && strings.TrimSpace(*in.EntitySelectorExpression) != "" {
		if sel, err = parseSelector(*in.EntitySelectorExpression); err != nil {
			return nil, err
		}
	}
	g, err := s.group(in.groupRef)
	if err != nil {
		return nil, err
	}
	pts, err := s.cfg.ServiceGraph.Series(ctx, g.ID, start, end, period)
	if err != nil {
		return nil, err
	}
	// ForecastStatistics is accepted and ignored: no forecasts are made.
	out := []timeSeriesPoint{}
	for _, p := range pts {
		st, ok := sel.point(p.Bucket)
		if !ok {
			continue
		}
		tp := timeSeriesPoint{Timestamp: p.Start, ResponseTimeHistogram: hist(&st.ResponseTimes)}
		ss := statsOut(&st)
		if sel.isSvc {
			tp.ServiceSummaryStatistics = &ss
		} else {
			tp.EdgeSummaryStatistics = &ss
		}
		out = append(out, tp)
	}
	return struct {
		TimeSeriesServiceStatistics []timeSeriesPoint
		ContainsOldGroupVersions    bool
	}{out, g.ID != servicegraph.DefaultGroupID && g.FilterSince > start}, nil
}

type insightsConfig struct {
	InsightsEnabled      *bool `json:",omitempty"`
	NotificationsEnabled *bool `json:",omitempty"`
}

type groupOut struct {
	GroupName             string
	GroupARN              string
	FilterExpression      *string `json:",omitempty"`
	InsightsConfiguration struct{ InsightsEnabled, NotificationsEnabled bool }
}

func (s *Server) groupOut(g servicegraph.Group) groupOut {
	o := groupOut{GroupName: g.Name, GroupARN: s.cfg.ServiceGraph.ARN(g), FilterExpression: strPtr(g.FilterExpression)}
	o.InsightsConfiguration.InsightsEnabled = g.InsightsEnabled
	o.InsightsConfiguration.NotificationsEnabled = g.NotificationsEnabled
	return o
}

func (s *Server) createGroup(ctx context.Context, body []byte) (any, error) {
	var in struct {
		GroupName             *string
		FilterExpression      *string
		InsightsConfiguration *insightsConfig
		Tags                  []struct{ Key, Value *string }
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.GroupName == nil {
		return nil, invalid("GroupName is required")
	}
	for _, t := range in.Tags {
		if t.Key == nil || t.Value == nil {
			return nil, invalid("every tag needs a Key and a Value")
		}
	}
	g := servicegraph.Group{Name: *in.GroupName}
	if in.FilterExpression != nil {
		g.FilterExpression = *in.FilterExpression
	}
	if c := in.InsightsConfiguration; c != nil {
		g.InsightsEnabled = c.InsightsEnabled != nil && *c.InsightsEnabled
		g.NotificationsEnabled = c.NotificationsEnabled != nil && *c.NotificationsEnabled
	}
	g, err := s.cfg.ServiceGraph.CreateGroup(ctx, g)
	if err != nil {
		return nil, graphErr(err)
	}
	return struct{ Group groupOut }{s.groupOut(g)}, nil
}

func (s *Server) getGroup(_ context.Context, body []byte) (any, error) {
	var in groupRef
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	n, a := in.names()
	g, err := s.cfg.ServiceGraph.Resolve(n, a)
	if err != nil {
		return nil, graphErr(err)
	}
	return struct{ Group groupOut }{s.groupOut(g)}, nil
}

func (s *Server) getGroups(_ context.Context, body []byte) (any, error) {
	var in struct{ NextToken *string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	// Groups are few: every one is on the first page, and NextToken is
	// never returned.
	out := []groupOut{}
	for _, g := range s.cfg.ServiceGraph.Groups() {
		out = append(out, s.groupOut(g))
	}
	return struct{ Groups []groupOut }{out}, nil
}

func (s *Server) updateGroup(ctx context.Context, body []byte) (any, error) {
	var in struct {
		groupRef
		FilterExpression      *string
		InsightsConfiguration *insightsConfig
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	n, a := in.names()
	var ins, notif *bool
	if c := in.InsightsConfiguration; c != nil {
		ins, notif = c.InsightsEnabled, c.NotificationsEnabled
	}
	g, err := s.cfg.ServiceGraph.UpdateGroup(ctx, n, a, in.FilterExpression, ins, notif)
	if err != nil {
		return nil, graphErr(err)
	}
	return struct{ Group groupOut }{s.groupOut(g)}, nil
}

func (s *Server) deleteGroup(ctx context.Context, body []byte) (any, error) {
	var in groupRef
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	n, a := in.names()
	if err := s.cfg.ServiceGraph.DeleteGroup(ctx, n, a); err != nil {
		return nil, graphErr(err)
	}
	return struct{}{}, nil
}
