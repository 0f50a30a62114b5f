package rest

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// PathEscape escapes s as one path segment with the rules of JavaScript's
// encodeURIComponent, as the official SDKs do: a futures spread such as
// TXFC4/TXFD4 becomes TXFC4%2FTXFD4, and TXF1! stays as it is.
func PathEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreservedURIComponent(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func unreservedURIComponent(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()", c) >= 0
}

// segment checks and escapes a path parameter.
func segment(name, v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("%w: empty %s", ErrInvalidRequest, name)
	}
	return PathEscape(v), nil
}

// query builds the query of a call: only what was set goes out, booleans as
// true/false, numbers in decimal.
type query url.Values

func (q query) str(k, v string) {
	if v != "" {
		url.Values(q).Set(k, v)
	}
}

func (q query) int(k string, v int) {
	if v != 0 {
		url.Values(q).Set(k, strconv.Itoa(v))
	}
}

func (q query) boolp(k string, v *bool) {
	if v != nil {
		url.Values(q).Set(k, strconv.FormatBool(*v))
	}
}

func (q query) floatp(k string, v *float64) {
	if v != nil {
		url.Values(q).Set(k, strconv.FormatFloat(*v, 'f', -1, 64))
	}
}

func (q query) list(k string, v []string) {
	if len(v) > 0 {
		url.Values(q).Set(k, strings.Join(v, ","))
	}
}

// Bool returns a pointer to v, for the optional boolean parameters.
func Bool(v bool) *bool { return &v }

// Float returns a pointer to v, for the optional numeric parameters.
func Float(v float64) *float64 { return &v }
