package query

import (
	"encoding/json"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// matchRootCauseJSON evaluates rootcause.json = #[…]: every object of the
// pattern must match one of the trace's root causes (fault, error or
// response time) in the shape GetTraceSummaries returns them. An object
// matches when each member it has matches (members it omits match
// anything); an array matches an array of the same length element by
// element; other values must be equal.
func matchRootCauseJSON(pattern string, s *model.Summary) bool {
	var want []any
	if json.Unmarshal([]byte(pattern), &want) != nil {
		return false
	}
	var have []any
	for _, kind := range [][]xray.RootCause{
		xray.RootCausesOf(s.FaultRootCauses, false),
		xray.RootCausesOf(s.ErrorRootCauses, false),
		xray.RootCausesOf(s.ResponseTimeRootCauses, true),
	} {
		b, err := json.Marshal(kind)
		if err != nil {
			return false
		}
		var list []any
		if json.Unmarshal(b, &list) != nil {
			return false
		}
		have = append(have, list...)
	}
	for _, w := range want {
		found := false
		for _, h := range have {
			if jsonMatches(w, h) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func jsonMatches(want, have any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			hv, ok := h[k]
			if !ok {
				hv = zeroLike(wv) // the API omits empty members
			}
			if !jsonMatches(wv, hv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			h = nil
		}
		if len(h) != len(w) {
			return false
		}
		for i := range w {
			if !jsonMatches(w[i], h[i]) {
				return false
			}
		}
		return true
	}
	return want == have
}

// zeroLike is the value an omitted member stands for.
func zeroLike(v any) any {
	switch v.(type) {
	case bool:
		return false
	case float64:
		return float64(0)
	case string:
		return ""
	case []any:
		return []any{}
	}
	return nil
}
