package marketdata

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/gorilla/websocket"
)

// newBackOff builds the reconnect policy. MaxElapsedTime is always set
// explicitly: the library's default of 15 minutes would silently end
// retrying, and a trading client is expected to retry for as long as it
// runs unless told otherwise.
func (c *WebSocketClient) newBackOff() backoff.BackOff {
	eb := &backoff.ExponentialBackOff{
		InitialInterval:     c.opt.ReconnectInitialInterval,
		RandomizationFactor: c.opt.ReconnectJitter,
		Multiplier:          c.opt.ReconnectMultiplier,
		MaxInterval:         c.opt.ReconnectMaxInterval,
		MaxElapsedTime:      c.opt.ReconnectMaxElapsed,
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	eb.Reset()
	return eb
}

// retryable is the one place that decides whether a lost connection or a
// failed attempt is worth another try.
//
// Final: the user's Close, a credential rejection (error 1000, the code-less
// "Invalid authentication credentials", HTTP 401/403), a TLS certificate
// the client does not trust, and an invalid request.
//
// Everything else is retried: closes 1001 (restart, connection limit), 1006
// (no close frame), 1011, 1013, dial failures, other HTTP statuses, an
// authentication timeout, error 1011 during authentication, a silent
// connection, an unanswered request, an oversized frame. A server close
// 1000 is retried too: the server's documented reasons to end a session
// (restart, limits, auth timeout) use 1001 and error frames, so a bare
// normal close carries no verdict on the client, and a client that must
// stay up should come back.
func retryable(err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrClosed), errors.Is(err, ErrUnauthorized), errors.Is(err, ErrInvalidRequest):
		return false
	case isCertificateError(err):
		return false
	}
	return true
}

func isCertificateError(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		verify   *tls.CertificateVerificationError
	)
	return errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &hostname) || errors.As(err, &verify)
}

// dialError turns a failed upgrade into a typed error.
func dialError(err error, resp *http.Response, endpoint string) error {
	if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
		if resp.Body != nil {
			_ = resp.Body.Close()
		}
		return &HandshakeError{StatusCode: resp.StatusCode, URL: redactURL(endpoint)}
	}
	return fmt.Errorf("marketdata: dial: %w", err)
}

// reconnect retries until a connection authenticates, a final error, the
// limits run out, or Close. It returns the new session, or nil when the
// client has ended.
func (c *WebSocketClient) reconnect(b backoff.BackOff, cause error) *session {
	down := time.Now()
	s, attempts, err := c.redial(c.closeCtx, b, cause)
	if err != nil {
		if c.closeCtx.Err() != nil {
			err = nil
		}
		c.end(err)
		return nil
	}
	if !c.adopt(s) {
		c.end(nil)
		return nil
	}
	c.reconnects.Add(1)
	c.emit(Reconnected{Conn: s.seq, Attempts: attempts, Downtime: time.Since(down)})
	return s
}

// redial dials under the backoff policy until a connection authenticates,
// a final error, the limits run out, ctx ends or Close begins. cause is why
// the previous connection or attempt failed. Each attempt is announced on
// Events as Reconnecting. It returns the session and the attempts made.
func (c *WebSocketClient) redial(ctx context.Context, b backoff.BackOff, cause error) (*session, int, error) {
	lastErr := cause
	for attempt := 1; ; attempt++ {
		delay := b.NextBackOff()
		// The attempt limit is per outage; the delay keeps growing across
		// connections that drop soon after authenticating.
		if delay == backoff.Stop || (c.opt.ReconnectMaxAttempts > 0 && attempt > c.opt.ReconnectMaxAttempts) {
			return nil, attempt - 1, fmt.Errorf("%w after %d attempt(s): %w", ErrReconnectExhausted, attempt-1, lastErr)
		}
		if c.limitBackoff && isConnectionLimit(lastErr) {
			delay = c.opt.ReconnectMaxInterval
		}
		c.emit(Reconnecting{Attempt: attempt, Delay: delay, Err: lastErr})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-c.closeCtx.Done():
			t.Stop()
			return nil, attempt, ErrClosed
		case <-ctx.Done():
			t.Stop()
			return nil, attempt, fmt.Errorf("marketdata: connecting to %s: %w; last attempt: %w", c.opt.Endpoint, ctx.Err(), lastErr)
		}
		s, err := c.dial(ctx)
		switch {
		case err == nil:
			return s, attempt, nil
		case c.closeCtx.Err() != nil:
			return nil, attempt, ErrClosed
		case ctx.Err() != nil:
			return nil, attempt, fmt.Errorf("%w; last attempt: %w", err, lastErr)
		case !retryable(err):
			return nil, attempt, err
		}
		lastErr = err
	}
}

// isConnectionLimit reports the server's refusal of a connection over the
// plan's limit: error 1001 during authentication, or close 1001 with the
// reason "Maximum number of connections reached".
func isConnectionLimit(err error) bool {
	var se *ServerError
	var ce *CloseError
	switch {
	case errors.As(err, &se):
		return se.Code == CodeLimitExceeded
	case errors.As(err, &ce):
		return ce.Code == websocket.CloseGoingAway && ce.Reason == "Maximum number of connections reached"
	}
	return false
}
