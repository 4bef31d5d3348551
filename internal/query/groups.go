package query

import (
	"fmt"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
)

// GroupLookup returns the filter expression of the group with the given
// name or ARN (one of them is set): nil for a group without a filter (it
// holds every trace), an error for an unknown group.
type GroupLookup func(name, arn string) (filterexpr.Expr, error)

// ExpandGroups returns e with every group.name and group.arn term replaced by
// that group's filter expression, so that Check and Match see only what they
// evaluate. The parser admits group terms only at the top level (under AND,
// OR and NOT), and a group's own filter never names a group, so one pass is
// enough. e itself is not modified; without group terms e is returned as is.
func ExpandGroups(e filterexpr.Expr, lookup GroupLookup) (filterexpr.Expr, error) {
	has := false
	filterexpr.Walk(e, func(x filterexpr.Expr) bool {
		_, ok := x.(*filterexpr.Group)
		has = has || ok
		return !has
	})
	if !has {
		return e, nil
	}
	if lookup == nil {
		return nil, &ErrUnsupported{What: "group.name and group.arn"}
	}
	return expand(e, lookup)
}

func expand(e filterexpr.Expr, lookup GroupLookup) (filterexpr.Expr, error) {
	switch x := e.(type) {
	case *filterexpr.Group:
		g, err := lookup(x.Name, x.ARN)
		if err != nil {
			return nil, err
		}
		if g == nil {
			return &filterexpr.And{}, nil // no terms: every trace
		}
		if _, err := ExpandGroups(g, nil); err != nil {
			return nil, fmt.Errorf("group %s%s names another group", x.Name, x.ARN)
		}
		return g, nil
	case *filterexpr.And:
		terms, err := expandAll(x.Terms, lookup)
		if err != nil {
			return nil, err
		}
		return &filterexpr.And{Terms: terms}, nil
	case *filterexpr.Or:
		terms, err := expandAll(x.Terms, lookup)
		if err != nil {
			return nil, err
		}
		return &filterexpr.Or{Terms: terms}, nil
	case *filterexpr.Not:
		inner, err := expand(x.X, lookup)
		if err != nil {
			return nil, err
		}
		return &filterexpr.Not{X: inner}, nil
	}
	return e, nil
}

func expandAll(terms []filterexpr.Expr, lookup GroupLookup) ([]filterexpr.Expr, error) {
	out := make([]filterexpr.Expr, len(terms))
	for i, t := range terms {
		var err error
		if out[i], err = expand(t, lookup); err != nil {
			return nil, err
		}
	}
	return out, nil
}
