package marketdata

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-fugle/marketdata/messages"
)

// Sentinel errors. Match them with errors.Is; never compare error strings.
var (
	// ErrUnauthorized: the server rejected the credential (error code 1000,
	// the code-less "Invalid authentication credentials", or HTTP 401/403 on
	// the upgrade). It is final: the client never retries it.
	ErrUnauthorized = errors.New("marketdata: credential rejected")
	// ErrClosed: the client was closed by Close.
	ErrClosed = errors.New("marketdata: client closed")
	// ErrAlreadyConnected: Connect was called on a client that is connected
	// or connecting.
	ErrAlreadyConnected = errors.New("marketdata: already connected")
	// ErrNotConnected: the call needs a live connection and there is none.
	ErrNotConnected = errors.New("marketdata: not connected")
	// ErrInvalidOption: NewWebSocketClient was given an unusable option.
	ErrInvalidOption = errors.New("marketdata: invalid option")
	// ErrInvalidRequest: a Subscribe or Unsubscribe request is unusable.
	ErrInvalidRequest = errors.New("marketdata: invalid request")
	// ErrNotSubscribed: Unsubscribe named nothing that is subscribed.
	ErrNotSubscribed = errors.New("marketdata: not subscribed")
	// ErrAuthTimeout: no "authenticated" arrived within AuthTimeout.
	ErrAuthTimeout = errors.New("marketdata: authentication timed out")
	// ErrStaleConnection: nothing arrived within HeartbeatTimeout, so the
	// connection was declared dead.
	ErrStaleConnection = errors.New("marketdata: connection silent past the heartbeat timeout")
	// ErrAckTimeout: the server did not answer a subscribe or unsubscribe
	// within AckTimeout, so the connection was declared dead.
	ErrAckTimeout = errors.New("marketdata: no answer to a subscription request")
	// ErrCloseTimeout: Close sent its close frame but the peer never
	// answered within CloseTimeout; the TCP connection was closed anyway.
	ErrCloseTimeout = errors.New("marketdata: peer did not answer the close handshake")
	// ErrReconnectExhausted: the reconnect limits (attempts or elapsed time)
	// ran out. The error wraps the last attempt's error too.
	ErrReconnectExhausted = errors.New("marketdata: reconnect attempts exhausted")
	// ErrBinaryFrame: the server sent a binary frame; the protocol is text only.
	ErrBinaryFrame = errors.New("marketdata: unexpected binary frame")
	// ErrMalformedFrame: a frame could not be decoded. It is reported on
	// Events and the stream goes on.
	ErrMalformedFrame = messages.ErrMalformed
	// ErrNotOrdered: Next was called on a client built without Ordered.
	ErrNotOrdered = errors.New("marketdata: the ordered stream is off (set Ordered)")
	// ErrUnsubscribed: a pending Subscribe was overtaken by an Unsubscribe
	// of the same subscription.
	ErrUnsubscribed = errors.New("marketdata: unsubscribed before the server acknowledged")
)

// Server error codes from the protocol, as carried by ServerError.Code.
const (
	CodeCredentialsRejected = messages.CodeCredentialsRejected // final: never retried
	CodeLimitExceeded       = messages.CodeLimitExceeded
	CodeNotAuthenticated    = messages.CodeNotAuthenticated
	CodeValidationFailed    = messages.CodeValidationFailed
	CodeAuthTimeout         = messages.CodeAuthTimeout
	CodeAuthUnavailable     = messages.CodeAuthUnavailable // retried: not a verdict on the key
)

// ServerError is an error frame sent by the server. A credential rejection
// also matches ErrUnauthorized.
type ServerError struct {
	Code    int // 0 when the frame carried no code
	Message string
}

func (e *ServerError) Error() string {
	if e.Code == 0 {
		return "marketdata: server error: " + e.Message
	}
	return fmt.Sprintf("marketdata: server error %d: %s", e.Code, e.Message)
}

// Is reports a credential rejection as ErrUnauthorized.
func (e *ServerError) Is(target error) bool {
	return target == ErrUnauthorized && e.credentialRejection()
}

func (e *ServerError) credentialRejection() bool {
	f := messages.ErrorFrame{Code: e.Code, Message: e.Message}
	return f.IsCredentialRejection()
}

// CloseError reports that the peer closed the connection, or that it ended
// without a close frame (Code 1006).
type CloseError struct {
	Code   int
	Reason string
	Err    error // the underlying cause when no close frame arrived
}

func (e *CloseError) Error() string {
	s := fmt.Sprintf("marketdata: connection closed (%d", e.Code)
	if e.Reason != "" {
		s += " " + e.Reason
	}
	s += ")"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause, such as ErrStaleConnection.
func (e *CloseError) Unwrap() error { return e.Err }

// HandshakeError reports an upgrade refused with an HTTP status. 401 and 403
// also match ErrUnauthorized.
type HandshakeError struct {
	StatusCode int
	// URL is the endpoint dialled, without user info.
	URL string
}

func (e *HandshakeError) Error() string {
	if e.StatusCode == 404 {
		// The usual cause: a base URL where the streaming endpoint belongs.
		return fmt.Sprintf("marketdata: websocket upgrade refused: HTTP 404 from %s: no streaming endpoint there (a base URL such as ws://host/marketdata needs /v1.0/stock/streaming after it; see Endpoint)", e.URL)
	}
	if e.URL != "" {
		return fmt.Sprintf("marketdata: websocket upgrade refused: HTTP %d from %s", e.StatusCode, e.URL)
	}
	return fmt.Sprintf("marketdata: websocket upgrade refused: HTTP %d", e.StatusCode)
}

// Is reports 401 and 403 as ErrUnauthorized.
func (e *HandshakeError) Is(target error) bool {
	return target == ErrUnauthorized && (e.StatusCode == 401 || e.StatusCode == 403)
}

// UnconfirmedError is returned by Subscribe when the server's ack left some
// of the requested subscriptions out. They stay wanted but not active (see
// Subscriptions), are requested again on the next connection, and become
// active if a late ack confirms them.
type UnconfirmedError struct {
	Subscriptions []Subscription
}

func (e *UnconfirmedError) Error() string {
	names := make([]string, len(e.Subscriptions))
	for i, s := range e.Subscriptions {
		names[i] = s.String()
	}
	return fmt.Sprintf("marketdata: the server did not confirm %d subscription(s): %s", len(names), strings.Join(names, ", "))
}

// DecodeError reports a frame that could not be decoded. The stream goes on.
type DecodeError struct {
	Err   error
	Frame []byte // the start of the frame, at most 256 bytes
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("marketdata: %v (frame %q)", e.Err, e.Frame)
}

func (e *DecodeError) Unwrap() error { return e.Err }

func newDecodeError(err error, raw []byte) *DecodeError {
	const max = 256
	if len(raw) > max {
		raw = raw[:max]
	}
	return &DecodeError{Err: err, Frame: append([]byte(nil), raw...)}
}
