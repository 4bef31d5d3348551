package sampling

import "strings"

// Match reports whether value matches the X-Ray wildcard pattern (§5.2):
// '*' matches any run of characters (including none), '?' matches exactly
// one character, and every other character is literal (there is no
// escaping). Matching is case-insensitive, as in every X-Ray SDK. The
// pattern "*" matches everything, including the empty string; the empty
// pattern matches only the empty string.
//
// The algorithm is the SDKs' greedy two-pointer scan that backtracks to the
// last '*', so it runs in O(len(pattern)·len(value)) at worst and never
// recurses.
func Match(pattern, value string) bool {
	if pattern == "*" {
		return true
	}
	if isASCII(pattern) && isASCII(value) {
		return matchASCII(pattern, value)
	}
	return matchRunes([]rune(strings.ToLower(pattern)), []rune(strings.ToLower(value)))
}

// matchRunes is Match on lower-cased runes.
func matchRunes(p, v []rune) bool {
	pi, vi := 0, 0
	star, mark := -1, 0 // index of the last '*' in p, and where in v it started matching
	for vi < len(v) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == v[vi]):
			pi++
			vi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, vi
			pi++
		case star >= 0:
			// Let the last '*' swallow one more character and retry.
			mark++
			pi, vi = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// matchASCII is Match for ASCII pattern and value, without allocating.
func matchASCII(p, v string) bool {
	pi, vi := 0, 0
	star, mark := -1, 0
	for vi < len(v) {
		switch {
		case pi < len(p) && (p[pi] == '?' || lowerASCII(p[pi]) == lowerASCII(v[vi])):
			pi++
			vi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, vi
			pi++
		case star >= 0:
			mark++
			pi, vi = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
