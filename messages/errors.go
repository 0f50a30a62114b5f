package messages

import (
	"errors"
	"strconv"
)

// ErrMalformed is wrapped by every error the decoder returns: a frame that
// is not JSON, not an object, has no string "event", or carries a known
// field with a value of the wrong type or outside the range of its Go type.
// Match it with errors.Is.
var ErrMalformed = errors.New("messages: malformed frame")

// SyntaxError reports a frame that is not a single well-formed JSON object.
type SyntaxError struct {
	Offset int    // byte offset in the frame where decoding stopped
	Msg    string // what was wrong there
}

// Error describes the problem and where it was found.
func (e *SyntaxError) Error() string {
	return "messages: malformed frame: " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns ErrMalformed.
func (e *SyntaxError) Unwrap() error { return ErrMalformed }

// FieldError reports a known field whose value has the wrong JSON type, or a
// number outside the range of the field's Go type (a float64 overflowing to
// ±Inf, an integer outside int64), or a required field that is missing.
type FieldError struct {
	Event   string  // the frame's event
	Channel Channel // the frame's channel, if any
	Field   string  // path of the field inside the frame's data, such as "bids[2].price"
	Want    string  // what the decoder accepts there
	Got     string  // what was found: a JSON type ("string", "number", "object", "array", "boolean", "null"), "non-numeric string", "number out of range", "numeric string out of range", or "missing"
}

// Error names the frame, the field, and the expected and actual types.
func (e *FieldError) Error() string {
	s := "messages: malformed frame"
	if e.Event != "" {
		s = "messages: malformed " + e.Event
		if e.Channel != "" {
			s += "/" + string(e.Channel)
		}
		s += " frame"
	}
	if e.Got == "missing" {
		return s + ": field " + strconv.Quote(e.Field) + " is missing (want " + e.Want + ")"
	}
	return s + ": field " + strconv.Quote(e.Field) + ": want " + e.Want + ", got " + e.Got
}

// Unwrap returns ErrMalformed.
func (e *FieldError) Unwrap() error { return ErrMalformed }
