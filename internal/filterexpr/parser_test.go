package filterexpr

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func cmp(kw Keyword, op Op, v Value) *Compare { return &Compare{Keyword: kw, Op: op, Value: v} }
func bare(kw Keyword) *Compare                { return &Compare{Keyword: kw} }
func num(f float64) Value                     { return Value{Kind: KindNumber, Num: f} }
func str(s string) Value                      { return Value{Kind: KindString, Str: s} }
func boolean(b bool) Value                    { return Value{Kind: KindBool, Bool: b} }

// TestParseTree checks the trees of expressions whose shape matters:
// precedence, flattening, implicit AND, negation, keywords' arguments.
func TestParseTree(t *testing.T) {
	check := func(src string, want Expr) {
		t.Helper()
		got, err := Parse(src)
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) = %s\n%#v\nwant %s\n%#v", src, got, got, want, want)
		}
	}
	ok, fault, errorKw, throttle := bare(KwOK), bare(KwFault), bare(KwError), bare(KwThrottle)

	check("ok OR fault AND error", &Or{Terms: []Expr{ok, &And{Terms: []Expr{fault, errorKw}}}})
	check("ok AND fault OR error", &Or{Terms: []Expr{&And{Terms: []Expr{ok, fault}}, errorKw}})
	check("(ok OR fault) AND error", &And{Terms: []Expr{&Or{Terms: []Expr{ok, fault}}, errorKw}})
	check("ok AND (fault AND (error AND throttle))", &And{Terms: []Expr{ok, fault, errorKw, throttle}})
	check("(ok || fault) || (error OR throttle)", &Or{Terms: []Expr{ok, fault, errorKw, throttle}})
	check("ok !partial duration <3", &And{Terms: []Expr{ok, &Not{X: bare(KwPartial)}, cmp(KwDuration, OpLt, num(3))}})
	check("!ok AND fault", &And{Terms: []Expr{&Not{X: ok}, fault}})
	check("NOT (ok OR fault)", &Not{X: &Or{Terms: []Expr{ok, fault}}})
	check("!!ok", &Not{X: &Not{X: ok}})
	check("!http.status = 500", &Not{X: cmp(KwHTTPStatus, OpEq, num(500))})
	check("Fault = TRUE", cmp(KwFault, OpEq, boolean(true)))
	check("responseTime >= 2.50", cmp(KwResponseTime, OpGe, num(2.5)))
	check("annotation.delta > -0.5", &Compare{Keyword: KwAnnotation, Key: "delta", Op: OpGt, Value: num(-0.5)})
	check("http.url beginswith \"https://\"", cmp(KwHTTPURL, OpBeginsWith, str("https://")))
	check(`user = "a\"b\\c\u00e9"`, cmp(KwUser, OpEq, str(`a"b\cé`)))
	check("user", bare(KwUser))
	check("annotation.Age", &Compare{Keyword: KwAnnotation, Key: "Age"})
	check(`annotation[my.key] = true`, &Compare{Keyword: KwAnnotation, Key: "my.key", Op: OpEq, Value: boolean(true)})
	check(`annotation[ "a b" ] = "true"`, &Compare{Keyword: KwAnnotation, Key: "a b", Op: OpEq, Value: str("true")})
	check(`annotation.a.b != 1`, &Compare{Keyword: KwAnnotation, Key: "a.b", Op: OpNe, Value: num(1)})
	check(`service() { fault }`, &Service{Filter: fault})
	check(`service("api")`, &Service{Ref: &ServiceRef{Name: "api"}})
	check(`service(id(name: "api"))`, &Service{Ref: &ServiceRef{Name: "api"}})
	check(`id(type: "AWS::Lambda", account.id: "1") { root }`,
		&Service{Ref: &ServiceRef{Type: "AWS::Lambda", AccountID: "1"}, Filter: bare(KwRoot)})
	check(`edge("a", id(name: "b", type: "t")) { responsetime > 1 OR error }`, &Edge{
		Source:      ServiceRef{Name: "a"},
		Destination: ServiceRef{Name: "b", Type: "t"},
		Filter:      &Or{Terms: []Expr{cmp(KwResponseTime, OpGt, num(1)), errorKw}},
	})
	check(`rootcause.responsetime.entity { remote and coverage > 0.7 and name = traces }`, &RootCause{
		Kind: RootCauseResponseTime, Scope: ScopeEntity,
		Filter: &And{Terms: []Expr{bare(KwRemote), cmp(KwCoverage, OpGt, num(0.7)), cmp(KwName, OpEq, str("traces"))}},
	})
	check(`rootcause.error.exception { message CONTAINS "x" }`, &RootCause{
		Kind: RootCauseError, Scope: ScopeException, Filter: cmp(KwMessage, OpContains, str("x")),
	})
	check(`rootcause.json = #[ { "Services" : [ ] } ]`, &RootCauseJSON{JSON: `[{"Services":[]}]`})
	check(`group.name = "slow" OR group.arn = "arn:x"`, &Or{Terms: []Expr{&Group{Name: "slow"}, &Group{ARN: "arn:x"}}})
}

// TestString checks the canonical form String prints.
func TestString(t *testing.T) {
	check := func(src, want string) {
		t.Helper()
		e, err := Parse(src)
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			return
		}
		if got := e.String(); got != want {
			t.Errorf("Parse(%q).String() = %q, want %q", src, got, want)
		}
	}
	check("ok !partial duration <3", "ok AND !partial AND duration < 3")
	check("ok and fault or error", "ok AND fault OR error")
	check("ok && (fault || error)", "ok AND (fault OR error)")
	check("ok OR (fault AND error)", "ok OR fault AND error")
	check("((ok))", "ok")
	check("NOT !ok", "!!ok")
	check("!http.status=500", "!(http.status = 500)")
	check("!(group.name = g)", "!(group.name = \"g\")")
	check("!(ok OR fault)", "!(ok OR fault)")
	check("HTTP.URL contains \"x\"", "http.url CONTAINS \"x\"")
	check("rootcause.fault.service { name = traces }", "rootcause.fault.service { name = \"traces\" }")
	check("responsetime > 2.50", "responsetime > 2.5")
	check("responsetime > 007", "responsetime > 7")
	check("annotation.x = -0.0", "annotation.x = -0")
	check("annotation[a.b] = 1", "annotation[\"a.b\"] = 1")
	check("annotation[\"ok_1\"] = 1", "annotation.ok_1 = 1")
	check("user = \"tab\tand\\u0001\\/\"", "user = \"tab\\tand\\u0001/\"")
	check("service(id(account.id: \"1\", name: \"n\"))", "service(id(name: \"n\", account.id: \"1\"))")
	check("edge(id(name:\"a\"),\"b\"){fault}", "edge(\"a\", \"b\") { fault }")
	check("id(name: \"a\")", "service(\"a\")")
	check("rootcause.json = #[ {\"a\" : 1} ]", "rootcause.json = #[{\"a\":1}]")
}

// TestErrors checks whole messages and the Expected lists.
func TestErrors(t *testing.T) {
	check := func(src, want string, expected ...string) {
		t.Helper()
		_, err := Parse(src)
		var perr *Error
		if !errors.As(err, &perr) {
			t.Errorf("Parse(%q) error = %v, want an *Error", src, err)
			return
		}
		if got := err.Error(); got != want {
			t.Errorf("Parse(%q) error:\n got %s\nwant %s", src, got, want)
		}
		if !reflect.DeepEqual(perr.Expected, expected) && len(perr.Expected)+len(expected) > 0 {
			t.Errorf("Parse(%q) Expected = %q, want %q", src, perr.Expected, expected)
		}
	}
	check("ok AND http.status fault",
		`1:20: expected a comparison operator after "http.status", found "fault"`,
		"=", "!=", "<", "<=", ">", ">=")
	check("ok AND\n  http.status fault",
		`2:15: expected a comparison operator after "http.status", found "fault"`,
		"=", "!=", "<", "<=", ">", ">=")
	check("", `1:1: expected an expression (a keyword, "!" or "("), found end of input`, "a keyword", "!", "(")
	check("ok)", `1:3: expected AND, OR or the end of the expression, found ")"`, "AND", "OR", "end of input")
	check(`user = "abc`, `1:8: unterminated string`)
	check(`responstime > 5`, `1:1: unknown keyword "responstime" (did you mean "responsetime"?)`)
	check(`HTTP.Stauts = 5`, `1:1: unknown keyword "HTTP.Stauts" (did you mean "http.status"?)`)
	check(`wibble = 5`, `1:1: unknown keyword "wibble"`)
	check(`service("a") { fault`, `1:21: expected "}" (closing the "{" at 1:14), AND or OR, found end of input`, "}", "AND", "OR")
	check(`http.status = "500"`, `1:15: expected a number after "http.status =", found string "500"`, "a number")
	check(`ok < 1`, `1:4: operator "<" does not apply to boolean keyword "ok"; expected one of = !=`, "=", "!=")
	check(`coverage > 1`, `1:1: "coverage" can only be used inside a root cause filter { }`)
	check(`service("a") { annotation.x }`, `1:16: annotations cannot be used inside a service or edge filter { }`)
	check(`user = "a\qb"`, `1:10: invalid escape sequence "\q" in string (valid: \" \\ \/ \b \f \n \r \t \uXXXX)`)
	check("user = \"a\x01b\"", `1:10: control character U+0001 in string; write it as an escape (\u0001)`)
	check("user = \"a\xffb\"", `1:10: invalid UTF-8 encoding`)
	check("ok\n\xc3", `2:1: invalid UTF-8 encoding`)
	check(`duration > 3s`, `1:12: invalid number "3s" (numbers are like 5, -2 or 0.25; times are in seconds)`)
	check(strings.Repeat("(", 200)+"ok", `1:101: expression nested too deeply (more than 100 levels)`)
	check(strings.Repeat(`service("a") { `, 2), `1:16: "service" cannot be used inside a service or edge filter { }`)
}

// TestDepth checks that the parser, not the stack, bounds nesting, and
// that an expression nested as deeply as Parse accepts prints to text
// that parses again.
func TestDepth(t *testing.T) {
	for _, tmpl := range []func(n int) string{
		func(n int) string { return strings.Repeat("!", n) + "http.status = 1" },
		func(n int) string { return strings.Repeat("!(", n) + "ok" + strings.Repeat(")", n) },
		func(n int) string { return strings.Repeat("(", n) + "!(ok AND fault)" + strings.Repeat(")", n) },
		func(n int) string {
			return strings.Repeat("(", n) + `!service("a") { !(fault = true) }` + strings.Repeat(")", n)
		},
		func(n int) string { return strings.Repeat("!", n) + `rootcause.fault.entity { !(index = 1) }` },
	} {
		n := maxDepth + 10
		for ; n > 0; n-- {
			if _, err := Parse(tmpl(n)); err == nil {
				break
			}
		}
		if n < maxDepth-5 {
			t.Errorf("%.30q…: nesting stops at %d levels", tmpl(n), n)
		}
		e, _ := Parse(tmpl(n))
		if err := checkRoundTrip(e); err != nil {
			t.Errorf("%.30q…: %v", tmpl(n), err)
		}
	}
	for _, src := range []string{
		strings.Repeat("!", 1_000_000) + "ok",
		strings.Repeat("(", 1_000_000),
		strings.Repeat(`service("a") {`, 100_000),
	} {
		if _, err := Parse(src); err == nil {
			t.Errorf("Parse(%.30q…) succeeded", src)
		}
	}
}

// TestLongExpression checks that long flat expressions are fine: AND and
// OR chains do not nest.
func TestLongExpression(t *testing.T) {
	src := strings.Repeat("ok AND fault OR ", 50_000) + "error"
	e, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.(*Or).Terms); n != 50_001 {
		t.Errorf("got %d OR terms, want 50001", n)
	}
	if err := checkRoundTrip(e); err != nil {
		t.Error(err)
	}
}

func TestWalk(t *testing.T) {
	e, err := Parse(`user = "a" AND !(ok OR service("s") { fault }) AND rootcause.fault.service { first }`)
	if err != nil {
		t.Fatal(err)
	}
	var all, top []string
	Walk(e, func(x Expr) bool {
		all = append(all, x.String())
		return true
	})
	// An index-hint extractor: the comparisons every match must satisfy,
	// outside negations and nested filters.
	Walk(e, func(x Expr) bool {
		switch x := x.(type) {
		case *And:
			return true
		case *Compare:
			top = append(top, x.String())
		}
		return false
	})
	wantAll := []string{
		e.String(), `user = "a"`, `!(ok OR service("s") { fault })`, `ok OR service("s") { fault }`,
		"ok", `service("s") { fault }`, "fault", "rootcause.fault.service { first }", "first",
	}
	if !reflect.DeepEqual(all, wantAll) {
		t.Errorf("Walk visited\n%q\nwant\n%q", all, wantAll)
	}
	if want := []string{`user = "a"`}; !reflect.DeepEqual(top, want) {
		t.Errorf("hints = %q, want %q", top, want)
	}
}

// TestStringOfHandBuiltTrees checks that String does not panic on trees
// Parse would not build.
func TestStringOfHandBuiltTrees(t *testing.T) {
	for _, e := range []Expr{
		&And{}, &Or{Terms: []Expr{nil, &Or{Terms: []Expr{bare(KwOK), bare(KwFault)}}}},
		&Not{}, (*Not)(nil), (*And)(nil), (*Compare)(nil), &Compare{Op: Op(200)},
		&Service{Ref: &ServiceRef{}}, &Edge{}, &RootCause{Kind: 9, Scope: 9}, &RootCauseJSON{}, &Group{},
		&Not{X: &And{Terms: []Expr{bare(KwOK), bare(KwFault)}}},
	} {
		_ = e.String()
	}
	or := &Or{Terms: []Expr{bare(KwOK), &Or{Terms: []Expr{bare(KwFault), bare(KwError)}}}}
	if got, want := or.String(), "ok OR (fault OR error)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
