package marketdatatest

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Error codes the endpoint puts in its error frames, as listed by the
// protocol.
const (
	// CodeInvalidCredentials rejects a credential; clients must not retry.
	CodeInvalidCredentials = 1000
	// CodeLimitExceeded reports a subscription or connection limit.
	CodeLimitExceeded = 1001
	// CodeUnauthenticated answers a command sent before authentication.
	CodeUnauthenticated = 1002
	// CodeInvalidRequest reports a request that failed validation.
	CodeInvalidRequest = 1003
	// CodeAuthTimeout reports that no auth frame arrived in time.
	CodeAuthTimeout = 1004
	// CodeAuthUnavailable reports a failing authentication service; clients
	// may retry.
	CodeAuthUnavailable = 1011
)

// MessageInvalidCredentials is the message of a credential rejection. Clients
// recognise a code-less rejection by it.
const MessageInvalidCredentials = "Invalid authentication credentials"

// ErrorShape selects where an error frame puts its code and message. The
// real service has been seen using each of them, so a client must accept all.
type ErrorShape int

const (
	// ErrorCodeInData puts both in data:
	// {"event":"error","data":{"code":1003,"message":"..."}}.
	ErrorCodeInData ErrorShape = iota
	// ErrorCodeTopLevel puts the code beside event:
	// {"event":"error","code":1003,"data":{"message":"..."}}.
	ErrorCodeTopLevel
	// ErrorNoCode sends no code at all:
	// {"event":"error","data":{"message":"..."}}.
	ErrorNoCode
	// ErrorMessageTopLevel sends only a top-level message:
	// {"event":"error","message":"..."}.
	ErrorMessageTopLevel
)

// String returns the constant's name.
func (s ErrorShape) String() string {
	switch s {
	case ErrorCodeInData:
		return "ErrorCodeInData"
	case ErrorCodeTopLevel:
		return "ErrorCodeTopLevel"
	case ErrorNoCode:
		return "ErrorNoCode"
	case ErrorMessageTopLevel:
		return "ErrorMessageTopLevel"
	}
	return "ErrorShape(" + strconv.Itoa(int(s)) + ")"
}

// ErrorFrame returns an error frame in the given shape.
func ErrorFrame(shape ErrorShape, code int, message string) []byte {
	b := make([]byte, 0, 64+len(message))
	b = append(b, `{"event":"error",`...)
	switch shape {
	case ErrorCodeTopLevel:
		b = append(b, `"code":`...)
		b = strconv.AppendInt(b, int64(code), 10)
		b = append(b, `,"data":{"message":`...)
		b = appendString(b, message)
		b = append(b, `}}`...)
	case ErrorNoCode:
		b = append(b, `"data":{"message":`...)
		b = appendString(b, message)
		b = append(b, `}}`...)
	case ErrorMessageTopLevel:
		b = append(b, `"message":`...)
		b = appendString(b, message)
		b = append(b, '}')
	default:
		b = append(b, `"data":{"code":`...)
		b = strconv.AppendInt(b, int64(code), 10)
		b = append(b, `,"message":`...)
		b = appendString(b, message)
		b = append(b, `}}`...)
	}
	return b
}

// DataFrame returns {"event":"data","data":<payload>,"id":<id>,"channel":<channel>}.
// payload must be a JSON object; it is inserted verbatim.
func DataFrame(channel, id string, payload []byte) []byte {
	return envelope("data", channel, id, payload)
}

// SnapshotFrame is DataFrame with event "snapshot".
func SnapshotFrame(channel, id string, payload []byte) []byte {
	return envelope("snapshot", channel, id, payload)
}

func envelope(event, channel, id string, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+len(channel)+len(id)+48)
	b = append(b, `{"event":`...)
	b = appendString(b, event)
	b = append(b, `,"data":`...)
	b = append(b, payload...)
	b = append(b, `,"id":`...)
	b = appendString(b, id)
	b = append(b, `,"channel":`...)
	b = appendString(b, channel)
	return append(b, '}')
}

// HeartbeatFrame returns {"event":"heartbeat","data":{"time":T}} with T in
// epoch microseconds, as a JSON string when asString is set (the variant the
// documentation shows) and as a number otherwise.
func HeartbeatFrame(t time.Time, asString bool) []byte {
	b := append(make([]byte, 0, 64), `{"event":"heartbeat","data":{"time":`...)
	b = appendMicros(b, t, asString)
	return append(b, `}}`...)
}

// PongFrame returns {"event":"pong","data":{"time":T,"state":S}}. state is
// inserted verbatim and left out when nil.
func PongFrame(t time.Time, asString bool, state []byte) []byte {
	b := append(make([]byte, 0, 64+len(state)), `{"event":"pong","data":{"time":`...)
	b = appendMicros(b, t, asString)
	if state != nil {
		b = append(b, `,"state":`...)
		b = append(b, state...)
	}
	return append(b, `}}`...)
}

func appendMicros(b []byte, t time.Time, asString bool) []byte {
	if asString {
		b = append(b, '"')
	}
	b = strconv.AppendInt(b, t.UnixMicro(), 10)
	if asString {
		b = append(b, '"')
	}
	return b
}

// Level is one price level of an order book.
type Level struct {
	Price float64
	Size  int64
}

// Trade describes one stock trade for TradeJSON. Zero Bid, Ask and Volume
// are left out of the payload.
type Trade struct {
	Symbol  string
	Price   float64
	Size    int64
	Bid     float64
	Ask     float64
	Volume  int64
	Serial  int64
	Time    time.Time
	IsTrial bool
}

// TradeJSON returns the payload of a stock trades frame, for Publish.
func TradeJSON(t Trade) []byte {
	b := make([]byte, 0, 192)
	b = append(b, `{"symbol":`...)
	b = appendString(b, t.Symbol)
	b = append(b, `,"type":"EQUITY","exchange":"TWSE","market":"TSE"`...)
	if t.Bid != 0 {
		b = appendFloatField(b, "bid", t.Bid)
	}
	if t.Ask != 0 {
		b = appendFloatField(b, "ask", t.Ask)
	}
	b = appendFloatField(b, "price", t.Price)
	b = appendIntField(b, "size", t.Size)
	if t.Volume != 0 {
		b = appendIntField(b, "volume", t.Volume)
	}
	if t.IsTrial {
		b = append(b, `,"isTrial":true`...)
	}
	b = appendIntField(b, "time", micros(t.Time))
	b = appendIntField(b, "serial", t.Serial)
	return append(b, '}')
}

// BooksJSON returns the payload of a stock books frame, for Publish.
func BooksJSON(symbol string, bids, asks []Level, t time.Time) []byte {
	b := make([]byte, 0, 320)
	b = append(b, `{"symbol":`...)
	b = appendString(b, symbol)
	b = append(b, `,"type":"EQUITY","exchange":"TWSE","market":"TSE"`...)
	b = appendLevels(b, "bids", bids)
	b = appendLevels(b, "asks", asks)
	b = appendIntField(b, "time", micros(t))
	return append(b, '}')
}

// micros treats the zero time as "now" so that helpers stay short to call.
func micros(t time.Time) int64 {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UnixMicro()
}

func appendLevels(b []byte, name string, levels []Level) []byte {
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":[`...)
	for i, l := range levels {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"price":`...)
		b = appendFloat(b, l.Price)
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, l.Size, 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendFloatField(b []byte, name string, v float64) []byte {
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return appendFloat(b, v)
}

func appendIntField(b []byte, name string, v int64) []byte {
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return strconv.AppendInt(b, v, 10)
}

func appendStringField(b []byte, name, v string) []byte {
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return appendString(b, v)
}

// appendFloat writes the shortest decimal form; JSON has no NaN or Inf, so
// those become 0 rather than an invalid document.
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD so that the frame stays valid JSON whatever the symbol.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
