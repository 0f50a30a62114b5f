package messages

import (
	"errors"
	"strconv"
	"strings"
)

// reader is a pull parser over the text of one JSON value. It walks the
// text once, reads each member's value straight into its destination, and
// never builds an intermediate value.
//
// The reader is as strict as the validator in scan.go: the text it walks
// through without setting bad is well-formed JSON, valid UTF-8 and nested no
// deeper than the validator allows. That lets Frame leave the "data" of a
// data frame to the typed method instead of validating it twice. It trusts
// no index either, since a Frame can also be built by hand: text that is not
// as expected sets bad and ends the walk instead of panicking.
type reader struct {
	s     string
	i     int
	bad   bool
	first bool      // at the first member or element of the container just opened
	depth int       // open containers, for the nesting bound of skip
	stack *[]uint64 // scratch for skipValue
}

func (r *reader) ws() {
	r.i = skipSpace(r.s, r.i)
}

// peek returns the first byte of the next value, or 0 at the end.
func (r *reader) peek() byte {
	r.ws()
	if r.i < len(r.s) {
		return r.s[r.i]
	}
	return 0
}

// fail marks the text as malformed at i.
func (r *reader) fail(i int) {
	r.i, r.bad = i, true
}

// key moves to the next member of the object being read and returns its
// name, leaving the reader at the member's value. It returns false once it
// has consumed the closing brace, or when the text is not as expected.
func (r *reader) key() (string, bool) {
	if r.bad {
		return "", false
	}
	s := r.s
	i := skipSpace(s, r.i)
	if i >= len(s) {
		r.fail(i)
		return "", false
	}
	switch c := s[i]; {
	case c == '}':
		r.i = i + 1
		r.depth--
		r.first = false
		return "", false
	case r.first:
		r.first = false
	case c == ',':
		i = skipSpace(s, i+1)
	default:
		r.fail(i)
		return "", false
	}
	if i >= len(s) || s[i] != '"' {
		r.fail(i)
		return "", false
	}
	r.i = i
	k, ok := r.str()
	if !ok {
		return "", false
	}
	i = skipSpace(s, r.i)
	if i >= len(s) || s[i] != ':' {
		r.fail(i)
		return "", false
	}
	r.i = skipSpace(s, i+1)
	return k, true
}

// elem moves to the next element of the array being read. It returns false
// once it has consumed the closing bracket, or when the text is not as
// expected.
func (r *reader) elem() bool {
	if r.bad {
		return false
	}
	s := r.s
	i := skipSpace(s, r.i)
	if i >= len(s) {
		r.fail(i)
		return false
	}
	switch c := s[i]; {
	case c == ']':
		r.i = i + 1
		r.depth--
		r.first = false
		return false
	case r.first:
		r.first = false
	case c == ',':
		i = skipSpace(s, i+1)
	default:
		r.fail(i)
		return false
	}
	// What follows the comma is checked by whoever reads the element.
	r.i = i
	return true
}

// open consumes the '{' or '[' the caller has peeked.
func (r *reader) open() {
	r.i++
	r.depth++
	r.first = true
}

// str reads the string value the reader is at; the result aliases the text
// unless the string holds escapes.
func (r *reader) str() (string, bool) {
	start := r.i + 1
	end, esc, msg := scanString(r.s, start)
	if msg != "" {
		r.fail(end)
		return "", false
	}
	r.i = end
	if esc {
		return unescapeJSON(r.s[start-1 : end]), true
	}
	return r.s[start : end-1], true
}

// literal consumes true, false or null.
func (r *reader) literal(lit string) bool {
	if strings.HasPrefix(r.s[r.i:], lit) {
		r.i += len(lit)
		return true
	}
	r.bad = true
	return false
}

// skip consumes one value of any type, checking it as the validator would:
// the containers the reader is inside count towards the nesting bound.
func (r *reader) skip() {
	end, msg := skipValue(r.s, r.i, maxDepth-r.depth, r.stack)
	if msg != "" {
		r.fail(end)
		return
	}
	r.i = end
}

// levelFast reads a book level written exactly the way the server writes
// it, {"price":N,"size":N}, which spares the general member loop for the
// most repeated object of all. Any other spelling, or a number that does not
// read, is left untouched for the general path, which reports it.
func (r *reader) levelFast(dst *PriceLevel) bool {
	const pre, mid = `{"price":`, `,"size":`
	s, save := r.s, r.i
	if !strings.HasPrefix(s[save:], pre) {
		return false
	}
	r.i += len(pre)
	if r.i >= len(s) || !(s[r.i] == '-' || isDigit(s[r.i])) {
		r.i = save
		return false
	}
	price, ok := r.float()
	if !ok || !strings.HasPrefix(s[r.i:], mid) {
		r.i, r.bad = save, false
		return false
	}
	r.i += len(mid)
	if r.i >= len(s) || !(s[r.i] == '-' || isDigit(s[r.i])) {
		r.i = save
		return false
	}
	size, ok := r.int()
	if !ok || r.i >= len(s) || s[r.i] != '}' {
		r.i, r.bad = save, false
		return false
	}
	r.i++
	*dst = PriceLevel{Price: price, Size: size}
	return true
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// The number readers return ok false in two cases: the text is malformed
// (r.bad is set), or it is a well-formed number outside the Go type (r.bad
// is not set and the reader is past the number), which the value helpers
// report as an error of the field.

// float reads a number, held to the JSON grammar (no leading zeros, digits
// on both sides of the point and after the exponent). Prices arrive with few
// digits, so most take the exact fast path: a mantissa below 2^53 divided by
// an exactly represented power of ten is correctly rounded, the same result
// strconv.ParseFloat gives. Anything longer, or with an exponent, goes
// through strconv.
func (r *reader) float() (float64, bool) {
	s := r.s
	i := r.i
	start := i
	neg := i < len(s) && s[i] == '-'
	if neg {
		i++
	}
	intStart := i
	var mant uint64
	for ; i < len(s) && isDigit(s[i]); i++ {
		mant = mant*10 + uint64(s[i]-'0')
	}
	digits, frac := i-intStart, 0
	if digits == 0 || (digits > 1 && s[intStart] == '0') {
		r.fail(i)
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		for ; i < len(s) && isDigit(s[i]); i++ {
			mant = mant*10 + uint64(s[i]-'0')
		}
		if frac = i - fracStart; frac == 0 {
			r.fail(i)
			return 0, false
		}
		digits += frac
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		var ok bool
		if i, ok = skipExponent(s, i+1); !ok {
			r.fail(i)
			return 0, false
		}
		digits = 99 // force the slow path
	}
	r.i = i
	if digits <= 15 && frac < len(pow10) {
		f := float64(mant)
		if frac > 0 {
			f /= pow10[frac]
		}
		if neg {
			f = -f
		}
		return f, true
	}
	f, err := strconv.ParseFloat(s[start:i], 64)
	if err != nil {
		// ErrRange is an overflow to ±Inf (underflow rounds to 0 without
		// error); anything else cannot happen after the checks above.
		r.bad = !errors.Is(err, strconv.ErrRange)
		return 0, false
	}
	return f, true
}

// skipExponent steps over the sign and the digits of an exponent, from s[i]
// just past its 'e' or 'E'; ok is false, at the index where a digit was due,
// when there are none.
func skipExponent(s string, i int) (int, bool) {
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i, i > start
}

// int reads a number as an integer: exactly for a plain integer, and
// through float64, truncated towards zero, when it has a fraction or an
// exponent. Either way a value outside int64 is out of range.
func (r *reader) int() (int64, bool) {
	s := r.s
	start := r.i
	i := start
	neg := i < len(s) && s[i] == '-'
	if neg {
		i++
	}
	intStart := i
	var n uint64
	for ; i < len(s) && isDigit(s[i]); i++ {
		n = n*10 + uint64(s[i]-'0')
	}
	digits := i - intStart
	if digits == 0 || (i < len(s) && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) {
		f, ok := r.float()
		if !ok {
			return 0, false
		}
		return floatToInt(f)
	}
	if digits > 1 && s[intStart] == '0' {
		r.fail(i)
		return 0, false
	}
	r.i = i
	if digits > 18 { // may overflow: let strconv decide
		v, err := strconv.ParseInt(s[start:i], 10, 64)
		if err != nil { // only ErrRange can happen here
			return 0, false
		}
		return v, true
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

// floatToInt truncates f towards zero and reports whether the result fits
// in int64. The bounds are -2^63 and 2^63, both exact in float64.
func floatToInt(f float64) (int64, bool) {
	if !(f >= -9.223372036854775808e18 && f < 9.223372036854775808e18) { // NaN fails too
		return 0, false
	}
	return int64(f), true
}

// typeName names the JSON type of a value by its first byte.
func typeName(c byte) string {
	switch c {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case 0:
		return "missing"
	}
	return "number"
}

// parseInt parses a decimal integer held in a string value. The error is
// strconv's: errors.Is(err, strconv.ErrRange) tells a numeric string outside
// int64 from one that is not numeric.
func parseInt(s string) (int64, error) {
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
}
