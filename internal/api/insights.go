package api

import (
	"context"
	"math"
	"strconv"

	"github.com/fluoro-dev/fluoro/internal/insight"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// The insights operations, served when Config.Insights is set.
func (s *Server) insightOps() {
	if s.cfg.Insights == nil {
		return
	}
	s.op("/InsightSummaries", s.getInsightSummaries)
	s.op("/Insight", s.getInsight)
	s.op("/InsightEvents", s.getInsightEvents)
	s.op("/InsightImpactGraph", s.getInsightImpactGraph)
}

func impact(st insight.Stats) *xray.RequestImpactStatistics {
	return &xray.RequestImpactStatistics{FaultCount: st.Faults, OkCount: st.OK, TotalCount: st.Total}
}

func anomalous(r insight.Record) []xray.AnomalousService {
	out := make([]xray.AnomalousService, len(r.Anomalous))
	for i, id := range r.Anomalous {
		out[i] = xray.AnomalousService{ServiceId: xray.ServiceIDOf(id)}
	}
	return out
}

func insightOf(r insight.Record) xray.Insight {
	rc := xray.ServiceIDOf(r.RootCause)
	in := xray.Insight{InsightId: r.ID, Categories: []string{"FAULT"}, State: r.State, StartTime: r.Start, Summary: r.Summary,
		RootCauseServiceId: &rc, RootCauseServiceRequestImpactStatistics: impact(r.RootStats),
		ClientRequestImpactStatistics: impact(r.ClientStats), TopAnomalousServices: anomalous(r)}
	if r.End != 0 {
		end := r.End
		in.EndTime = &end
	}
	return in
}

// page reads a NextToken (an offset this server issued) and MaxResults
// (def when absent, at most limit).
func page(token *string, maxResults *int32, def, limit int) (offset, size int, err error) {
	size = def
	if maxResults != nil {
		if *maxResults < 1 || int(*maxResults) > limit {
			return 0, 0, invalid("MaxResults must be between 1 and %d", limit)
		}
		size = int(*maxResults)
	}
	if token != nil && *token != "" {
		offset, err = strconv.Atoi(*token)
		if err != nil || offset < 0 {
			return 0, 0, invalid("NextToken %q is not a token this server issued", *token)
		}
	}
	return offset, size, nil
}

func nextToken(offset, size, total int) *string {
	if offset+size >= total {
		return nil
	}
	t := strconv.Itoa(offset + size)
	return &t
}

func (s *Server) getInsightSummaries(_ context.Context, body []byte) (any, error) {
	var in xray.GetInsightSummariesInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.StartTime == nil || in.EndTime == nil {
		return nil, invalid("StartTime and EndTime are required")
	}
	if math.IsNaN(*in.StartTime) || math.IsNaN(*in.EndTime) || *in.EndTime <= *in.StartTime {
		return nil, invalid("EndTime must be after StartTime")
	}
	for _, st := range in.States {
		if st != insight.Active && st != insight.Closed {
			return nil, invalid("States has %q; each must be ACTIVE or CLOSED", st)
		}
	}
	offset, size, err := page(in.NextToken, in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	all := s.cfg.Insights.Insights(*in.StartTime, *in.EndTime, in.States)
	out := xray.GetInsightSummariesOutput{InsightSummaries: []xray.InsightSummary{}, NextToken: nextToken(offset, size, len(all))}
	for _, r := range all[min(offset, len(all)):min(offset+size, len(all))] {
		in := insightOf(r)
		out.InsightSummaries = append(out.InsightSummaries, xray.InsightSummary{
			InsightId: in.InsightId, Categories: in.Categories, State: in.State, StartTime: in.StartTime, EndTime: in.EndTime,
			LastUpdateTime: r.Updated, Summary: in.Summary, RootCauseServiceId: in.RootCauseServiceId,
			RootCauseServiceRequestImpactStatistics: in.RootCauseServiceRequestImpactStatistics,
			ClientRequestImpactStatistics:           in.ClientRequestImpactStatistics, TopAnomalousServices: in.TopAnomalousServices,
		})
	}
	return out, nil
}

func (s *Server) lookupInsight(id *string) (insight.Record, error) {
	if id == nil || *id == "" {
		return insight.Record{}, invalid("InsightId is required")
	}
	r, ok := s.cfg.Insights.Insight(*id)
	if !ok {
		return r, invalid("no insight has the id %q", *id)
	}
	return r, nil
}

func (s *Server) getInsight(_ context.Context, body []byte) (any, error) {
	var in xray.GetInsightInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := s.lookupInsight(in.InsightId)
	if err != nil {
		return nil, err
	}
	ins := insightOf(r)
	return xray.GetInsightOutput{Insight: &ins}, nil
}

func (s *Server) getInsightEvents(_ context.Context, body []byte) (any, error) {
	var in xray.GetInsightEventsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := s.lookupInsight(in.InsightId)
	if err != nil {
		return nil, err
	}
	offset, size, err := page(in.NextToken, in.MaxResults, 50, 50)
	if err != nil {
		return nil, err
	}
	out := xray.GetInsightEventsOutput{InsightEvents: []xray.InsightEvent{}, NextToken: nextToken(offset, size, len(r.Events))}
	// Newest first.
	for i := len(r.Events) - 1 - offset; i >= 0 && i > len(r.Events)-1-offset-size; i-- {
		ev := r.Events[i]
		x := xray.InsightEvent{EventTime: ev.Time, Summary: ev.Summary, RootCauseServiceRequestImpactStatistics: impact(ev.RootStats),
			ClientRequestImpactStatistics: impact(ev.ClientStats)}
		for _, id := range ev.Anomalous {
			x.TopAnomalousServices = append(x.TopAnomalousServices, xray.AnomalousService{ServiceId: xray.ServiceIDOf(id)})
		}
		out.InsightEvents = append(out.InsightEvents, x)
	}
	return out, nil
}

func (s *Server) getInsightImpactGraph(_ context.Context, body []byte) (any, error) {
	var in xray.GetInsightImpactGraphInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.StartTime == nil || in.EndTime == nil {
		return nil, invalid("StartTime and EndTime are required")
	}
	if math.IsNaN(*in.StartTime) || math.IsNaN(*in.EndTime) || *in.EndTime <= *in.StartTime {
		return nil, invalid("EndTime must be after StartTime")
	}
	r, err := s.lookupInsight(in.InsightId)
	if err != nil {
		return nil, err
	}
	graphEnd := r.End
	if graphEnd == 0 {
		graphEnd = r.Updated
	}
	out := xray.GetInsightImpactGraphOutput{InsightId: r.ID, StartTime: *in.StartTime, EndTime: *in.EndTime,
		ServiceGraphStartTime: r.Start, ServiceGraphEndTime: graphEnd, Services: []xray.InsightImpactGraphService{}}
	for i, id := range r.Services {
		svc := xray.InsightImpactGraphService{ReferenceId: int32(i), Name: id.Name, Names: []string{id.Name}, Type: id.Type,
			AccountId: id.AccountID, Edges: []xray.InsightImpactGraphEdge{}}
		for _, e := range r.Edges {
			if e[0] == i {
				svc.Edges = append(svc.Edges, xray.InsightImpactGraphEdge{ReferenceId: int32(e[1])})
			}
		}
		out.Services = append(out.Services, svc)
	}
	return out, nil
}
