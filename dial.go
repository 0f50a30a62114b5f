package marketdata

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/go-fugle/marketdata/messages"
	"github.com/gorilla/websocket"
)

// abortWriteTimeout bounds the courtesy close frame of a connection given up
// before it went live.
const abortWriteTimeout = 50 * time.Millisecond

// dialGuard lets a context end a dial at any stage. gorilla/websocket
// watches the context only while it dials TCP; during the TLS handshake and
// the HTTP upgrade it relies on a deadline alone, so a server that accepts
// and never answers would hold Connect, and Close, for HandshakeTimeout.
// The guard rides in the context to the dial function, remembers the
// connection opened, and closes it when the context ends.
type dialGuard struct {
	mu    sync.Mutex
	conn  net.Conn
	ended bool
}

type dialGuardKey struct{}

// track remembers conn, or reports false when the guard has already ended.
func (g *dialGuard) track(conn net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.conn = conn
	return !g.ended
}

func (g *dialGuard) end() {
	g.mu.Lock()
	g.ended = true
	conn := g.conn
	g.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
}

// guardedDial wraps the TCP dial function (the user's, or a plain
// net.Dialer) so that the connection it opens is known to the dial's guard.
// Proxies and TLS are layered above it by gorilla, so closing this
// connection interrupts every stage.
func guardedDial(base func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if base == nil {
		var d net.Dialer
		base = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := base(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if g, _ := ctx.Value(dialGuardKey{}).(*dialGuard); g != nil && !g.track(conn) {
			_ = conn.Close()
			// The guard can end a moment before this ctx (derived from the
			// guarded one) reports it: never return no error with no conn.
			err := context.Cause(ctx)
			if err == nil {
				err = context.Canceled
			}
			return nil, err
		}
		return conn, nil
	}
}

// dial opens and authenticates one connection. It returns as soon as ctx
// ends or Close begins, whatever stage it is in; on failure nothing of the
// connection is left running. An error caused by ctx wraps ctx.Err(); one
// caused by Close is ErrClosed.
func (c *WebSocketClient) dial(ctx context.Context) (*session, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.closeCtx, cancel)
	defer stop()
	ended := func(err error) error {
		if c.closeCtx.Err() != nil {
			return ErrClosed
		}
		ctxErr := ctx.Err()
		if d, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(d) {
			// gorilla's socket deadline, taken from ctx, can fire a moment
			// before ctx's own timer.
			ctxErr = context.DeadlineExceeded
		}
		if ctxErr != nil {
			return fmt.Errorf("marketdata: connecting to %s: %w", c.opt.Endpoint, ctxErr)
		}
		return err
	}

	g := &dialGuard{}
	unguard := context.AfterFunc(ctx, g.end)
	ws, resp, err := c.dialer.DialContext(context.WithValue(ctx, dialGuardKey{}, g), c.opt.Endpoint, c.opt.Header)
	if !unguard() && err == nil {
		// The context ended as the upgrade completed; the guard has closed
		// the connection under it.
		_ = ws.Close()
		return nil, ended(ctx.Err())
	}
	if err != nil {
		return nil, ended(dialError(err, resp, c.opt.Endpoint))
	}
	seq := c.seqs.Add(1)
	if tap := c.opt.Tap; tap != nil {
		tap.Opened(seq, time.Now(), c.opt.Endpoint)
	}
	s := newSession(c.link(), ws, seq)
	c.emit(Connected{Conn: seq, URL: c.opt.Endpoint})

	if err := s.sendSecret(c.cred.frame()); err != nil {
		s.teardown()
		s.tapClosedBy(s.cause())
		return nil, ended(err)
	}
	timer := time.NewTimer(c.opt.AuthTimeout)
	defer timer.Stop()
	for {
		select {
		case ctl := <-s.control:
			switch ctl.kind {
			case messages.KindAuthenticated:
				s.authedAt = time.Now()
				c.emit(Authenticated{Conn: seq, Message: ctl.message})
				return s, nil
			case messages.KindError:
				_ = s.shutdown()
				s.tapClosedBy(s.cause())
				return nil, ended(ctl.err)
			}
		case <-s.readerDone:
			// An error frame read just before the connection ended is the
			// real verdict: the close that follows it is only its echo.
			err := s.cause()
			if ctl, ok := s.pendingError(); ok {
				err = ctl.err
			}
			s.teardown()
			s.tapClosedBy(s.cause())
			return nil, ended(err)
		case <-timer.C:
			// A server that does not answer the credential will not answer
			// a close handshake either.
			s.abort()
			s.tapClosed(websocket.CloseNormalClosure, "")
			return nil, ErrAuthTimeout
		case <-ctx.Done():
			s.abort()
			s.tapClosed(websocket.CloseNormalClosure, "")
			return nil, ended(ctx.Err())
		}
	}
}
