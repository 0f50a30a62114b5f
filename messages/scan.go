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

// msgEOF is the message for input that ends where more is due.
const msgEOF = "unexpected end of input"

// skipValue checks the JSON value starting at or after s[i] (leading white
// space allowed) and returns the index just past it. At most limit
// containers may be open at once. On failure msg is not empty and the index
// is where decoding stopped. stack is scratch space for the nesting, reused
// between calls: one bit per open container, set for an object. The gotos
// keep the token loop free of a state dispatch. The helpers it calls inline,
// all but the scanners of strings, numbers and literals: a call per token
// would cost more than most tokens do.
func skipValue(s string, i, limit int, stack *[]uint64) (end int, msg string) {
	stk := (*stack)[:0]
	depth, obj, ok := 0, false, false // open containers; whether the innermost is an object

element: // the next value, the top one first; in an object its name and ':' come first
	if obj {
		if i = skipSpace(s, i); i >= len(s) || s[i] != '"' {
			return i, memberNameError(s, i)
		}
		if i, _, msg = scanString(s, i+1); msg != "" {
			return i, msg
		}
		if i, ok = skipColon(s, i); !ok {
			return i, "expected ':'"
		}
	}
	if i = skipSpace(s, i); i >= len(s) {
		return i, msgEOF
	}
	switch c := s[i]; {
	case c == '"':
		if i, _, msg = scanString(s, i+1); msg != "" {
			return i, msg
		}
	case c == '-' || isDigit(c):
		if i, ok = scanNumber(s, i); !ok {
			return i, "invalid number"
		}
	case c == '{' || c == '[':
		if i = skipSpace(s, i+1); i < len(s) && s[i] == c+2 { // '}' and ']' follow '{' and '[' by two
			i++
			goto after
		}
		if stk, depth, obj, ok = pushNesting(stk, depth, limit, c); !ok {
			return i, "nesting too deep"
		}
		goto element
	default:
		if i, msg = skipLiteral(s, i); msg != "" {
			return i, msg
		}
	}

after: // a value has ended
	if depth == 0 {
		*stack = stk
		return i, ""
	}
	if i = skipSpace(s, i); i < len(s) {
		switch c := s[i]; {
		case c == ',':
			i++
			goto element
		case (obj && c == '}') || (!obj && c == ']'):
			i++
			depth, obj = popNesting(stk, depth)
			goto after
		}
	}
	return i, afterValueError(s, i)
}

// pushNesting records in stk the container that open, '{' or '[', starts at
// depth, growing stk by a word every 64 levels. It returns stk, the depth
// inside the container and whether the container is an object; ok is false,
// and nothing is recorded, when limit containers are open already.
func pushNesting(stk []uint64, depth, limit int, open byte) ([]uint64, int, bool, bool) {
	if depth >= limit {
		return stk, depth, false, false
	}
	if depth>>6 == len(stk) {
		stk = append(stk, 0)
	}
	obj := open == '{'
	if obj {
		stk[depth>>6] |= 1 << (depth & 63)
	} else {
		stk[depth>>6] &^= 1 << (depth & 63)
	}
	return stk, depth + 1, obj, true
}

// popNesting closes the innermost of depth open containers. It returns the
// depth outside it and whether the container it was in is an object.
func popNesting(stk []uint64, depth int) (outer int, obj bool) {
	if depth--; depth == 0 {
		return 0, false
	}
	return depth, stk[(depth-1)>>6]&(1<<((depth-1)&63)) != 0
}

// skipColon steps over the white space and the ':' that follow a member
// name ending at s[i-1]; ok is false, at the index where the ':' was due,
// when there is none.
func skipColon(s string, i int) (int, bool) {
	if i = skipSpace(s, i); i >= len(s) || s[i] != ':' {
		return i, false
	}
	return i + 1, true
}

// skipLiteral checks the true, false or null at s[i] and returns the index
// just past it. Literals are rare in this protocol, so skipValue calls it
// rather than holding its cases in the token loop.
func skipLiteral(s string, i int) (int, string) {
	switch c := s[i]; {
	case c == 't' && hasLiteral(s, i, "true"), c == 'n' && hasLiteral(s, i, "null"):
		return i + 4, ""
	case c == 'f' && hasLiteral(s, i, "false"):
		return i + 5, ""
	default:
		return i, "unexpected character " + quoteByte(c)
	}
}

// memberNameError is the message for s[i] where a member name is due.
func memberNameError(s string, i int) string {
	if i >= len(s) {
		return msgEOF
	}
	return "expected a member name"
}

// afterValueError is the message for s[i] where a ',' or the end of the
// container is due.
func afterValueError(s string, i int) string {
	if i >= len(s) {
		return msgEOF
	}
	return "unexpected character " + quoteByte(s[i]) + " after a value"
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
	if i >= len(s) || s[i] != '{' {
		return env, notObject(s, i, stack)
	}
	if i = skipSpace(s, i+1); i < len(s) && s[i] == '}' {
		return env, trailingData(s, i+1)
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return env, &SyntaxError{Offset: i, Msg: memberNameError(s, i)}
		}
		end, esc, msg := scanString(s, i+1)
		if msg != "" {
			return env, &SyntaxError{Offset: end, Msg: msg}
		}
		key := s[i+1 : end-1]
		if esc {
			key = unescapeJSON(s[i:end])
		}
		if i = skipSpace(s, end); i >= len(s) || s[i] != ':' {
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
		switch i = skipSpace(s, end); {
		case i < len(s) && s[i] == ',':
			i = skipSpace(s, i+1)
		case i < len(s) && s[i] == '}':
			return env, trailingData(s, i+1)
		default:
			return env, &SyntaxError{Offset: i, Msg: afterValueError(s, i)}
		}
	}
}

// notObject is the error for a frame that is empty or whose value, at s[i],
// is not an object. Malformed JSON is reported before the value's type.
func notObject(s string, i int, stack *[]uint64) *SyntaxError {
	if i >= len(s) {
		return &SyntaxError{Offset: i, Msg: "empty frame"}
	}
	end, msg := skipValue(s, i, maxDepth, stack)
	if msg != "" {
		return &SyntaxError{Offset: end, Msg: msg}
	}
	if err := trailingData(s, end); err != nil {
		return err
	}
	return &SyntaxError{Offset: i, Msg: "frame is not a JSON object"}
}

// trailingData is the error for anything but white space from s[i] on, or
// nil.
func trailingData(s string, i int) *SyntaxError {
	if j := skipSpace(s, i); j != len(s) {
		return &SyntaxError{Offset: j, Msg: "data after the JSON value"}
	}
	return nil
}
