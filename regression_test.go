package marketdata

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stallConn holds every write while stalled: a peer that stopped reading
// with a full TCP window. entered signals the first held write; a held
// write fails when release is closed or the connection is closed.
type stallConn struct {
	net.Conn
	stall   *atomic.Bool
	entered chan struct{}
	enter   *sync.Once
	release chan struct{}
	closed  chan struct{}
	once    sync.Once
}

func (c *stallConn) Write(b []byte) (int, error) {
	if c.stall.Load() {
		c.enter.Do(func() { close(c.entered) })
		select {
		case <-c.release:
			return 0, errors.New("write failed")
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	return c.Conn.Write(b)
}

func (c *stallConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

type staller struct {
	stall   atomic.Bool
	entered chan struct{}
	enter   sync.Once
	release chan struct{}
}

func newStaller() *staller {
	return &staller{entered: make(chan struct{}), release: make(chan struct{})}
}

func (st *staller) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &stallConn{Conn: nc, stall: &st.stall, entered: st.entered, enter: &st.enter, release: st.release, closed: make(chan struct{})}, nil
}

// A writer that dies with its queue full must not strand the supervisor:
// the connection is replaced and Close still returns.
func TestDeadWriterWithFullQueueReconnects(t *testing.T) {
	srv := newServer(t)
	st := newStaller()
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.NetDialContext = st.dial })
	connect(t, c)
	st.stall.Store(true)
	s := c.liveSession()
	var pings sync.WaitGroup
	for i := 0; i < 2*cap(s.out); i++ {
		pings.Add(1)
		go func() {
			defer pings.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, _ = c.Ping(ctx)
		}()
	}
	<-st.entered
	eventually(t, "the write queue to fill", func() bool { return len(s.out) == cap(s.out) })
	subscribed := make(chan error, 1)
	go func() {
		subscribed <- c.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"2330"}})
	}()
	// The supervisor marks the request sent just before queueing it, where
	// it now waits behind the full queue.
	eventually(t, "the supervisor to queue the subscribe frame", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		e := c.subs.wanted[subKey{channel: ChannelTrades, symbol: "2330"}]
		return e != nil && e.sent == s.seq
	})
	st.stall.Store(false)
	close(st.release) // the held write fails: the writer gives up
	d, _ := nextEvent[Disconnected](t, c, nil)
	if d.Conn != 1 || !d.WillReconnect {
		t.Fatalf("disconnected = %+v", d)
	}
	if err := <-subscribed; err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	if err := srv.WaitForSubscribers(testCtx(t), "trades", "2330", 1); err != nil {
		t.Fatal(err)
	}
	within(t, "Close", func() { _ = c.Close() })
	pings.Wait()
}

// Close returns ErrCloseTimeout when the close frame itself cannot be
// written because the peer stopped reading.
func TestCloseWhenPeerStoppedReading(t *testing.T) {
	srv := newServer(t)
	st := newStaller()
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.CloseTimeout = 200 * time.Millisecond
		o.NetDialContext = st.dial
	})
	connect(t, c)
	st.stall.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	_, _ = c.Ping(ctx)
	<-st.entered // the writer is stuck inside a write
	var err error
	within(t, "Close", func() { err = c.Close() })
	if !errors.Is(err, ErrCloseTimeout) {
		t.Fatalf("Close = %v, want ErrCloseTimeout", err)
	}
}

// With PingInterval, a link that goes silent is declared dead by the
// unanswered probe, long before the heartbeat timeout.
func TestProbeDetectsSilentLink(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.HeartbeatTimeout = time.Hour
		o.PingInterval = 50 * time.Millisecond
	})
	connect(t, c)
	srv.SetSilent(true)
	d, _ := nextEvent[Disconnected](t, c, nil)
	if !errors.Is(d.Err, ErrStaleConnection) || !d.WillReconnect {
		t.Fatalf("disconnected = %+v", d)
	}
}

// ReconnectMaxAttempts counts failed attempts, not connections that
// authenticated and then dropped.
func TestMaxAttemptsCountsOnlyFailures(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.ReconnectMaxAttempts = 2
		o.ReconnectMaxInterval = 10 * time.Millisecond
	})
	connect(t, c)
	srv.DropAfterAuth(true)
	srv.DropAll()
	eventually(t, "five authenticated connections", func() bool { return srv.AuthenticatedCount() >= 5 })
	select {
	case <-c.Done():
		t.Fatalf("client ended after %d authenticated connections: %v", srv.AuthenticatedCount(), c.Err())
	default:
	}
}

// An error frame that a subscription request cannot have earned (here an
// auth-timeout code) is reported on Events, not taken as the refusal of the
// subscribe in flight.
func TestUnrelatedErrorFrameDoesNotFailSubscribe(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.AckTimeout = 300 * time.Millisecond })
	connect(t, c)
	srv.SetSilent(true) // the ack is lost
	subscribed := make(chan error, 1)
	go func() {
		subscribed <- c.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"2330"}})
	}()
	eventually(t, "the subscribe frame to arrive", func() bool { return len(srv.Conns()[0].Frames()) >= 2 })
	_ = srv.Conns()[0].SendError(CodeAuthTimeout, "unrelated")
	ev, _ := nextEvent[ErrorEvent](t, c, nil)
	var se *ServerError
	if !errors.As(ev.Err, &se) || se.Code != CodeAuthTimeout {
		t.Fatalf("error event = %v", ev.Err)
	}
	srv.SetSilent(false)
	// The unanswered request ends the connection; the subscription is
	// restored on the next one and Subscribe succeeds.
	if err := <-subscribed; err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	if got := c.Subscriptions(); len(got) != 1 || !got[0].Active {
		t.Fatalf("Subscriptions() = %v", got)
	}
}
