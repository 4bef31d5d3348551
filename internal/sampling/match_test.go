package sampling

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	check := func(pattern, value string, want bool) {
		t.Helper()
		if got := Match(pattern, value); got != want {
			t.Errorf("Match(%q, %q) = %v, want %v", pattern, value, got, want)
		}
	}
	// '*' alone matches everything, including the empty string.
	check("*", "", true)
	check("*", "anything", true)
	// The empty pattern matches only the empty string.
	check("", "", true)
	check("", "a", false)
	// Literals.
	check("abc", "abc", true)
	check("abc", "abcd", false)
	check("abc", "ab", false)
	check("abc", "", false)
	// Case-insensitive, both ways.
	check("ABC", "abc", true)
	check("abc", "AbC", true)
	check("/API/*", "/api/move", true)
	check("GET", "get", true)
	check("Ä*", "äb", true)
	// '?' matches exactly one character (a rune, not a byte).
	check("?", "a", true)
	check("?", "", false)
	check("?", "ab", false)
	check("a?c", "abc", true)
	check("a?c", "ac", false)
	check("??", "é1", true)
	// '*' at either end and in the middle, runs of '*'.
	check("a*", "a", true)
	check("a*", "abc", true)
	check("a*", "ba", false)
	check("*c", "abc", true)
	check("*c", "abcd", false)
	check("a*c", "ac", true)
	check("a*c", "abbbc", true)
	check("a*c", "abcb", false)
	check("**", "", true)
	check("a**b", "ab", true)
	check("*a*", "bab", true)
	check("*a*", "bbb", false)
	// Backtracking to the last '*'.
	check("*ab", "aab", true)
	check("a*b*c", "aXbYbZc", true)
	check("a*b*c", "aXbYbZ", false)
	check("*?*", "", false)
	check("*?*", "x", true)
	check("*.example.com", "api.example.com", true)
	check("*.example.com", "example.com", false)
	// No escaping: other metacharacters are literal.
	check("a.c", "abc", false)
	check("[a]", "[A]", true)
	check(`\*`, `\x`, true)
}

func FuzzMatch(f *testing.F) {
	f.Add("a*b?c", "aXXbYc")
	f.Add("*", "")
	f.Fuzz(func(t *testing.T, pattern, value string) {
		// Properties that must hold for any input.
		if !Match(value, value) && !containsMeta(value) {
			t.Errorf("Match(%q, itself) = false", value)
		}
		if !Match("*"+pattern, "x"+value) && Match(pattern, value) {
			t.Errorf("Match(*%q, x%q) = false but Match(%q, %q) = true", pattern, value, pattern, value)
		}
	})
}

func containsMeta(s string) bool {
	for _, r := range s {
		if r == '*' || r == '?' {
			return true
		}
	}
	return false
}

// FuzzMatchASCII: the allocation-free ASCII path agrees with the general
// one on ASCII inputs.
func FuzzMatchASCII(f *testing.F) {
	f.Add("a*B?c", "AxxbYC")
	f.Add("*?*", "")
	f.Fuzz(func(t *testing.T, pattern, value string) {
		if !isASCII(pattern) || !isASCII(value) {
			return
		}
		p := []rune(strings.ToLower(pattern))
		v := []rune(strings.ToLower(value))
		if got, want := matchASCII(pattern, value), matchRunes(p, v); got != want {
			t.Errorf("matchASCII(%q, %q) = %v, the rune path says %v", pattern, value, got, want)
		}
	})
}
