package xray

// The insights operations' shapes (GetInsightSummaries, GetInsight,
// GetInsightEvents, GetInsightImpactGraph), as aws-sdk-go-v2/service/xray
// serialises them: timestamps are epoch seconds.

// GetInsightSummariesInput is the body of POST /InsightSummaries.
type GetInsightSummariesInput struct {
	StartTime  *float64
	EndTime    *float64
	States     []string
	GroupARN   *string
	GroupName  *string
	MaxResults *int32
	NextToken  *string
}

// GetInsightSummariesOutput answers POST /InsightSummaries.
type GetInsightSummariesOutput struct {
	InsightSummaries []InsightSummary
	NextToken        *string `json:",omitempty"`
}

// InsightSummary is one insight in a list.
type InsightSummary struct {
	InsightId                               string
	Categories                              []string
	State                                   string
	StartTime                               float64
	EndTime                                 *float64 `json:",omitempty"`
	LastUpdateTime                          float64
	Summary                                 string
	GroupARN                                *string `json:",omitempty"`
	GroupName                               *string `json:",omitempty"`
	RootCauseServiceId                      *ServiceID
	RootCauseServiceRequestImpactStatistics *RequestImpactStatistics
	ClientRequestImpactStatistics           *RequestImpactStatistics
	TopAnomalousServices                    []AnomalousService
}

// RequestImpactStatistics counts requests: faulted, ok and in total.
type RequestImpactStatistics struct {
	FaultCount int64
	OkCount    int64
	TotalCount int64
}

// AnomalousService is a service whose fault rate departed from its baseline.
type AnomalousService struct {
	ServiceId ServiceID
}

// GetInsightInput is the body of POST /Insight.
type GetInsightInput struct {
	InsightId *string
}

// GetInsightOutput answers POST /Insight.
type GetInsightOutput struct {
	Insight *Insight
}

// Insight is one insight in full (the summary's members without
// LastUpdateTime).
type Insight struct {
	InsightId                               string
	Categories                              []string
	State                                   string
	StartTime                               float64
	EndTime                                 *float64 `json:",omitempty"`
	Summary                                 string
	GroupARN                                *string `json:",omitempty"`
	GroupName                               *string `json:",omitempty"`
	RootCauseServiceId                      *ServiceID
	RootCauseServiceRequestImpactStatistics *RequestImpactStatistics
	ClientRequestImpactStatistics           *RequestImpactStatistics
	TopAnomalousServices                    []AnomalousService
}

// GetInsightEventsInput is the body of POST /InsightEvents.
type GetInsightEventsInput struct {
	InsightId  *string
	MaxResults *int32
	NextToken  *string
}

// GetInsightEventsOutput answers POST /InsightEvents.
type GetInsightEventsOutput struct {
	InsightEvents []InsightEvent
	NextToken     *string `json:",omitempty"`
}

// InsightEvent is a change in an insight's impact.
type InsightEvent struct {
	EventTime                               float64
	Summary                                 string
	RootCauseServiceRequestImpactStatistics *RequestImpactStatistics
	ClientRequestImpactStatistics           *RequestImpactStatistics
	TopAnomalousServices                    []AnomalousService
}

// GetInsightImpactGraphInput is the body of POST /InsightImpactGraph.
type GetInsightImpactGraphInput struct {
	InsightId *string
	StartTime *float64
	EndTime   *float64
	NextToken *string
}

// GetInsightImpactGraphOutput answers POST /InsightImpactGraph.
type GetInsightImpactGraphOutput struct {
	InsightId             string
	StartTime             float64
	EndTime               float64
	ServiceGraphStartTime float64
	ServiceGraphEndTime   float64
	Services              []InsightImpactGraphService
	NextToken             *string `json:",omitempty"`
}

// InsightImpactGraphService is a node of an insight's impact graph.
type InsightImpactGraphService struct {
	ReferenceId int32
	Name        string
	Names       []string
	Type        string `json:",omitempty"`
	AccountId   string `json:",omitempty"`
	Edges       []InsightImpactGraphEdge
}

// InsightImpactGraphEdge points at the ReferenceId of a callee.
type InsightImpactGraphEdge struct {
	ReferenceId int32
}
