package record

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"
)

// Version is the format version this package writes and reads.
const Version = 1

// Direction is which way a frame went.
type Direction uint8

// The directions of a frame.
const (
	In  Direction = 1 // server to client
	Out Direction = 2 // client to server
)

// String returns "in" or "out", as in the file.
func (d Direction) String() string {
	switch d {
	case In:
		return "in"
	case Out:
		return "out"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// Kind is what a line records.
type Kind uint8

// The kinds of line. KindUnknown is a kind this version does not know,
// passed on so that newer files stay readable.
const (
	KindUnknown Kind = iota
	KindHeader
	KindOpen
	KindFrame
	KindClose
	KindLost
	KindEnd
)

var kindNames = [...]string{"unknown", "header", "open", "frame", "close", "lost", "end"}

// String returns the kind's name as in the file.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

func parseKind(s string) Kind {
	for i, n := range kindNames[1:] {
		if s == n {
			return Kind(i + 1)
		}
	}
	return KindUnknown
}

// Header is what a file's first line says about the recording.
type Header struct {
	Version  int       // format version
	Time     time.Time // when the file was started
	Endpoint string    // the redacted endpoint URL, if given
	Product  string    // e.g. "stock" or "futopt", if given
	SDK      string    // the SDK version, if given
}

// Line is one line of a recording. Which fields are set depends on Kind:
//
//	header: Time, Header
//	open:   Time, Conn, URL
//	frame:  Time, Conn, Dir, Raw
//	close:  Time, Conn, Code, Reason
//	lost:   Time, Count
//	end:    Time
type Line struct {
	Kind   Kind
	Number int // 1-based line number in the decompressed stream
	Time   time.Time
	Conn   uint64
	Dir    Direction
	// Raw is the frame exactly as it went over the wire. It is only valid
	// until the next call to Next (or the next iteration); copy it to keep
	// it.
	Raw    []byte
	URL    string
	Code   int
	Reason string
	Count  uint64
	Header Header
}

// appendFrameLine appends a frame line, with the frame as "raw" when it can
// be embedded unchanged and as "b64" otherwise.
func appendFrameLine(b []byte, at int64, conn uint64, dir Direction, frame []byte) []byte {
	b = append(b, `{"kind":"frame","t":`...)
	b = strconv.AppendInt(b, at, 10)
	b = append(b, `,"conn":`...)
	b = strconv.AppendUint(b, conn, 10)
	if dir == Out {
		b = append(b, `,"dir":"out"`...)
	} else {
		b = append(b, `,"dir":"in"`...)
	}
	if embeddable(frame) {
		b = append(b, `,"raw":`...)
		b = append(b, frame...)
	} else {
		b = append(b, `,"b64":"`...)
		b = base64.StdEncoding.AppendEncode(b, frame)
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}

// embeddable reports whether frame can stand as a JSON value inside a line
// and come back byte for byte: valid JSON and UTF-8, no surrounding
// whitespace (a decoder would trim it), no CR or LF (they would split the
// line; inside valid JSON they can only be whitespace between tokens).
func embeddable(frame []byte) bool {
	if len(frame) == 0 || isSpace(frame[0]) || isSpace(frame[len(frame)-1]) {
		return false
	}
	if bytes.IndexByte(frame, '\n') >= 0 || bytes.IndexByte(frame, '\r') >= 0 {
		return false
	}
	return utf8.Valid(frame) && json.Valid(frame)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func appendLostLine(b []byte, at int64, count uint64) []byte {
	b = append(b, `{"kind":"lost","t":`...)
	b = strconv.AppendInt(b, at, 10)
	b = append(b, `,"count":`...)
	b = strconv.AppendUint(b, count, 10)
	return append(b, "}\n"...)
}

func appendOpenLine(b []byte, at int64, conn uint64, u string) []byte {
	b = append(b, `{"kind":"open","t":`...)
	b = strconv.AppendInt(b, at, 10)
	b = append(b, `,"conn":`...)
	b = strconv.AppendUint(b, conn, 10)
	b = append(b, `,"url":`...)
	b = appendString(b, u)
	return append(b, "}\n"...)
}

func appendCloseLine(b []byte, at int64, conn uint64, code int, reason string) []byte {
	b = append(b, `{"kind":"close","t":`...)
	b = strconv.AppendInt(b, at, 10)
	b = append(b, `,"conn":`...)
	b = strconv.AppendUint(b, conn, 10)
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"reason":`...)
	b = appendString(b, reason)
	return append(b, "}\n"...)
}

func appendHeaderLine(b []byte, at int64, h Header) []byte {
	b = append(b, `{"kind":"header","t":`...)
	b = strconv.AppendInt(b, at, 10)
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, Version, 10)
	for _, f := range [...]struct{ k, v string }{{"endpoint", h.Endpoint}, {"product", h.Product}, {"sdk", h.SDK}} {
		if f.v != "" {
			b = append(b, `,"`+f.k+`":`...)
			b = appendString(b, f.v)
		}
	}
	return append(b, "}\n"...)
}

func appendEndLine(b []byte, at int64) []byte {
	b = append(b, `{"kind":"end","t":`...)
	b = strconv.AppendInt(b, at, 10)
	return append(b, "}\n"...)
}

// appendString appends s as a JSON string. Markers are rare, so
// encoding/json's escaping (valid UTF-8 out, whatever comes in) is worth
// its allocation.
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// RedactURL returns u without its userinfo, query values and fragment, so
// that a token carried in a URL never reaches a recording. A URL that does
// not parse is replaced entirely.
func RedactURL(u string) string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL redacted)"
	}
	p.User = nil
	p.Fragment, p.RawFragment = "", ""
	if p.RawQuery != "" {
		q := p.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		p.RawQuery = q.Encode()
	}
	return p.String()
}

// isAuthFrame reports whether frame might be an auth frame. Frames without
// the letters "auth" in any case and without escapes cannot name the event
// "auth", so most frames cost one scan; the rest are decoded.
func isAuthFrame(frame []byte) bool {
	if !containsFoldAuth(frame) && bytes.IndexByte(frame, '\\') < 0 {
		return false
	}
	// Walk every top-level member: with duplicate keys a decoder into a
	// struct or map would see only the last "event".
	d := json.NewDecoder(bytes.NewReader(frame))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return false // not a JSON object: the caller decides
	}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return false
		}
		var v json.RawMessage
		if d.Decode(&v) != nil {
			return false
		}
		if k, _ := t.(string); equalFoldASCII(k, "event") {
			var ev string
			if json.Unmarshal(v, &ev) == nil && equalFoldASCII(ev, "auth") {
				return true
			}
		}
	}
	return false
}

func containsFoldAuth(b []byte) bool {
	// Jump between the u's with IndexByte (vectorised) instead of testing
	// every byte: most frames hold few.
	for _, u := range [2]byte{'u', 'U'} {
		for i := 1; i+3 <= len(b); {
			j := bytes.IndexByte(b[i:len(b)-2], u)
			if j < 0 {
				break
			}
			i += j
			if b[i-1]|0x20 == 'a' && b[i+1]|0x20 == 't' && b[i+2]|0x20 == 'h' {
				return true
			}
			i++
		}
	}
	return false
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i]|0x20 != b[i]|0x20 {
			return false
		}
	}
	return true
}
