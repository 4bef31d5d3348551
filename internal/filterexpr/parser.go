package filterexpr

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds the nesting of "(", "!" and "{ }" so that no input can
// exhaust the stack of the parser, the printer or an evaluator.
const maxDepth = 100

// Parse parses a filter expression. It never panics; a syntax or type error
// is an *Error with the line and column where it is. An empty (or blank)
// expression is an error: callers that treat "" as "no filter" check first.
func Parse(src string) (Expr, error) {
	if !utf8.ValidString(src) {
		i := 0
		for i < len(src) {
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, errorAt(src, i, nil, "invalid UTF-8 encoding")
	}
	p := &parser{lx: lexer{src: src}}
	p.next()
	e, err := p.parseOr(ctxTop)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected(p.tok, "AND, OR or the end of the expression", "AND", "OR", "end of input")
	}
	return e, nil
}

type parser struct {
	lx    lexer
	tok   token // the current token
	depth int
}

func (p *parser) next() { p.tok = p.lx.next() }

// word returns the current token's lower-case text if it is an identifier.
func (p *parser) word() string {
	if p.tok.kind != tokIdent {
		return ""
	}
	return p.tok.val
}

func (p *parser) errorf(pos int, expected []string, format string, args ...any) error {
	return errorAt(p.lx.src, pos, expected, format, args...)
}

// unexpected reports that tok is not what, which lists expected. A lexical
// error in tok is reported instead.
func (p *parser) unexpected(tok token, what string, expected ...string) error {
	if tok.kind == tokError {
		return p.errorf(tok.pos, nil, "%s", tok.msg)
	}
	return p.errorf(tok.pos, expected, "expected %s, found %s", what, describe(tok))
}

// describe names a token in a message.
func describe(tok token) string {
	switch tok.kind {
	case tokEOF:
		return "end of input"
	case tokString:
		return "string " + abbreviate(tok.text)
	case tokJSON:
		return "JSON literal"
	}
	return quoteText(abbreviate(tok.text))
}

// expect consumes a token of kind k, whose text is want.
func (p *parser) expect(k tokKind, want, after string) error {
	if p.tok.kind != k {
		return p.unexpected(p.tok, quoteText(want)+" after "+after, want)
	}
	p.next()
	return nil
}

// parseOr: or_expr = and_expr { ( "OR" | "||" ) and_expr } .
func (p *parser) parseOr(ctx filterCtx) (Expr, error) {
	first, err := p.parseAnd(ctx)
	if err != nil {
		return nil, err
	}
	var terms []Expr
	for p.tok.kind == tokOr || p.word() == "or" {
		p.next()
		t, err := p.parseAnd(ctx)
		if err != nil {
			return nil, err
		}
		if terms == nil {
			terms = appendOr(nil, first)
		}
		terms = appendOr(terms, t)
	}
	if terms == nil {
		return first, nil
	}
	return &Or{Terms: terms}, nil
}

// parseAnd: and_expr = unary { [ "AND" | "&&" ] unary } . Juxtaposed terms
// ("ok !partial") are ANDed, as X-Ray does.
func (p *parser) parseAnd(ctx filterCtx) (Expr, error) {
	first, err := p.parseUnary(ctx)
	if err != nil {
		return nil, err
	}
	var terms []Expr
	for {
		if p.tok.kind == tokAnd || p.word() == "and" {
			p.next()
		} else if !p.startsUnary() {
			break
		}
		t, err := p.parseUnary(ctx)
		if err != nil {
			return nil, err
		}
		if terms == nil {
			terms = appendAnd(nil, first)
		}
		terms = appendAnd(terms, t)
	}
	if terms == nil {
		return first, nil
	}
	return &And{Terms: terms}, nil
}

// appendAnd appends t to terms, or t's terms if it is an *And.
func appendAnd(terms []Expr, t Expr) []Expr {
	if a, ok := t.(*And); ok {
		return append(terms, a.Terms...)
	}
	return append(terms, t)
}

// appendOr appends t to terms, or t's terms if it is an *Or.
func appendOr(terms []Expr, t Expr) []Expr {
	if o, ok := t.(*Or); ok {
		return append(terms, o.Terms...)
	}
	return append(terms, t)
}

// startsUnary reports whether the current token can begin a unary
// expression, so that a juxtaposed term follows.
func (p *parser) startsUnary() bool {
	switch p.tok.kind {
	case tokBang, tokLParen, tokAnnotation:
		return true
	case tokIdent:
		w := p.word()
		return w == "not" || !isReserved(w)
	}
	return false
}

// parseUnary: unary = ( "!" | "NOT" ) unary | "(" or_expr ")" | predicate .
// Each unary counts one level of nesting, "!(" included: the printer wraps
// a negated comparison in parentheses, and that must not make its output
// nest deeper than the text it was parsed from.
func (p *parser) parseUnary(ctx filterCtx) (Expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errorf(p.tok.pos, nil, "expression nested too deeply (more than %d levels)", maxDepth)
	}
	switch {
	case p.tok.kind == tokBang || p.word() == "not":
		p.next()
		var x Expr
		var err error
		if p.tok.kind == tokLParen {
			x, err = p.parseParen(ctx)
		} else {
			x, err = p.parseUnary(ctx)
		}
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	case p.tok.kind == tokLParen:
		return p.parseParen(ctx)
	}
	return p.parsePredicate(ctx)
}

// parseParen: "(" or_expr ")" .
func (p *parser) parseParen(ctx filterCtx) (Expr, error) {
	p.next()
	e, err := p.parseOr(ctx)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokRParen {
		return nil, p.unexpected(p.tok, `")", AND or OR`, ")", "AND", "OR")
	}
	p.next()
	return e, nil
}

var exprStart = []string{"a keyword", "!", "("}

// parsePredicate parses a keyword and what follows it.
func (p *parser) parsePredicate(ctx filterCtx) (Expr, error) {
	tok := p.tok
	switch tok.kind {
	case tokAnnotation:
		if ctx != ctxTop {
			return nil, p.errorf(tok.pos, nil, "annotations cannot be used inside %s", ctx)
		}
		return p.parseCompare(KwAnnotation, tok.val)
	case tokIdent:
	default:
		return nil, p.unexpected(tok, "an expression (a keyword, \"!\" or \"(\")", exprStart...)
	}
	w := p.word()
	info, ok := words[w]
	if !ok {
		switch {
		case isReserved(w):
			return nil, p.unexpected(tok, "an expression (a keyword, \"!\" or \"(\")", exprStart...)
		case w == "annotation":
			return nil, p.errorf(tok.pos, nil, `expected annotation.KEY or annotation[KEY], found "%s"`, tok.text)
		}
		if s := suggest(w); s != "" {
			return nil, p.errorf(tok.pos, nil, "unknown keyword %s (did you mean %q?)", quoteText(abbreviate(tok.text)), s)
		}
		return nil, p.errorf(tok.pos, nil, "unknown keyword %s", quoteText(abbreviate(tok.text)))
	}
	if info.simple != KwInvalid {
		kw := keywords[info.simple]
		if kw.ctx&ctx == 0 {
			if kw.ctx == ctxRootCause || kw.ctx == ctxService {
				return nil, p.errorf(tok.pos, nil, "%q can only be used inside %s", kw.name, kw.ctx)
			}
			return nil, p.errorf(tok.pos, nil, "%q cannot be used inside %s", kw.name, ctx)
		}
		return p.parseCompare(info.simple, "")
	}
	if ctx != ctxTop {
		return nil, p.errorf(tok.pos, nil, "%s cannot be used inside %s", quoteText(w), ctx)
	}
	p.next()
	switch info.complex {
	case cxService:
		return p.parseService()
	case cxID:
		ref, err := p.parseID()
		if err != nil {
			return nil, err
		}
		filter, err := p.parseOptionalFilter(ctxService)
		if err != nil {
			return nil, err
		}
		return &Service{Ref: &ref, Filter: filter}, nil
	case cxEdge:
		return p.parseEdge()
	case cxGroupName, cxGroupARN:
		if err := p.expect(tokEq, "=", quoteText(w)); err != nil {
			return nil, err
		}
		v, ok := p.value()
		if !ok || v.Kind != KindString || v.Str == "" {
			return nil, p.unexpected(p.tok, "a group "+w[len("group."):]+" after "+quoteText(w+" ="), "a string")
		}
		g := &Group{Name: v.Str}
		if info.complex == cxGroupARN {
			g = &Group{ARN: v.Str}
		}
		p.next()
		return g, nil
	case cxRootCauseJSON:
		if err := p.expect(tokEq, "=", `"rootcause.json"`); err != nil {
			return nil, err
		}
		if p.tok.kind != tokJSON {
			return nil, p.unexpected(p.tok, `a JSON literal #[{…}] after "rootcause.json ="`, "#[")
		}
		j := &RootCauseJSON{JSON: p.tok.val}
		p.next()
		return j, nil
	default: // cxRootCause
		if p.tok.kind != tokLBrace {
			return nil, p.unexpected(p.tok, `"{" after `+quoteText(w), "{")
		}
		filter, err := p.parseOptionalFilter(ctxRootCause)
		if err != nil {
			return nil, err
		}
		return &RootCause{Kind: info.kind, Scope: info.scope, Filter: filter}, nil
	}
}

var (
	boolOps   = []string{"=", "!="}
	numberOps = []string{"=", "!=", "<", "<=", ">", ">="}
	stringOps = []string{"=", "!=", "CONTAINS", "BEGINSWITH", "ENDSWITH"}
	allOps    = []string{"=", "!=", "<", "<=", ">", ">=", "CONTAINS", "BEGINSWITH", "ENDSWITH"}
)

// compareOp returns the comparison operator the current token is, if any.
func (p *parser) compareOp() Op {
	switch p.tok.kind {
	case tokEq:
		return OpEq
	case tokNe:
		return OpNe
	case tokLt:
		return OpLt
	case tokLe:
		return OpLe
	case tokGt:
		return OpGt
	case tokGe:
		return OpGe
	case tokIdent:
		switch p.word() {
		case "contains":
			return OpContains
		case "beginswith":
			return OpBeginsWith
		case "endswith":
			return OpEndsWith
		}
	}
	return OpNone
}

// parseCompare: keyword [ comp_op value ] . The current token is the
// keyword; key is the annotation key.
func (p *parser) parseCompare(kw Keyword, key string) (Expr, error) {
	name := p.tok.text
	p.next()
	kind := kw.Kind()
	ops := allOps
	switch kind {
	case KindBool:
		ops = boolOps
	case KindNumber:
		ops = numberOps
	case KindString:
		ops = stringOps
	}
	op := p.compareOp()
	if op == OpNone {
		if kind == KindNumber {
			return nil, p.unexpected(p.tok, "a comparison operator after "+quoteText(name), ops...)
		}
		return &Compare{Keyword: kw, Key: key}, nil
	}
	switch {
	case kind == KindBool && op != OpEq && op != OpNe,
		kind == KindNumber && op >= OpContains,
		kind == KindString && op >= OpLt && op <= OpGe:
		return nil, p.errorf(p.tok.pos, ops, "operator %s does not apply to %s keyword %s; expected one of %s",
			quoteText(op.String()), kind, quoteText(name), strings.Join(ops, " "))
	}
	opText := p.tok.text
	p.next()
	// What the value must be: the keyword's kind, or for an annotation
	// what the operator implies.
	want := kind
	if kind == KindNone {
		switch {
		case op >= OpLt && op <= OpGe:
			want = KindNumber
		case op >= OpContains:
			want = KindString
		}
	}
	v, ok := p.value()
	if !ok || want != KindNone && v.Kind != want {
		after := quoteText(name + " " + opText)
		switch want {
		case KindBool:
			return nil, p.unexpected(p.tok, "true or false after "+after, "true", "false")
		case KindNumber:
			return nil, p.unexpected(p.tok, "a number after "+after, "a number")
		case KindString:
			return nil, p.unexpected(p.tok, "a string after "+after, "a string")
		}
		return nil, p.unexpected(p.tok, "a value (a string, number, true or false) after "+after, "a string", "a number", "true", "false")
	}
	p.next()
	return &Compare{Keyword: kw, Key: key, Op: op, Value: v}, nil
}

// value converts the current token to a literal without consuming it. A
// bare word other than true and false is a string (AWS's example
// "name = traces"), unless it is a reserved word.
func (p *parser) value() (Value, bool) {
	switch p.tok.kind {
	case tokString:
		return Value{Kind: KindString, Str: p.tok.val}, true
	case tokNumber:
		return Value{Kind: KindNumber, Num: p.tok.num}, true
	case tokIdent:
		switch w := p.word(); w {
		case "true", "false":
			return Value{Kind: KindBool, Bool: w == "true"}, true
		default:
			if !isReserved(w) {
				return Value{Kind: KindString, Str: p.tok.text}, true
			}
		}
	}
	return Value{}, false
}

// parseService: "service" "(" [ svc_ref ] ")" [ "{" or_expr "}" ] . The
// current token is "(".
func (p *parser) parseService() (Expr, error) {
	if err := p.expect(tokLParen, "(", `"service"`); err != nil {
		return nil, err
	}
	s := &Service{}
	if p.tok.kind != tokRParen {
		ref, err := p.parseRef(`"service("`, true)
		if err != nil {
			return nil, err
		}
		s.Ref = &ref
	}
	if err := p.expect(tokRParen, ")", "the service"); err != nil {
		return nil, err
	}
	var err error
	s.Filter, err = p.parseOptionalFilter(ctxService)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// parseEdge: "edge" "(" svc_ref "," svc_ref ")" [ "{" or_expr "}" ] .
func (p *parser) parseEdge() (Expr, error) {
	if err := p.expect(tokLParen, "(", `"edge"`); err != nil {
		return nil, err
	}
	e := &Edge{}
	var err error
	if e.Source, err = p.parseRef(`"edge("`, false); err != nil {
		return nil, err
	}
	if err := p.expect(tokComma, ",", "the edge's source"); err != nil {
		return nil, err
	}
	if e.Destination, err = p.parseRef(`"edge(…,"`, false); err != nil {
		return nil, err
	}
	if err := p.expect(tokRParen, ")", "the edge's destination"); err != nil {
		return nil, err
	}
	if e.Filter, err = p.parseOptionalFilter(ctxService); err != nil {
		return nil, err
	}
	return e, nil
}

// parseOptionalFilter: [ "{" or_expr "}" ] .
func (p *parser) parseOptionalFilter(ctx filterCtx) (Expr, error) {
	if p.tok.kind != tokLBrace {
		return nil, nil
	}
	open := p.tok.pos
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errorf(open, nil, "expression nested too deeply (more than %d levels)", maxDepth)
	}
	p.next()
	e, err := p.parseOr(ctx)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokRBrace {
		line, col := position(p.lx.src, open)
		return nil, p.unexpected(p.tok, `"}" (closing the "{" at `+strconv.Itoa(line)+":"+strconv.Itoa(col)+"), AND or OR", "}", "AND", "OR")
	}
	p.next()
	return e, nil
}

// parseRef: svc_ref = string | id_fn .
func (p *parser) parseRef(after string, closeOK bool) (ServiceRef, error) {
	switch {
	case p.tok.kind == tokString:
		if p.tok.val == "" {
			return ServiceRef{}, p.errorf(p.tok.pos, nil, "empty service name")
		}
		ref := ServiceRef{Name: p.tok.val}
		p.next()
		return ref, nil
	case p.word() == "id":
		p.next()
		return p.parseID()
	}
	what, expected := "a service name in double quotes or id(…) after "+after, []string{"a string", "id("}
	if closeOK {
		what, expected = "a service name in double quotes, id(…) or \")\" after "+after, []string{"a string", "id(", ")"}
	}
	return ServiceRef{}, p.unexpected(p.tok, what, expected...)
}

// parseID: id_fn = "id" "(" id_arg { "," id_arg } ")" ;
// id_arg = ( "name" | "type" | "account.id" ) ":" string . The current
// token is "(".
func (p *parser) parseID() (ServiceRef, error) {
	var ref ServiceRef
	if err := p.expect(tokLParen, "(", `"id"`); err != nil {
		return ref, err
	}
	for {
		argTok := p.tok
		var field *string
		switch p.word() {
		case "name":
			field = &ref.Name
		case "type":
			field = &ref.Type
		case "account.id":
			field = &ref.AccountID
		default:
			return ref, p.unexpected(p.tok, "name, type or account.id in id(…)", "name", "type", "account.id")
		}
		arg := strings.ToLower(argTok.text)
		if *field != "" {
			return ref, p.errorf(argTok.pos, nil, "%s is given twice in id(…)", quoteText(arg))
		}
		p.next()
		if err := p.expect(tokColon, ":", quoteText(arg)); err != nil {
			return ref, err
		}
		if p.tok.kind != tokString {
			return ref, p.unexpected(p.tok, "a string in double quotes after "+quoteText(arg+":"), "a string")
		}
		if p.tok.val == "" {
			return ref, p.errorf(p.tok.pos, nil, "empty %s in id(…); leave the argument out to match any", arg)
		}
		*field = p.tok.val
		p.next()
		if p.tok.kind != tokComma {
			break
		}
		p.next()
	}
	if p.tok.kind != tokRParen {
		return ref, p.unexpected(p.tok, `"," or ")" in id(…)`, ",", ")")
	}
	p.next()
	return ref, nil
}
