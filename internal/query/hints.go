package query

import (
	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/store"
)

// Hint picks, among the terms every match of e must satisfy (e itself, or
// the terms of a top-level AND), one the store can look up instead of
// scanning: an annotation value, a user, a throttle, fault or error flag, or
// a service name, in that order of preference (roughly, most selective
// first). It returns nil when there is none. The store may return a
// superset; Match re-checks every trace.
func Hint(e filterexpr.Expr) *store.Hint {
	terms := []filterexpr.Expr{e}
	if and, ok := e.(*filterexpr.And); ok {
		terms = and.Terms
	}
	var best *store.Hint
	rank := 0
	offer := func(h store.Hint, r int) {
		if r > rank {
			best, rank = &h, r
		}
	}
	for _, t := range terms {
		switch t := t.(type) {
		case *filterexpr.Service:
			if t.Ref != nil && t.Ref.Name != "" {
				offer(store.Hint{Field: store.HintService, Value: model.Value{Kind: model.String, Str: t.Ref.Name}}, 1)
			}
		case *filterexpr.Compare:
			bare := t.Op == filterexpr.OpNone || (t.Op == filterexpr.OpEq && t.Value.Kind == filterexpr.KindBool && t.Value.Bool)
			switch {
			case t.Keyword == filterexpr.KwError && bare:
				offer(store.Hint{Field: store.HintError}, 2)
			case t.Keyword == filterexpr.KwFault && bare:
				offer(store.Hint{Field: store.HintFault}, 3)
			case t.Keyword == filterexpr.KwThrottle && bare:
				offer(store.Hint{Field: store.HintThrottle}, 4)
			case t.Keyword == filterexpr.KwUser && t.Op == filterexpr.OpEq:
				offer(store.Hint{Field: store.HintUser, Value: model.Value{Kind: model.String, Str: t.Value.Str}}, 5)
			case t.Keyword == filterexpr.KwAnnotation && t.Op == filterexpr.OpEq:
				v := model.Value{Kind: model.String, Str: t.Value.Str}
				switch t.Value.Kind {
				case filterexpr.KindNumber:
					v = model.Value{Kind: model.Number, Num: t.Value.Num}
				case filterexpr.KindBool:
					v = model.Value{Kind: model.Bool, Bool: t.Value.Bool}
				}
				offer(store.Hint{Field: store.HintAnnotation, Key: t.Key, Value: v}, 6)
			}
		}
	}
	return best
}
