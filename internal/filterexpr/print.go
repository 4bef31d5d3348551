package filterexpr

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The canonical form, which String prints and Parse reads back to an equal
// tree: keywords in lower case, AND, OR and the string operators in upper
// case, every AND explicit, one space around binary operators, strings
// always quoted, numbers in their shortest decimal form, parentheses only
// where precedence needs them and around a negated comparison ("!(x = 1)"),
// a service ref that has only a name written as that name, and
// annotation.KEY when KEY is made of letters, digits and underscores
// (annotation["KEY"] otherwise).

func (e *And) String() string           { return format(e) }
func (e *Or) String() string            { return format(e) }
func (e *Not) String() string           { return format(e) }
func (e *Compare) String() string       { return format(e) }
func (e *Service) String() string       { return format(e) }
func (e *Edge) String() string          { return format(e) }
func (e *RootCause) String() string     { return format(e) }
func (e *RootCauseJSON) String() string { return format(e) }
func (e *Group) String() string         { return format(e) }

// String returns the value as written in an expression.
func (v Value) String() string {
	var b strings.Builder
	writeValue(&b, v)
	return b.String()
}

// String returns the ref as written in service(…) or edge(…).
func (r ServiceRef) String() string {
	var b strings.Builder
	writeRef(&b, r)
	return b.String()
}

func format(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *And:
		if e == nil {
			break
		}
		for i, t := range e.Terms {
			if i > 0 {
				b.WriteString(" AND ")
			}
			switch t.(type) {
			case *And, *Or:
				writeParen(b, t)
			default:
				writeExpr(b, t)
			}
		}
		return
	case *Or:
		if e == nil {
			break
		}
		for i, t := range e.Terms {
			if i > 0 {
				b.WriteString(" OR ")
			}
			if _, ok := t.(*Or); ok {
				writeParen(b, t)
			} else {
				writeExpr(b, t)
			}
		}
		return
	case *Not:
		if e == nil {
			break
		}
		b.WriteByte('!')
		switch x := e.X.(type) {
		case *And, *Or, *Group, *RootCauseJSON:
			writeParen(b, x)
		case *Compare:
			if x != nil && x.Op != OpNone {
				writeParen(b, x)
			} else {
				writeExpr(b, x)
			}
		default:
			writeExpr(b, x)
		}
		return
	case *Compare:
		if e == nil {
			break
		}
		if e.Keyword == KwAnnotation {
			writeAnnotation(b, e.Key)
		} else {
			b.WriteString(e.Keyword.String())
		}
		if e.Op != OpNone {
			b.WriteByte(' ')
			b.WriteString(e.Op.String())
			b.WriteByte(' ')
			writeValue(b, e.Value)
		}
		return
	case *Service:
		if e == nil {
			break
		}
		b.WriteString("service(")
		if e.Ref != nil {
			writeRef(b, *e.Ref)
		}
		b.WriteByte(')')
		writeFilter(b, e.Filter)
		return
	case *Edge:
		if e == nil {
			break
		}
		b.WriteString("edge(")
		writeRef(b, e.Source)
		b.WriteString(", ")
		writeRef(b, e.Destination)
		b.WriteByte(')')
		writeFilter(b, e.Filter)
		return
	case *RootCause:
		if e == nil {
			break
		}
		b.WriteString(rootCauseName(e.Kind, e.Scope))
		if e.Filter == nil {
			b.WriteString(" { <nil> }")
		}
		writeFilter(b, e.Filter)
		return
	case *RootCauseJSON:
		if e == nil {
			break
		}
		b.WriteString("rootcause.json = #")
		b.WriteString(e.JSON)
		return
	case *Group:
		if e == nil {
			break
		}
		if e.ARN != "" {
			b.WriteString("group.arn = ")
			writeString(b, e.ARN)
		} else {
			b.WriteString("group.name = ")
			writeString(b, e.Name)
		}
		return
	}
	b.WriteString("<nil>")
}

func writeParen(b *strings.Builder, e Expr) {
	b.WriteByte('(')
	writeExpr(b, e)
	b.WriteByte(')')
}

func writeFilter(b *strings.Builder, e Expr) {
	if e == nil {
		return
	}
	b.WriteString(" { ")
	writeExpr(b, e)
	b.WriteString(" }")
}

func writeAnnotation(b *strings.Builder, key string) {
	plain := key != ""
	for i := 0; i < len(key) && plain; i++ {
		c := key[i]
		plain = isIdentStart(c) || isDigit(c)
	}
	if plain {
		b.WriteString(annotationPrefix)
		b.WriteString(key)
		return
	}
	b.WriteString("annotation[")
	writeString(b, key)
	b.WriteByte(']')
}

func writeRef(b *strings.Builder, r ServiceRef) {
	if r.Name != "" && r.Type == "" && r.AccountID == "" {
		writeString(b, r.Name)
		return
	}
	b.WriteString("id(")
	sep := ""
	for _, arg := range [...]struct{ name, val string }{
		{"name", r.Name}, {"type", r.Type}, {"account.id", r.AccountID},
	} {
		if arg.val == "" {
			continue
		}
		b.WriteString(sep)
		b.WriteString(arg.name)
		b.WriteString(": ")
		writeString(b, arg.val)
		sep = ", "
	}
	b.WriteByte(')')
}

func writeValue(b *strings.Builder, v Value) {
	switch v.Kind {
	case KindString:
		writeString(b, v.Str)
	case KindNumber:
		b.WriteString(strconv.FormatFloat(v.Num, 'f', -1, 64))
	case KindBool:
		b.WriteString(strconv.FormatBool(v.Bool))
	default:
		b.WriteString("<none>")
	}
}

// writeString writes s as a string literal that the lexer decodes back to
// s: quotes, backslashes and control characters are escaped, the rest is
// written as is. Invalid UTF-8, which Parse never produces, is escaped as
// U+FFFD.
func writeString(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r)
			i += n
			continue
		}
		i++
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
