package query

import (
	"errors"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/model"
)

func TestExpandGroups(t *testing.T) {
	groups := map[string]string{"slow": "responsetime > 2", "all": "", "arn:g": "fault"}
	lookup := func(name, arn string) (filterexpr.Expr, error) {
		src, ok := groups[name+arn]
		if !ok {
			return nil, errors.New("group " + name + arn + " not found")
		}
		if src == "" {
			return nil, nil
		}
		return filterexpr.Parse(src)
	}
	slowOK := &model.Summary{Start: 100, End: 103, ResponseTime: 3}
	fastFault := &model.Summary{Start: 100, End: 100.5, ResponseTime: 0.5, HasFault: true}
	test := func(expr string, wantSlow, wantFast bool) {
		t.Helper()
		e, err := filterexpr.Parse(expr)
		if err != nil {
			t.Fatalf("parse %q: %v", expr, err)
		}
		x, err := ExpandGroups(e, lookup)
		if err != nil {
			t.Fatalf("ExpandGroups(%q): %v", expr, err)
		}
		if err := Check(x); err != nil {
			t.Fatalf("Check(expanded %q): %v", expr, err)
		}
		if got := Match(x, &Trace{Summary: slowOK}); got != wantSlow {
			t.Errorf("%q on a slow trace = %v, want %v", expr, got, wantSlow)
		}
		if got := Match(x, &Trace{Summary: fastFault}); got != wantFast {
			t.Errorf("%q on a fast faulted trace = %v, want %v", expr, got, wantFast)
		}
	}
	test(`group.name = "slow"`, true, false)
	test(`!group.name = "slow"`, false, true)
	test(`group.name = "all"`, true, true)
	test(`group.arn = "arn:g"`, false, true)
	test(`group.name = "slow" OR group.arn = "arn:g"`, true, true)
	test(`group.name = "slow" AND fault`, false, false)

	e, _ := filterexpr.Parse(`group.name = "missing"`)
	if _, err := ExpandGroups(e, lookup); err == nil {
		t.Errorf("an unknown group expanded without error")
	}
	var unsupported *ErrUnsupported
	if _, err := ExpandGroups(e, nil); !errors.As(err, &unsupported) {
		t.Errorf("without a lookup: err = %v, want *ErrUnsupported", err)
	}
	plain, _ := filterexpr.Parse(`fault`)
	if x, err := ExpandGroups(plain, nil); err != nil || x != plain {
		t.Errorf("an expression without groups was not returned as is: %v, %v", x, err)
	}
}
