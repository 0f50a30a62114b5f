package messages

import (
	"strings"

	"github.com/tidwall/gjson"
)

// ErrorFrame is an "error" frame from the server.
//
// The server is inconsistent about its shape; all of these decode:
// {"event":"error","data":{"message":"..."}} (no code),
// {"event":"error","code":1001,"data":{"message":"..."}},
// {"event":"error","data":{"code":1001,"message":"..."}} and
// {"event":"error","message":"..."}.
type ErrorFrame struct {
	Code    int    `json:"code"` // 0 when the frame carried none
	Message string `json:"message"`
}

// Error codes the server documents.
const (
	CodeCredentialsRejected = 1000 // do not retry
	CodeLimitExceeded       = 1001 // subscription or connection limit
	CodeNotAuthenticated    = 1002 // a command before authentication
	CodeValidationFailed    = 1003 // bad channel, symbol or parameters
	CodeAuthTimeout         = 1004 // no auth within 60 s
	CodeAuthUnavailable     = 1011 // authentication service down: retryable
)

// credentialsMessage is the message of the code-less credential rejection.
const credentialsMessage = "Invalid authentication credentials"

// IsCredentialRejection reports whether the server rejected the credential:
// code 1000, or no code and the message "Invalid authentication
// credentials". Such an error is final; retrying cannot help.
func (e *ErrorFrame) IsCredentialRejection() bool {
	if e.Code == CodeCredentialsRejected {
		return true
	}
	return e.Code == 0 && strings.EqualFold(strings.TrimSpace(e.Message), credentialsMessage)
}

// Kind returns KindError.
func (e *ErrorFrame) Kind() Kind { return KindError }

// Heartbeat is the server's liveness frame, sent every 30 seconds.
type Heartbeat struct {
	Time Timestamp `json:"time"`
}

// Kind returns KindHeartbeat.
func (h *Heartbeat) Kind() Kind { return KindHeartbeat }

// Pong answers a ping.
type Pong struct {
	Time Timestamp `json:"time"`
	// State is the raw JSON of the ping's echoed "state" (a copy), or nil
	// when the pong carried none. It may be any JSON value.
	State []byte `json:"-"`
}

// Kind returns KindPong.
func (p *Pong) Kind() Kind { return KindPong }

// Authenticated confirms the credential. Message may be empty: the server
// may send the frame without data.
type Authenticated struct {
	Message string `json:"message"`
}

// Kind returns KindAuthenticated.
func (a *Authenticated) Kind() Kind { return KindAuthenticated }

// Ack is one subscription confirmed by a "subscribed" frame, or removed by
// an "unsubscribed" frame. Modifiers are echoed only when true.
type Ack struct {
	ID             string  `json:"id"` // server-assigned; unsubscribing goes by it
	Channel        Channel `json:"channel"`
	Symbol         string  `json:"symbol"`
	IntradayOddLot bool    `json:"intradayOddLot,omitempty"`
	AfterHours     bool    `json:"afterHours,omitempty"`
}

// Error decodes an "error" frame into out, overwriting it. A message in
// "data" wins over one at the top level, and likewise for the code. The
// decoder is lenient here, since an error frame is worth reporting even when
// odd: a "data" that is a plain string is taken as the message, members of
// unexpected types are ignored, and a code that is neither a number nor a
// numeric string reads as 0.
func (d *Decoder) Error(f *Frame, out *ErrorFrame) error {
	*out = ErrorFrame{}
	var g Frame
	f, err := d.settle(f, &g)
	if err != nil {
		return err
	}
	d.begin(f)
	var msg string
	var hasMsg, hasCode bool
	read := func(r *reader, top bool) {
		for {
			k, ok := r.key()
			if !ok {
				return
			}
			switch c := r.peek(); {
			case k == "code" && !hasCode && (c == '-' || isDigit(c)):
				if n, ok := r.int(); ok {
					out.Code, hasCode = int(n), true
				}
			case k == "code" && !hasCode && c == '"':
				if s, ok := r.str(); ok {
					if n, err := parseInt(s); err == nil {
						out.Code, hasCode = int(n), true
					}
				}
			case k == "message" && !hasMsg && c == '"':
				msg, hasMsg = r.str()
			case top && k == "data" && c == '"' && !hasMsg:
				msg, hasMsg = r.str()
			default:
				r.skip()
			}
		}
	}
	// "data" first, so that its members win.
	if f.Data.IsObject() {
		r := reader{s: f.Data.Raw, stack: &d.stack}
		r.ws()
		r.open()
		read(&r, false)
	}
	r := reader{s: bytesToString(f.Raw), stack: &d.stack}
	if r.peek() == '{' {
		r.open()
		read(&r, true)
	}
	out.Message = strings.Clone(msg)
	d.err = nil
	return nil
}

// settle returns f, or, when Frame left its data unvalidated, f scanned in
// full into g. The control methods read loosely and are not meant for data
// frames, so they take no shortcut.
func (d *Decoder) settle(f, g *Frame) (*Frame, error) {
	if !f.deferred {
		return f, nil
	}
	var err error
	*g, err = d.scanFrame(f.Raw)
	return g, err
}

// control starts the walk of the "data" of a control frame. ok is false when
// there is nothing to read: data absent or null, or of the wrong type (err).
func (d *Decoder) control(f *Frame) (r reader, ok bool, err error) {
	d.begin(f)
	r = reader{s: f.Data.Raw, stack: &d.stack}
	if f.Data.IsObject() {
		r.ws()
		r.open()
		return r, true, nil
	}
	if f.Data.Type == gjson.Null {
		return r, false, nil
	}
	return r, false, &FieldError{Event: d.event, Field: "data", Want: "object", Got: typeName(r.peek())}
}

// Heartbeat decodes a "heartbeat" frame into out, overwriting it. The time
// may be a number or a numeric string.
func (d *Decoder) Heartbeat(f *Frame, out *Heartbeat) error {
	*out = Heartbeat{}
	var g Frame
	f, err := d.settle(f, &g)
	if err != nil {
		return err
	}
	r, ok, err := d.control(f)
	if !ok {
		return err
	}
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		if k == "time" {
			d.time(&r, "time", &out.Time)
		} else {
			r.skip()
		}
	}
	return d.finish(&r, f)
}

// Pong decodes a "pong" frame into out, overwriting it.
func (d *Decoder) Pong(f *Frame, out *Pong) error {
	*out = Pong{}
	var g Frame
	f, err := d.settle(f, &g)
	if err != nil {
		return err
	}
	r, ok, err := d.control(f)
	if !ok {
		return err
	}
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		switch k {
		case "time":
			d.time(&r, "time", &out.Time)
		case "state":
			r.ws()
			start := r.i
			r.skip()
			if !r.bad {
				out.State = []byte(r.s[start:r.i])
			}
		default:
			r.skip()
		}
	}
	return d.finish(&r, f)
}

// Authenticated decodes an "authenticated" frame into out, overwriting it.
func (d *Decoder) Authenticated(f *Frame, out *Authenticated) error {
	*out = Authenticated{}
	var g Frame
	f, err := d.settle(f, &g)
	if err != nil {
		return err
	}
	r, ok, err := d.control(f)
	if !ok {
		return err
	}
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		if k == "message" {
			// Copied, not interned: it arrives once per connection.
			switch c := r.peek(); c {
			case '"':
				if s, ok := r.str(); ok {
					out.Message = strings.Clone(s)
				}
			case 'n':
				r.literal("null")
			default:
				d.typeErr("message", "string", typeName(c))
			}
		} else {
			r.skip()
		}
	}
	return d.finish(&r, f)
}

// Acks decodes a "subscribed" or "unsubscribed" frame and appends its acks
// to dst. The server answers a one-symbol request with an object and a
// many-symbol request with an array; both decode. A frame without data
// appends nothing.
func (d *Decoder) Acks(f *Frame, dst []Ack) ([]Ack, error) {
	var g Frame
	f, err := d.settle(f, &g)
	if err != nil {
		return dst, err
	}
	d.begin(f)
	r := reader{s: f.Data.Raw, stack: &d.stack}
	n := len(dst)
	switch c := r.peek(); {
	case c == '{' && f.Data.IsObject():
		r.open()
		var a Ack
		d.ack(&r, &a)
		dst = append(dst, a)
	case c == '[' && f.Data.IsArray():
		r.open()
		for i := 0; d.err == nil && r.elem(); i++ {
			var a Ack
			if r.peek() == 'n' {
				d.typeErr("", "object", "null")
			} else if d.object(&r, "") {
				d.ack(&r, &a)
			}
			if d.err != nil {
				d.nest("data", i)
				break
			}
			dst = append(dst, a)
		}
	case f.Data.Type == gjson.Null:
		return dst, nil
	default:
		return dst, &FieldError{Event: d.event, Field: "data", Want: "object or array", Got: typeName(c)}
	}
	if err := d.finish(&r, f); err != nil {
		return dst[:n], err
	}
	return dst, nil
}

// ack decodes the members of one ack; the caller has entered the object.
func (d *Decoder) ack(r *reader, a *Ack) {
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			return
		}
		switch k {
		case "id":
			d.str(r, "id", &a.ID)
		case "channel":
			var ch string
			if d.str(r, "channel", &ch) {
				if c, known := knownChannel(ch); known {
					a.Channel = c
				} else {
					a.Channel = Channel(ch)
				}
			}
		case "symbol":
			d.str(r, "symbol", &a.Symbol)
		case "intradayOddLot":
			d.flag(r, "intradayOddLot", &a.IntradayOddLot)
		case "afterHours":
			d.flag(r, "afterHours", &a.AfterHours)
		default:
			r.skip()
		}
	}
}
