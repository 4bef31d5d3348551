package query

import (
	"fmt"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/filterexpr"
	"github.com/fluoro-dev/fluoro/internal/store"
)

func TestHint(t *testing.T) {
	check := func(expr, want string) {
		t.Helper()
		e, err := filterexpr.Parse(expr)
		if err != nil {
			t.Fatalf("parse %q: %v", expr, err)
		}
		got := "none"
		if h := Hint(e); h != nil {
			got = fmt.Sprintf("%d %s %v", h.Field, h.Key, h.Value)
		}
		if got != want {
			t.Errorf("Hint(%q) = %s, want %s", expr, got, want)
		}
	}
	svc := fmt.Sprint(store.HintService)
	check(`service("api")`, svc+"  {1 api 0 false}")
	check(`service("api") AND fault`, fmt.Sprint(store.HintFault)+"  {0  0 false}")
	check(`fault AND throttle`, fmt.Sprint(store.HintThrottle)+"  {0  0 false}")
	check(`error = true AND service("x")`, fmt.Sprint(store.HintError)+"  {0  0 false}")
	check(`user = "alice" AND fault`, fmt.Sprint(store.HintUser)+"  {1 alice 0 false}")
	check(`annotation.tier = "gold" AND user = "alice"`, fmt.Sprint(store.HintAnnotation)+" tier {1 gold 0 false}")
	check(`annotation[items] = 3`, fmt.Sprint(store.HintAnnotation)+" items {2  3 false}")
	check(`annotation.test = true`, fmt.Sprint(store.HintAnnotation)+" test {3  0 true}")
	// Terms that not every match satisfies give no hint.
	check(`fault OR error`, "none")
	check(`!fault`, "none")
	check(`fault = false`, "none")
	check(`annotation.tier != "gold"`, "none")
	check(`service() { fault }`, "none")
	check(`http.url CONTAINS "x"`, "none")
	check(`(fault AND service("a")) OR service("b")`, "none")
}
