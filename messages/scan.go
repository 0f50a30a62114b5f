package messages

import (
	"math/bits"
	"unicode/utf8"
)

// A validating scanner for whole frames. gjson does not validate what it
// reads, and its own validator recurses once per nesting level; this one
// keeps its nesting in a bit stack, so a hostile frame of deeply nested
// arrays costs memory proportional to the depth in bits, not in stack frames.

// strPlain marks the ASCII bytes that may stand unescaped inside a JSON
// string and end nothing: everything but control characters, '"' and '\\'.
// Bytes from 0x80 up are left out, to be checked as UTF-8.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	t['"'] = false
	t['\\'] = false
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// skipSpace returns the index of the first byte at or after i that is not
// white space. Frames are usually compact, so the common case is one test.
func skipSpace(s string, i int) int {
	for i < len(s) && s[i] <= ' ' && isSpace(s[i]) {
		i++
	}
	return i
}

// SWAR constants: with them a word of eight bytes is tested at once.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// load64 reads eight bytes of s starting at i, little-endian. The compiler
// merges the byte loads into one.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// stringStops flags, in the high bit of each byte, the bytes of x that end a
// run of plain ASCII string content: '"', '\\', control characters and the
// bytes of multi-byte UTF-8 sequences. Bits above the first flagged byte may
// be false alarms (borrows run upwards), so only the lowest flag is to be
// trusted.
func stringStops(x uint64) uint64 {
	q := x ^ (swarLo * '"')
	b := x ^ (swarLo * '\\')
	return ((x - swarLo*0x20) | (q - swarLo) | (b - swarLo) | x) & swarHi
}

// scanString checks the string whose opening quote is at s[i-1], UTF-8
// included. It returns the index just past the closing quote and whether the
// string holds escapes; on failure msg says why and end is where the problem
// is.
func scanString(s string, i int) (end int, escaped bool, msg string) {
	for i < len(s) {
		if i+8 <= len(s) {
			m := stringStops(load64(s, i))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		c := s[i]
		if strPlain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			return i + 1, escaped, ""
		case c == '\\':
			escaped = true
			if i+1 >= len(s) {
				return i + 1, escaped, msgBadString
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) {
					return len(s), escaped, msgBadString
				}
				for j := i + 2; j < i+6; j++ {
					if !isHex(s[j]) {
						return j, escaped, msgBadString
					}
				}
				i += 6
			default:
				return i + 1, escaped, msgBadString
			}
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return i, escaped, msgBadUTF8
			}
			i += n
		default: // a raw control character
			return i, escaped, msgBadString
		}
	}
	return i, escaped, msgBadString
}

// The messages of string errors. Bytes of 0x80 and up are valid only inside
// strings, so checking strings is enough to reject any frame that is not
// UTF-8.
const (
	msgBadString = "invalid string"
	msgBadUTF8   = "invalid UTF-8"
)

// scanNumber checks the number starting at s[i] against the JSON grammar.
func scanNumber(s string, i int) (int, bool) {
	if s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return i, false
	case s[i] == '0':
		i++
	case isDigit(s[i]):
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	default:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return i, false
		}
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return i, false
		}
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	}
	return i, true
}

func hasLiteral(s string, i int, lit string) bool {
	return len(s)-i >= len(lit) && s[i:i+len(lit)] == lit
}

// maxDepth bounds the nesting of a member value of a frame, as encoding/json
// bounds a whole document. The protocol nests three levels deep; the bound
// only stops hostile input.
const maxDepth = 10000

// skipValue checks the JSON value starting at or after s[i] (leading white
// space allowed) and returns the index just past it. At most limit
// containers may be open at once. On failure msg is not empty and the index
// is where decoding stopped. stack is scratch space for the nesting, reused
// between calls: one bit per open container, set for an object. The gotos
// keep the token loop free of a state dispatch.
func skipValue(s string, i, limit int, stack *[]uint64) (end int, msg string) {
	stk := (*stack)[:0]
	depth := 0   // open containers
	obj := false // whether the innermost open container is an object
	var c byte

value:
	i = skipSpace(s, i)
	if i >= len(s) {
		return i, "unexpected end of input"
	}
	c = s[i]
	switch {
	case c == '"':
		if i, _, msg = scanString(s, i+1); msg != "" {
			return i, msg
		}
	case c == '-' || isDigit(c):
		var ok bool
		if i, ok = scanNumber(s, i); !ok {
			return i, "invalid number"
		}
	case c == '{' || c == '[':
		i = skipSpace(s, i+1)
		if i < len(s) && s[i] == c+2 { // '}' and ']' follow '{' and '[' by two
			i++
			goto after
		}
		if depth >= limit {
			return i, "nesting too deep"
		}
		if w := depth >> 6; w == len(stk) {
			stk = append(stk, 0)
		}
		obj = c == '{'
		if obj {
			stk[depth>>6] |= 1 << (depth & 63)
		} else {
			stk[depth>>6] &^= 1 << (depth & 63)
		}
		depth++
		if obj {
			goto key
		}
		goto value
	case c == 't' && hasLiteral(s, i, "true"):
		i += 4
	case c == 'f' && hasLiteral(s, i, "false"):
		i += 5
	case c == 'n' && hasLiteral(s, i, "null"):
		i += 4
	default:
		return i, "unexpected character " + quoteByte(c)
	}

after:
	if depth == 0 {
		*stack = stk
		return i, ""
	}
	i = skipSpace(s, i)
	if i >= len(s) {
		return i, "unexpected end of input"
	}
	c = s[i]
	i++
	switch {
	case c == ',':
		if obj {
			goto key
		}
		goto value
	case (obj && c == '}') || (!obj && c == ']'):
		depth--
		if depth > 0 {
			obj = stk[(depth-1)>>6]&(1<<((depth-1)&63)) != 0
		}
		goto after
	}
	return i - 1, "unexpected character " + quoteByte(c) + " after a value"

key:
	i = skipSpace(s, i)
	if i >= len(s) {
		return i, "unexpected end of input"
	}
	if s[i] != '"' {
		return i, "expected a member name"
	}
	if i, _, msg = scanString(s, i+1); msg != "" {
		return i, msg
	}
	i = skipSpace(s, i)
	if i >= len(s) || s[i] != ':' {
		return i, "expected ':'"
	}
	i++
	goto value
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	const hex = "0123456789abcdef"
	return "0x" + string([]byte{hex[c>>4], hex[c&15]})
}

// span is the extent of a member value within the frame; start < 0 means the
// member was absent. esc records whether a string value holds escapes.
type span struct {
	start, end int
	esc        bool
}

// str returns the content of a string value, aliasing s unless it had to be
// unescaped; ok is false when the value is not a string.
func (sp span) str(s string) (v string, ok bool) {
	if sp.start < 0 || s[sp.start] != '"' {
		return "", false
	}
	if sp.esc {
		return unescapeJSON(s[sp.start:sp.end]), true
	}
	return s[sp.start+1 : sp.end-1], true
}

// envelope holds the members of a frame's top-level object that the decoder
// routes on.
type envelope struct {
	event, data, id, channel span
}

// scanEnvelope checks that s is exactly one JSON object, validating every
// nested value, and records where the routing members are. A member given
// twice counts with its last value, as in encoding/json.
func scanEnvelope(s string, stack *[]uint64) (envelope, *SyntaxError) {
	absent := span{start: -1, end: -1}
	env := envelope{absent, absent, absent, absent}
	i := skipSpace(s, 0)
	if i >= len(s) {
		return env, &SyntaxError{Offset: i, Msg: "empty frame"}
	}
	if s[i] != '{' {
		end, msg := skipValue(s, i, maxDepth, stack)
		switch {
		case msg != "":
			return env, &SyntaxError{Offset: end, Msg: msg}
		case skipSpace(s, end) != len(s):
			return env, &SyntaxError{Offset: skipSpace(s, end), Msg: "data after the JSON value"}
		}
		return env, &SyntaxError{Offset: i, Msg: "frame is not a JSON object"}
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		i++
	} else {
		for {
			if i >= len(s) {
				return env, &SyntaxError{Offset: i, Msg: "unexpected end of input"}
			}
			if s[i] != '"' {
				return env, &SyntaxError{Offset: i, Msg: "expected a member name"}
			}
			end, esc, msg := scanString(s, i+1)
			if msg != "" {
				return env, &SyntaxError{Offset: end, Msg: msg}
			}
			key := s[i+1 : end-1]
			if esc {
				key = unescapeJSON(s[i:end])
			}
			i = skipSpace(s, end)
			if i >= len(s) || s[i] != ':' {
				return env, &SyntaxError{Offset: i, Msg: "expected ':'"}
			}
			start := skipSpace(s, i+1)
			if start < len(s) && s[start] == '"' {
				// Scanned here rather than by skipValue to learn whether the
				// string needs unescaping.
				end, esc, msg = scanString(s, start+1)
			} else {
				esc = false
				end, msg = skipValue(s, start, maxDepth, stack)
			}
			if msg != "" {
				return env, &SyntaxError{Offset: end, Msg: msg}
			}
			sp := span{start, end, esc}
			switch key {
			case "event":
				env.event = sp
			case "data":
				env.data = sp
			case "id":
				env.id = sp
			case "channel":
				env.channel = sp
			}
			i = skipSpace(s, end)
			if i < len(s) && s[i] == ',' {
				i = skipSpace(s, i+1)
				continue
			}
			if i < len(s) && s[i] == '}' {
				i++
				break
			}
			if i >= len(s) {
				return env, &SyntaxError{Offset: i, Msg: "unexpected end of input"}
			}
			return env, &SyntaxError{Offset: i, Msg: "unexpected character " + quoteByte(s[i]) + " after a value"}
		}
	}
	if j := skipSpace(s, i); j != len(s) {
		return env, &SyntaxError{Offset: j, Msg: "data after the JSON value"}
	}
	return env, nil
}
