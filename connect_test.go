package marketdata

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
)

// prompt bounds calls that must return "at once": generous against a loaded
// machine, far below the 10 s timeouts the tests configure, which is what
// the old behaviour waited for.
const prompt = 2 * time.Second

// returnsWithin runs f and fails the test unless it returns within d.
func returnsWithin(t *testing.T, what string, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		<-done // never leave f running past the test
		t.Fatalf("%s took %v, want under %v", what, time.Since(start).Round(time.Millisecond), d)
	}
}

// hungListener accepts TCP connections and never says a word: a dial to it
// hangs in the WebSocket upgrade, or in the TLS handshake for wss://.
type hungListener struct {
	ln       net.Listener
	accepted chan struct{}
	mu       sync.Mutex
	conns    []net.Conn
	done     chan struct{}
}

func newHungListener(t *testing.T) *hungListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hungListener{ln: ln, accepted: make(chan struct{}, 64), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, conn)
			h.mu.Unlock()
			h.accepted <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-h.done
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, c := range h.conns {
			_ = c.Close()
		}
	})
	return h
}

func (h *hungListener) url(scheme string) string {
	return scheme + "://" + h.ln.Addr().String() + "/marketdata/v1.0/stock/streaming"
}

func (h *hungListener) waitAccepted(t *testing.T) {
	t.Helper()
	select {
	case <-h.accepted:
	case <-time.After(hang):
		t.Fatal("the client never dialled")
	}
}

func hungClient(t *testing.T, endpoint string) *WebSocketClient {
	t.Helper()
	c, err := NewWebSocketClient(WebSocketClientOption{
		Endpoint: endpoint, APIKey: testKey,
		HandshakeTimeout: 10 * time.Second, CloseTimeout: 10 * time.Second, AuthTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestConnectEndsWithItsContextDuringAHungUpgrade(t *testing.T) {
	for _, scheme := range []string{"ws", "wss"} {
		for _, how := range []string{"deadline", "cancel"} {
			t.Run(scheme+"/"+how, func(t *testing.T) {
				h := newHungListener(t)
				c := hungClient(t, h.url(scheme))
				var ctx context.Context
				var cancel context.CancelFunc
				want := context.Canceled
				if how == "deadline" {
					want = context.DeadlineExceeded
					ctx, cancel = context.WithTimeout(context.Background(), 250*time.Millisecond)
				} else {
					ctx, cancel = context.WithCancel(context.Background())
					go func() { h.waitAccepted(t); cancel() }()
				}
				defer cancel()
				var err error
				returnsWithin(t, "Connect after its context ended", prompt, func() { err = c.Connect(ctx) })
				if !errors.Is(err, want) {
					t.Fatalf("Connect = %v, want an error matching %v", err, want)
				}
				if c.State() != StateIdle {
					t.Fatalf("state %v after a failed Connect, want idle", c.State())
				}
			})
		}
	}
}

func TestCloseInterruptsAHungUpgrade(t *testing.T) {
	for _, scheme := range []string{"ws", "wss"} {
		t.Run(scheme, func(t *testing.T) {
			h := newHungListener(t)
			c := hungClient(t, h.url(scheme))
			errc := make(chan error, 1)
			go func() { errc <- c.Connect(context.Background()) }()
			h.waitAccepted(t)
			returnsWithin(t, "Close during a hung upgrade", prompt, func() { _ = c.Close() })
			if err := <-errc; !errors.Is(err, ErrClosed) {
				t.Fatalf("Connect = %v, want ErrClosed", err)
			}
		})
	}
}

func TestCloseInterruptsAReconnectsHungUpgrade(t *testing.T) {
	srv := newServer(t)
	h := newHungListener(t)
	var dials sync.Mutex
	n := 0
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.HandshakeTimeout, o.CloseTimeout = 10*time.Second, 10*time.Second
		o.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Lock()
			n++
			first := n == 1
			dials.Unlock()
			if !first {
				addr = h.ln.Addr().String() // every reconnect meets a server that never answers
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	})
	connect(t, c)
	srv.DropAll()
	h.waitAccepted(t)
	returnsWithin(t, "Close during a reconnect's hung upgrade", prompt, func() { _ = c.Close() })
	if c.State() != StateClosed || c.Err() != nil {
		t.Fatalf("after Close: %v, %v", c.State(), c.Err())
	}
}

func TestCloseAndContextInterruptAuthentication(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		srv := newServer(t)
		srv.SetSilent(true) // the auth frame is never answered
		c := newClient(t, srv, func(o *WebSocketClientOption) { o.AuthTimeout, o.CloseTimeout = 10*time.Second, 10*time.Second })
		errc := make(chan error, 1)
		go func() { errc <- c.Connect(context.Background()) }()
		if err := srv.WaitForConns(testCtx(t), 1); err != nil {
			t.Fatal(err)
		}
		returnsWithin(t, "Close during authentication", prompt, func() { _ = c.Close() })
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("Connect = %v, want ErrClosed", err)
		}
	})
	t.Run("context", func(t *testing.T) {
		srv := newServer(t)
		srv.SetSilent(true)
		c := newClient(t, srv, func(o *WebSocketClientOption) { o.AuthTimeout, o.CloseTimeout = 10*time.Second, 10*time.Second })
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		var err error
		returnsWithin(t, "Connect whose context ends during authentication", prompt, func() { err = c.Connect(ctx) })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Connect = %v, want DeadlineExceeded", err)
		}
	})
}

// A bad minute at start-up: each transient failure is retried by Connect
// with RetryConnect, and announced on Events.
func TestRetryConnectRidesOutTransientFailures(t *testing.T) {
	cases := map[string]func(t *testing.T, srv *marketdatatest.Server) (recover func()){
		"auth service unavailable": func(t *testing.T, srv *marketdatatest.Server) func() {
			srv.FailAuth(CodeAuthUnavailable, "Authentication service unavailable", 3)
			return func() {}
		},
		"HTTP 503": func(t *testing.T, srv *marketdatatest.Server) func() {
			srv.RejectHandshake(503)
			return func() { srv.RejectHandshake(0) }
		},
		"connection limit": func(t *testing.T, srv *marketdatatest.Server) func() {
			other := newClient(t, srv, nil) // another process holds the only slot
			connect(t, other)
			return func() { _ = other.Close() }
		},
		"refused dial": func(t *testing.T, srv *marketdatatest.Server) func() {
			srv.Stop()
			return func() {
				if err := srv.Restart(); err != nil {
					t.Error(err)
				}
			}
		},
	}
	for name, fault := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, marketdatatest.WithMaxConnections(1))
			recover := fault(t, srv)
			c := newClient(t, srv, func(o *WebSocketClientOption) { o.RetryConnect = true })
			errc := make(chan error, 1)
			go func() { errc <- c.Connect(testCtx(t)) }()
			// Two announced retries show Connect is riding it out; then the
			// fault clears.
			for i := 1; i <= 2; i++ {
				r, _ := nextEvent(t, c, func(r Reconnecting) bool { return r.Attempt == i })
				if r.Err == nil {
					t.Fatalf("Reconnecting %d carries no cause", i)
				}
			}
			recover()
			if err := <-errc; err != nil {
				t.Fatalf("Connect = %v, want success once the fault cleared", err)
			}
			if c.State() != StateConnected {
				t.Fatalf("state %v", c.State())
			}
		})
	}
}

func TestRetryConnectStopsAtFinalFailures(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.RetryConnect = true; o.APIKey = "wrong" })
	var err error
	returnsWithin(t, "Connect with a rejected credential", prompt, func() { err = c.Connect(testCtx(t)) })
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Connect = %v, want ErrUnauthorized", err)
	}
	srv.RejectHandshake(403)
	returnsWithin(t, "Connect refused with 403", prompt, func() { err = c.Connect(testCtx(t)) })
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Connect = %v, want ErrUnauthorized for HTTP 403", err)
	}
}

func TestRetryConnectEndsWithItsContext(t *testing.T) {
	srv := newServer(t)
	srv.RejectHandshake(503)
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.RetryConnect = true })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(ctx) }()
	nextEvent(t, c, func(r Reconnecting) bool { return r.Attempt == 2 })
	cancel()
	var err error
	returnsWithin(t, "Connect after its context was cancelled", prompt, func() { err = <-errc })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Connect = %v, want context.Canceled", err)
	}
	var he *HandshakeError
	if !errors.As(err, &he) || he.StatusCode != 503 || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Connect = %v, want it to carry the last attempt's HTTP 503", err)
	}
}

func TestConnectWithoutRetryFailsAtOnce(t *testing.T) {
	srv := newServer(t)
	srv.RejectHandshake(503)
	c := newClient(t, srv, nil)
	err := c.Connect(testCtx(t))
	var he *HandshakeError
	if !errors.As(err, &he) || he.StatusCode != 503 {
		t.Fatalf("Connect = %v, want HTTP 503", err)
	}
	if n := srv.UpgradeRequests(); n != 1 {
		t.Fatalf("%d upgrade requests, want one attempt", n)
	}
}
