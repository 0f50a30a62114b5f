package marketdatatest_test

import (
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/gorilla/websocket"
)

func TestClientOrderlyClose(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.StockURL())
	c.auth("k")
	if err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "bye"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	c.expectClose(1000, "")
	info := waitDone(t, srv.Conns()[0])
	want := marketdatatest.CloseInfo{ClientSentClose: true, ClientCode: 1000, ClientReason: "bye", ServerSentClose: true, ServerCode: 1000, HandshakeCompleted: true}
	if info != want {
		t.Fatalf("got  %+v\nwant %+v", info, want)
	}
}

func TestClientAbruptClose(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.StockURL())
	c.auth("k")
	c.ws.NetConn().Close()
	info := waitDone(t, srv.Conns()[0])
	if !info.Abrupt || info.ClientSentClose || info.HandshakeCompleted || info.ServerInitiated {
		t.Fatalf("got %+v", info)
	}
}

func TestServerCloseSendsGoingAway(t *testing.T) {
	srv := marketdatatest.NewServer()
	c := dial(t, srv.StockURL())
	c.auth("k")
	conn := connAt(t, srv, 1)
	got := make(chan error, 1)
	go func() { got <- c.readErr(5 * time.Second) }()
	srv.Close()
	var ce *websocket.CloseError
	if err := <-got; !errors.As(err, &ce) || ce.Code != 1001 || ce.Text != "server shutting down" {
		t.Fatalf("got %v", err)
	}
	if info := conn.CloseInfo(); !info.ServerInitiated || !info.HandshakeCompleted {
		t.Fatalf("got %+v", info)
	}
	if _, _, err := websocket.DefaultDialer.Dial(srv.StockURL(), nil); err == nil {
		t.Fatal("dial after Close succeeded")
	}
}

func TestDropAll(t *testing.T) {
	srv := newServer(t)
	a, b := dial(t, srv.StockURL()), dial(t, srv.FutOptURL())
	a.auth("k")
	b.auth("k")
	srv.DropAll()
	a.expectDropped()
	b.expectDropped()
	for _, conn := range srv.Conns() {
		if info := waitDone(t, conn); !info.ServerInitiated || !info.Abrupt || info.ServerSentClose {
			t.Fatalf("got %+v", info)
		}
	}
	if n := len(srv.LiveConns()); n != 0 {
		t.Fatalf("%d live", n)
	}
	dial(t, srv.StockURL()).auth("k") // still accepting
}

func TestCloseAll(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.StockURL())
	c.auth("k")
	conn := connAt(t, srv, 1)
	if err := conn.Send([]byte(`{"event":"custom"}`)); err != nil {
		t.Fatal(err)
	}
	srv.CloseAll(4000, "maintenance")
	c.expect("custom") // what was queued before goes first
	c.expectClose(4000, "maintenance")
	info := waitDone(t, conn)
	if !info.ServerInitiated || !info.HandshakeCompleted || info.ServerCode != 4000 || info.ClientCode != 4000 {
		t.Fatalf("got %+v", info)
	}
	if err := conn.Send([]byte(`{}`)); !errors.Is(err, marketdatatest.ErrConnClosed) {
		t.Fatalf("Send on a closed conn: %v", err)
	}
}

func TestSetSilent(t *testing.T) {
	const beat = 20 * time.Millisecond
	srv := newServer(t, marketdatatest.WithHeartbeat(beat))
	c := dial(t, srv.StockURL())
	c.auth("k")
	c.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}`)
	c.expect("subscribed")
	c.expect("heartbeat")
	srv.SetSilent(true)
	// A heartbeat may already be on its way; after it, nothing.
	c.send(`{"event":"ping"}`)
	if n := srv.Publish("trades", "2330", []byte(`{}`)); n != 0 {
		t.Fatalf("published to %d while silent", n)
	}
	conn := srv.Conns()[0]
	if err := srv.Wait(ctxT(t), func() bool { return len(conn.Frames()) == 3 }); err != nil {
		t.Fatal(err)
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * beat))
	for {
		_, raw, err := c.ws.ReadMessage()
		if err != nil {
			break
		}
		if !strings.Contains(string(raw), "heartbeat") {
			t.Fatalf("got %s while silent", raw)
		}
	}

	// Close frames go unanswered too, and TCP stays open.
	s2 := newServer(t, marketdatatest.WithHeartbeat(beat))
	d := dial(t, s2.StockURL())
	d.auth("k")
	s2.SetSilent(true)
	if err := d.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	d.expectSilenceAfterHeartbeats(5 * beat)
	conn2 := s2.Conns()[0]
	if info := conn2.CloseInfo(); !info.ClientSentClose || info.ServerSentClose {
		t.Fatalf("got %+v", info)
	}
	select {
	case <-conn2.Done():
		t.Fatal("silent server closed TCP")
	default:
	}
	s2.SetSilent(false)
	d.ws.NetConn().Close()
	if info := waitDone(t, conn2); info.HandshakeCompleted || info.Abrupt {
		t.Fatalf("got %+v", info)
	}
}

// expectSilenceAfterHeartbeats tolerates heartbeats already in flight when
// the server turned silent, then expects nothing for d.
func (c *client) expectSilenceAfterHeartbeats(d time.Duration) {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(d))
	for {
		_, raw, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.t.Fatalf("got close %v while silent", err)
			}
			return
		}
		if !strings.Contains(string(raw), "heartbeat") {
			c.t.Fatalf("got %s while silent", raw)
		}
	}
}

func TestSilentNoHeartbeatFromStart(t *testing.T) {
	srv := newServer(t, marketdatatest.WithHeartbeat(10*time.Millisecond))
	srv.SetSilent(true)
	c := dial(t, srv.StockURL())
	c.send(`{"event":"auth","data":{"apikey":"k"}}`)
	c.expectSilence(60 * time.Millisecond)
	if err := srv.WaitForAuthenticated(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	srv.SetSilent(false)
	c2 := dial(t, srv.StockURL())
	c2.auth("k")
	c2.expect("heartbeat")
}

func TestSetIgnoreClose(t *testing.T) {
	srv := newServer(t)
	srv.SetIgnoreClose(true)
	c := dial(t, srv.StockURL())
	c.auth("k")
	if err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "done"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	c.expectSilence(100 * time.Millisecond)
	conn := srv.Conns()[0]
	if info := conn.CloseInfo(); !info.ClientSentClose || info.ClientCode != 1000 || info.ServerSentClose {
		t.Fatalf("got %+v", info)
	}
	c.ws.NetConn().Close()
	if info := waitDone(t, conn); info.HandshakeCompleted || info.Abrupt || info.ServerInitiated {
		t.Fatalf("got %+v", info)
	}
}

func TestRejectHandshake(t *testing.T) {
	srv := newServer(t)
	for _, status := range []int{401, 403, 503} {
		srv.RejectHandshake(status)
		_, resp, err := websocket.DefaultDialer.Dial(srv.StockURL(), nil)
		if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != status {
			t.Fatalf("got %v, %v; want %d", resp, err, status)
		}
		resp.Body.Close()
	}
	srv.RejectHandshake(0)
	dial(t, srv.StockURL()).auth("k")
	if n := srv.UpgradeRequests(); n != 4 {
		t.Fatalf("%d upgrade requests", n)
	}
	if n := len(srv.Conns()); n != 1 {
		t.Fatalf("%d conns", n)
	}

	// A request that is not an upgrade is answered, not hung up on.
	resp, err := http.Get("http://" + srv.Addr() + "/marketdata/v1.0/stock/streaming")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestFailAuth(t *testing.T) {
	srv := newServer(t, marketdatatest.WithAPIKey("k"))
	srv.FailAuth(1011, "Authentication service unavailable", 2)
	for range 2 {
		c := dial(t, srv.StockURL())
		c.send(`{"event":"auth","data":{"apikey":"k"}}`)
		if msg := c.expectError(1011); msg.Get("data.message").Str != "Authentication service unavailable" {
			t.Fatalf("got %s", msg.Raw)
		}
		c.expectClose(websocket.CloseInternalServerErr, "Authentication service unavailable")
	}
	dial(t, srv.StockURL()).auth("k")
}

func TestDropAfterAuth(t *testing.T) {
	srv := newServer(t)
	srv.DropAfterAuth(true)
	for range 2 {
		c := dial(t, srv.StockURL())
		c.auth("k")
		c.expectDropped()
	}
	srv.DropAfterAuth(false)
	c := dial(t, srv.StockURL())
	c.auth("k")
	c.send(`{"event":"ping"}`)
	c.expect("pong")
	if n := srv.AuthenticatedCount(); n != 3 {
		t.Fatalf("%d authenticated", n)
	}
}

func TestStopRestart(t *testing.T) {
	srv := newServer(t)
	addr := srv.Addr()
	c := dial(t, srv.StockURL())
	c.auth("k")
	srv.Stop()
	c.expectDropped()
	_, _, err := websocket.DefaultDialer.Dial(srv.StockURL(), nil)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial while stopped: %v", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Fatalf("address changed: %s, then %s", addr, srv.Addr())
	}
	d := dial(t, srv.StockURL())
	d.auth("k")
	if err := srv.Restart(); err != nil { // already running
		t.Fatal(err)
	}
	if n := len(srv.Conns()); n != 2 {
		t.Fatalf("%d conns", n)
	}
}

func TestConnFaults(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.StockURL())
	c.auth("k")
	conn := connAt(t, srv, 1)
	if n := srv.SendAll([]byte(`{"event":"data","data":{`)); n != 1 {
		t.Fatalf("sent to %d", n)
	}
	if got := string(c.readRaw()); got != `{"event":"data","data":{` {
		t.Fatalf("got %s", got)
	}
	srv.SendAllBinary([]byte{0xff})
	if mt, raw, err := c.ws.ReadMessage(); err != nil || mt != websocket.BinaryMessage || raw[0] != 0xff {
		t.Fatalf("got %d %v %v", mt, raw, err)
	}
	if err := conn.SendError(1001, "Maximum number of subscriptions reached"); err != nil {
		t.Fatal(err)
	}
	c.expectError(1001)
	if err := conn.RejectCredentials(); err != nil {
		t.Fatal(err)
	}
	if msg := c.expectError(1000); msg.Get("data.message").Str != marketdatatest.MessageInvalidCredentials {
		t.Fatalf("got %s", msg.Raw)
	}
	c.expectClose(websocket.ClosePolicyViolation, "")

	d := dial(t, srv.StockURL())
	d.auth("k")
	connAt(t, srv, 2).Drop()
	d.expectDropped()
}

func TestMaxConnections(t *testing.T) {
	srv := newServer(t, marketdatatest.WithMaxConnections(1))
	a := dial(t, srv.StockURL())
	a.auth("k")
	b := dial(t, srv.StockURL())
	b.send(`{"event":"auth","data":{"apikey":"k"}}`)
	b.expectError(1001)
	b.expectClose(1001, "Maximum number of connections reached")
}

func TestSlowConsumerIsDropped(t *testing.T) {
	srv := newServer(t, marketdatatest.WithWriteTimeout(100*time.Millisecond))
	c := dial(t, srv.StockURL())
	c.auth("k")
	c.send(`{"event":"subscribe","data":{"channel":"books","symbol":"2330"}}`)
	c.expect("subscribed")
	if err := srv.WaitForSubscribers(ctxT(t), "books", "2330", 1); err != nil {
		t.Fatal(err)
	}
	// The client reads no more; enough data fills both socket buffers.
	big := []byte(`{"symbol":"2330","pad":"` + strings.Repeat("x", 1<<20) + `"}`)
	conn := srv.Conns()[0]
	deadline := time.After(5 * time.Second)
	for done := false; !done; {
		start := time.Now()
		srv.Publish("books", "2330", big)
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Fatalf("Publish blocked for %v", d)
		}
		select {
		case <-conn.Done():
			done = true
		case <-deadline:
			t.Fatal("slow client not dropped")
		case <-time.After(5 * time.Millisecond): // pace the flood
		}
	}
	info := waitDone(t, conn)
	if !info.SlowConsumer || !info.ServerInitiated {
		t.Fatalf("got %+v", info)
	}
}
