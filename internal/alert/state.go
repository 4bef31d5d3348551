package alert

import "time"

// States of a rule.
const (
	StateOK      = "ok"      // the condition does not hold (or the rule was never evaluated)
	StatePending = "pending" // the condition holds, for less than the rule's For
	StateFiring  = "firing"  // the condition has held for For; notified
	StateNoData  = "nodata"  // fewer than MinRequests requests in the window
)

// Status is a rule's current state and its last evaluation.
type Status struct {
	State string `json:"state"`
	// Since is when the rule entered State (for pending, when the condition
	// started to hold; for firing, when it fired). Zero before any change.
	Since time.Time `json:"since"`
	// Evaluated is the last evaluation's time; nil before the first.
	Evaluated *time.Time `json:"evaluated,omitempty"`
	// Value is the last evaluation's value; nil with no data.
	Value *float64 `json:"value"`
	// Requests is how many requests (traces, for a filter) the window held.
	Requests int64 `json:"requests"`
	// Scanned and Truncated say, for a filter rule, how many trace
	// summaries the last evaluation read, and whether it stopped at the
	// scan limit (the value then comes from the newest traces only).
	Scanned   int  `json:"scanned,omitempty"`
	Truncated bool `json:"truncated,omitempty"`
	// Error is why the last evaluation failed (the state was kept).
	Error string `json:"error,omitempty"`
}

// Event is one transition of a rule's state.
type Event struct {
	Time      time.Time `json:"time"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Value     *float64  `json:"value"`
	Requests  int64     `json:"requests"`
	Threshold float64   `json:"threshold"`
	// Reason says why a transition happened when the data alone does not
	// ("rule changed", "rule disabled").
	Reason string `json:"reason,omitempty"`
}

// Result is one evaluation of a rule's metric over its window.
type Result struct {
	Value    float64   `json:"value"`
	Requests int64     `json:"requests"`
	NoData   bool      `json:"nodata"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// Scanned and Truncated: see Status.
	Scanned   int  `json:"scanned,omitempty"`
	Truncated bool `json:"truncated,omitempty"`
	// Holds is whether the condition holds (false with no data).
	Holds bool `json:"holds"`
}

// step is the state machine: the status after evaluating r at now with
// result res, given the status before. A change of State is a transition;
// the caller records it and notifies on entering or leaving firing.
//
//	ok/nodata --holds--> pending --held For--> firing --clears--> ok
//	   (with For = 0, ok/nodata --holds--> firing directly)
//	pending --clears--> ok
//	any --fewer than MinRequests requests--> nodata
func step(r *Rule, prev Status, res Result, now time.Time) Status {
	next := prev
	next.Evaluated = &now
	next.Requests = res.Requests
	next.Scanned, next.Truncated = res.Scanned, res.Truncated
	next.Error = ""
	if res.NoData {
		next.Value = nil
		next.State = StateNoData
	} else {
		v := res.Value
		next.Value = &v
		switch {
		case !res.Holds:
			next.State = StateOK
		case prev.State == StateFiring:
		case prev.State == StatePending && now.Sub(prev.Since) >= time.Duration(r.For):
			next.State = StateFiring
		case prev.State == StatePending:
		case r.For <= 0:
			next.State = StateFiring
		default:
			next.State = StatePending
		}
	}
	if next.State != prev.State {
		next.Since = now
	}
	return next
}

// judge fills res.NoData and res.Holds for r: no data below MinRequests
// (except for request_rate, where zero requests is a value), else whether
// the comparison holds.
func judge(r *Rule, res *Result) {
	if r.Metric != RequestRate && (res.Requests == 0 || res.Requests < r.MinRequests) {
		res.NoData = true
		res.Holds = false
		return
	}
	res.NoData = false
	res.Holds = r.compare(res.Value)
}
