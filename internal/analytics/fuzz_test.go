package analytics

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTemplates feeds exception messages and URLs, which come from
// untrusted documents, to the templating functions: they must not panic,
// must keep valid UTF-8 valid, and must be idempotent.
func FuzzTemplates(f *testing.F) {
	for _, s := range []string{
		"gateway timeout after 3002 ms calling \"acquirer-2\" (request 9f86d081884c7d659a2feaa0c55ad015)",
		"ProvisionedThroughputExceededException: status code: 400, request id: 6QJ2K8TRT1I0ETUB1AUG9GUOFRVV4KQNSO5AEMVJF66Q9ASUAAJG",
		"https://shop.example.com/orders/1001?x=1#f", "/users/550e8400-e29b-41d4-a716-446655440000/cart",
		"'unterminated", "0x", "1.2.3.", "--", "é 12 ü", "\"\"''``",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := MessageTemplate(s)
		if utf8.ValidString(s) && !utf8.ValidString(m) {
			t.Errorf("MessageTemplate(%q) = %q is not valid UTF-8", s, m)
		}
		if m2 := MessageTemplate(m); m2 != m {
			t.Errorf("MessageTemplate is not idempotent on %q: %q then %q", s, m, m2)
		}
		u := urlTemplate(s)
		if u2 := urlTemplate(u); u2 != u {
			t.Errorf("urlTemplate is not idempotent on %q: %q then %q", s, u, u2)
		}
		if strings.ContainsAny(u, "?#") {
			t.Errorf("urlTemplate(%q) = %q keeps a query or fragment", s, u)
		}
	})
}
