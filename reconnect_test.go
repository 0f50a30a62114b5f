package marketdata

import (
	"errors"
	"os"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
)

// serverSubs lists what the server holds for one connection, as
// "channel:symbol" strings, sorted.
func serverSubs(c *marketdatatest.Conn) []string {
	var out []string
	for _, s := range c.Subscriptions() {
		out = append(out, s.Channel+":"+s.Symbol)
	}
	sort.Strings(out)
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// expectRecovery asserts what a user sees after a lost connection: one
// Disconnected that promises a reconnect, Reconnecting, Reconnected on the
// next connection number, Resubscribed with everything restored, and data
// flowing again, stamped with the new connection number.
func expectRecovery(t *testing.T, srv *marketdatatest.Server, c *WebSocketClient, from uint64, check func(Disconnected)) {
	t.Helper()
	d, _ := nextEvent[Disconnected](t, c, nil)
	if d.Conn != from || !d.WillReconnect {
		t.Fatalf("disconnected = %+v", d)
	}
	if check != nil {
		check(d)
	}
	r, seen := nextEvent[Reconnected](t, c, nil)
	if r.Conn != from+1 || r.Attempts < 1 {
		t.Fatalf("reconnected = %+v", r)
	}
	if _, ok := seen[0].(Reconnecting); !ok {
		t.Fatalf("after Disconnected came %v, want Reconnecting", seen[0])
	}
	for _, e := range seen {
		if d, ok := e.(Disconnected); ok {
			t.Fatalf("second Disconnected for the outage: %v", d)
		}
	}
	rs, _ := nextEvent[Resubscribed](t, c, nil)
	if rs.Conn != from+1 || len(rs.Failed) != 0 || len(rs.Restored) != 1 || rs.Restored[0].Symbol != "2330" {
		t.Fatalf("resubscribed = %+v", rs)
	}
	conns := srv.Conns()
	last := conns[len(conns)-1]
	if got := serverSubs(last); !equalStrings(got, []string{"trades:2330"}) {
		t.Fatalf("server holds %v after recovery", got)
	}
	srv.Publish("trades", "2330", tradeJSON("2330", 42))
	for {
		v := receive(t, c.Trades())
		if v.Conn == from+1 {
			if v.Serial != 42 {
				t.Fatalf("trade after recovery = %+v", v)
			}
			return
		}
	}
}

func TestReconnectAfterAbruptDrop(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	srv.DropAll()
	expectRecovery(t, srv, c, 1, func(d Disconnected) {
		if d.Code != 1006 {
			t.Errorf("code = %d, want 1006", d.Code)
		}
	})
	if st := c.Stats(); st.Reconnects != 1 || st.Connections != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestReconnectAfterServerClose1001(t *testing.T) {
	for _, reason := range []string{"server restart", "Maximum number of connections reached"} {
		t.Run(reason, func(t *testing.T) {
			srv := newServer(t)
			c := newClient(t, srv, nil)
			connect(t, c)
			subscribe(t, c, ChannelTrades, "2330")
			srv.CloseAll(1001, reason)
			expectRecovery(t, srv, c, 1, func(d Disconnected) {
				if d.Code != 1001 || d.Reason != reason {
					t.Errorf("disconnected %d %q, want 1001 %q", d.Code, d.Reason, reason)
				}
			})
		})
	}
}

func TestSilentServerDetectedWhileNobodyReads(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.HeartbeatTimeout = 200 * time.Millisecond
		o.CloseTimeout = 50 * time.Millisecond
	})
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	srv.SetSilent(true)
	// Nobody reads any channel: the client must still notice and redial.
	if err := srv.WaitForConns(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	srv.SetSilent(false)
	d, _ := nextEvent[Disconnected](t, c, nil)
	if d.Conn != 1 || !d.WillReconnect || !errors.Is(d.Err, ErrStaleConnection) {
		t.Fatalf("disconnected = %+v, want connection 1 declared stale", d)
	}
	// The first redial may still have met the silence (its auth answer
	// lost), so recovery lands on connection 2 or a later one.
	rs, _ := nextEvent[Resubscribed](t, c, nil)
	if len(rs.Restored) != 1 || len(rs.Failed) != 0 {
		t.Fatalf("resubscribed = %+v", rs)
	}
	srv.Publish("trades", "2330", tradeJSON("2330", 42))
	for {
		if v := receive(t, c.Trades()); v.Serial == 42 {
			if v.Conn != rs.Conn {
				t.Fatalf("trade on connection %d, want %d", v.Conn, rs.Conn)
			}
			return
		}
	}
}

func TestProbePingKeepsQuietConnection(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.HeartbeatTimeout = 300 * time.Millisecond
		o.PingInterval = 50 * time.Millisecond
	})
	connect(t, c)
	// No heartbeats are configured on the server: only the probes' pongs
	// keep the connection alive past the heartbeat timeout.
	for i := 0; i < 3; i++ {
		nextEvent[Pong](t, c, nil)
	}
	if n := len(srv.Conns()); n != 1 {
		t.Fatalf("%d connections: a quiet but live connection was replaced", n)
	}
}

func TestAuthServiceUnavailableIsRetried(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	srv.FailAuth(1011, "Authentication service unavailable", 2)
	srv.DropAll()
	d, _ := nextEvent[Disconnected](t, c, nil)
	if !d.WillReconnect {
		t.Fatalf("disconnected = %+v", d)
	}
	var failures int
	for {
		r, _ := nextEvent[Reconnecting](t, c, nil)
		var se *ServerError
		if errors.As(r.Err, &se) && se.Code == 1011 {
			failures++
		}
		if failures == 2 {
			break
		}
	}
	r, _ := nextEvent[Reconnected](t, c, nil)
	if r.Attempts != 3 {
		t.Fatalf("reconnected after %d attempts, want 3", r.Attempts)
	}
	if err := srv.WaitForSubscribers(testCtx(t), "trades", "2330", 1); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialRejectedOnLiveConnectionIsFinal(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	conn := srv.Conns()[0]
	_ = conn.SendError(1000, "Invalid authentication credentials")
	_ = conn.Close(1008, "")
	select {
	case <-c.Done():
	case <-time.After(hang):
		t.Fatal("client did not end")
	}
	if !errors.Is(c.Err(), ErrUnauthorized) {
		t.Fatalf("Err = %v, want ErrUnauthorized", c.Err())
	}
	if n := len(srv.Conns()); n != 1 {
		t.Fatalf("%d connections: a rejected credential was retried", n)
	}
	var d *Disconnected
	for e := range c.Events() {
		if v, ok := e.(Disconnected); ok {
			d = &v
		}
		if _, ok := e.(Reconnecting); ok {
			t.Fatal("reconnecting after a credential rejection")
		}
	}
	if d == nil || d.WillReconnect || !errors.Is(d.Err, ErrUnauthorized) {
		t.Fatalf("disconnected = %+v", d)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close after the end = %v", err)
	}
}

func TestHandshake401IsFinal(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	srv.RejectHandshake(401)
	srv.DropAll()
	select {
	case <-c.Done():
	case <-time.After(hang):
		t.Fatal("client did not end")
	}
	var he *HandshakeError
	if !errors.Is(c.Err(), ErrUnauthorized) || !errors.As(c.Err(), &he) || he.StatusCode != 401 {
		t.Fatalf("Err = %v, want a 401 HandshakeError matching ErrUnauthorized", c.Err())
	}
	if n := len(srv.Conns()); n != 1 {
		t.Fatalf("%d connections upgraded", n)
	}
}

func TestServerRestartedOnSameAddress(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.ReconnectInitialInterval = 100 * time.Millisecond
		o.ReconnectMaxInterval = 500 * time.Millisecond
	})
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	srv.Stop()
	// Refuse connections for 3 s, then come back on the same address.
	refusedUntil := time.Now().Add(3 * time.Second)
	var refused int
	for time.Now().Before(refusedUntil) {
		r, _ := nextEvent[Reconnecting](t, c, nil)
		if r.Attempt > 1 {
			refused++
		}
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if refused == 0 {
		t.Fatal("no attempt was refused while the server was down")
	}
	if err := srv.WaitForSubscribers(testCtx(t), "trades", "2330", 1); err != nil {
		t.Fatal(err)
	}
	srv.Publish("trades", "2330", tradeJSON("2330", 9))
	for {
		if v := receive(t, c.Trades()); v.Serial == 9 {
			if v.Conn != 2 {
				t.Fatalf("conn = %d", v.Conn)
			}
			break
		}
	}
}

func TestFlappingServerBacksOff(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.ReconnectInitialInterval = 5 * time.Millisecond
		o.ReconnectMaxInterval = time.Second
		o.ReconnectJitter = -1 // exact delays, to compare them
		o.StableAfter = time.Minute
	})
	connect(t, c)
	srv.DropAfterAuth(true)
	srv.DropAll()
	var delays []time.Duration
	for len(delays) < 6 {
		r, _ := nextEvent[Reconnecting](t, c, nil)
		delays = append(delays, r.Delay)
	}
	for i := 1; i < len(delays); i++ {
		if delays[i] <= delays[i-1] {
			t.Fatalf("delays %v: a connection that drops at once must not reset the backoff", delays)
		}
	}
}

func TestCloseDuringBackoffWait(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.ReconnectInitialInterval = time.Hour
		o.ReconnectMaxInterval = time.Hour
	})
	connect(t, c)
	srv.DropAll()
	nextEvent[Reconnecting](t, c, nil)
	var err error
	within(t, "Close during a backoff wait", func() { err = c.Close() })
	if err != nil {
		t.Fatalf("Close = %v", err)
	}
	if c.Err() != nil || c.State() != StateClosed {
		t.Fatalf("after Close: %v %v", c.State(), c.Err())
	}
}

func TestCloseDuringReconnectHandshake(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.AuthTimeout = time.Hour; o.CloseTimeout = 50 * time.Millisecond })
	connect(t, c)
	srv.SetSilent(true) // the next auth frame goes unanswered
	srv.DropAll()
	if err := srv.WaitForConns(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	within(t, "Close during a reconnect handshake", func() { _ = c.Close() })
	if c.State() != StateClosed {
		t.Fatalf("state = %v", c.State())
	}
}

func TestSubscriptionChangesDuringOutage(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	subscribe(t, c, ChannelBooks, "2317")
	srv.Stop()
	nextEvent[Disconnected](t, c, nil)

	ctx := testCtx(t)
	if err := c.Unsubscribe(ctx, SubscribeRequest{Channel: ChannelBooks, Symbols: []string{"2317"}}); err != nil {
		t.Fatalf("Unsubscribe while down: %v", err)
	}
	subscribed := make(chan error, 1)
	go func() {
		subscribed <- c.Subscribe(ctx, SubscribeRequest{Channel: ChannelCandles, Symbols: []string{"2454"}})
	}()
	eventually(t, "the subscription to be wanted", func() bool { return len(c.Subscriptions()) == 2 })
	for _, s := range c.Subscriptions() {
		if s.Active {
			t.Fatalf("%v active while disconnected", s)
		}
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := <-subscribed; err != nil {
		t.Fatalf("Subscribe made during the outage: %v", err)
	}
	rs, _ := nextEvent[Resubscribed](t, c, nil)
	if len(rs.Restored) != 2 || len(rs.Failed) != 0 {
		t.Fatalf("resubscribed = %+v", rs)
	}
	conns := srv.Conns()
	if got := serverSubs(conns[len(conns)-1]); !equalStrings(got, []string{"candles:2454", "trades:2330"}) {
		t.Fatalf("server holds %v", got)
	}
}

func TestSubscribeBeforeConnect(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	done := make(chan error, 1)
	go func() {
		done <- c.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"2330"}})
	}()
	eventually(t, "the subscription to be wanted", func() bool { return len(c.Subscriptions()) == 1 })
	connect(t, c)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := serverSubs(srv.Conns()[0]); !equalStrings(got, []string{"trades:2330"}) {
		t.Fatalf("server holds %v", got)
	}
}

func TestReconnectDisabled(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.DisableReconnect = true })
	connect(t, c)
	srv.DropAll()
	<-c.Done()
	var ce *CloseError
	if !errors.As(c.Err(), &ce) || ce.Code != 1006 {
		t.Fatalf("Err = %v", c.Err())
	}
}

func TestReconnectAttemptsExhausted(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.ReconnectMaxAttempts = 3 })
	connect(t, c)
	srv.Stop()
	<-c.Done()
	if !errors.Is(c.Err(), ErrReconnectExhausted) {
		t.Fatalf("Err = %v", c.Err())
	}
	var attempts int
	for e := range c.Events() {
		if _, ok := e.(Reconnecting); ok {
			attempts++
		}
	}
	if attempts != 3 {
		t.Fatalf("%d attempts, want 3", attempts)
	}
}

func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(entries)
}

func TestHundredReconnectCycles(t *testing.T) {
	srv := newServer(t)
	// The server's own goroutines and sockets are counted in the baseline.
	baseG, baseFD := runtime.NumGoroutine(), openFDs(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.ReconnectInitialInterval = time.Millisecond
		o.ReconnectMaxInterval = time.Millisecond
		o.StableAfter = time.Nanosecond
	})
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	for i := 1; i <= 100; i++ {
		srv.DropAll()
		r, _ := nextEvent[Reconnected](t, c, nil)
		if r.Conn != uint64(i+1) {
			t.Fatalf("cycle %d: reconnected as #%d", i, r.Conn)
		}
		nextEvent[Resubscribed](t, c, nil)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, conn := range srv.Conns() {
		<-conn.Done()
	}
	eventually(t, "goroutines and descriptors back to the baseline", func() bool {
		return runtime.NumGoroutine() <= baseG && openFDs(t) <= baseFD
	})
}

func TestRestoreReportsEachFailedSubscription(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330", "2317", "2454")
	srv.RejectSymbol("trades", "2317", 1003, "Invalid symbol")
	srv.DropAll()
	rs, _ := nextEvent[Resubscribed](t, c, nil)
	if len(rs.Failed) != 1 || rs.Failed[0].Subscription.Symbol != "2317" || rs.Failed[0].Subscription.Channel != ChannelTrades {
		t.Fatalf("failed = %+v, want trades:2317 alone", rs.Failed)
	}
	var se *ServerError
	if !errors.As(rs.Failed[0].Err, &se) || se.Code != 1003 {
		t.Fatalf("failure error = %v", rs.Failed[0].Err)
	}
	if len(rs.Restored) != 2 {
		t.Fatalf("restored = %v", rs.Restored)
	}
	conns := srv.Conns()
	if got := serverSubs(conns[len(conns)-1]); !equalStrings(got, []string{"trades:2330", "trades:2454"}) {
		t.Fatalf("server holds %v", got)
	}
	if got := c.Subscriptions(); len(got) != 2 {
		t.Fatalf("still wanted: %v", got)
	}
}
