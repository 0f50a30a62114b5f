package rest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors. Match them with errors.Is; never compare error strings.
var (
	// ErrUnauthorized: HTTP 401, the credential was not accepted. Never
	// retried.
	ErrUnauthorized = errors.New("rest: credential rejected")
	// ErrForbidden: HTTP 403, the plan does not include the endpoint.
	ErrForbidden = errors.New("rest: not included in the plan")
	// ErrNotFound: HTTP 404, an unknown symbol, expired contract or path.
	ErrNotFound = errors.New("rest: not found")
	// ErrRateLimited: HTTP 429, over the plan's requests per minute. It is
	// retried (see Option.MaxRetries); the error is returned once the
	// retries or the context run out.
	ErrRateLimited = errors.New("rest: rate limited")
	// ErrInvalidOption: NewClient was given an unusable Option.
	ErrInvalidOption = errors.New("rest: invalid option")
	// ErrInvalidRequest: a call's arguments are unusable (an empty symbol,
	// a missing required parameter).
	ErrInvalidRequest = errors.New("rest: invalid request")
	// ErrMalformedResponse: a response body could not be used: not JSON,
	// truncated, not an object, or with a field of the wrong type.
	ErrMalformedResponse = errors.New("rest: malformed response")
	// ErrResponseTooLarge: a response body exceeded Option.MaxBodySize.
	ErrResponseTooLarge = errors.New("rest: response body over the size limit")
	// ErrPagingStalled: AllTrades read several pages in a row without a
	// trade it had not seen: the server ignores offset, or trades arrive
	// faster than the pages are read.
	ErrPagingStalled = errors.New("rest: paging brings no new trades")
)

// maxErrorBody bounds what an APIError or ResponseError keeps of a body.
const maxErrorBody = 512

// APIError is an answer with an HTTP status of 400 or more.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the body's "message" (several joined with "; "), or the
	// status text when the body carries none (an HTML page from a proxy).
	Message string
	// Path is the request's path and query after the base URL, such as
	// /v1.0/stock/intraday/quote/2330?type=oddlot.
	Path string
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Header holds the response's headers (X-RateLimit-* among them).
	Header http.Header
	// Body is the start of the body, at most 512 bytes.
	Body []byte
}

func (e *APIError) Error() string {
	return fmt.Sprintf("rest: GET %s: HTTP %d: %s", e.Path, e.StatusCode, e.Message)
}

// Is matches ErrUnauthorized, ErrForbidden, ErrNotFound and ErrRateLimited
// by status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// Temporary reports whether the request may succeed if sent again: 429 and
// 5xx.
func (e *APIError) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// ResponseError reports a response whose body could not be used. It matches
// ErrMalformedResponse or ErrResponseTooLarge, and unwraps to the cause too
// (a *messages.FieldError, a *json.UnmarshalTypeError, io.ErrUnexpectedEOF,
// ...).
type ResponseError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Path is the request's path and query after the base URL.
	Path string
	// ContentType is the response's Content-Type.
	ContentType string
	// Kind is ErrMalformedResponse or ErrResponseTooLarge.
	Kind error
	// Err is the cause.
	Err error
	// Body is the start of the body, at most 512 bytes.
	Body []byte
}

func (e *ResponseError) Error() string {
	s := fmt.Sprintf("%v: GET %s (HTTP %d", e.Kind, e.Path, e.StatusCode)
	if e.ContentType != "" {
		s += ", " + e.ContentType
	}
	s += ")"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Kind and the cause.
func (e *ResponseError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// snippet copies the start of b for an error, with secret removed.
func snippet(b []byte, secret string) []byte {
	if len(b) > maxErrorBody {
		b = b[:maxErrorBody]
	}
	out := append([]byte(nil), b...)
	if secret != "" {
		out = []byte(strings.ReplaceAll(string(out), secret, "[REDACTED]"))
	}
	return out
}
