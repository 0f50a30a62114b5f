package marketdatatest_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newServer starts a server that the test closes on cleanup, after the
// clients it dials (cleanups run last-in first-out).
func newServer(t *testing.T, opts ...marketdatatest.Option) *marketdatatest.Server {
	t.Helper()
	srv := marketdatatest.NewServer(append([]marketdatatest.Option{marketdatatest.WithLogf(t.Logf)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// client is a plain gorilla client speaking the raw protocol.
type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func dial(t *testing.T, url string) *client {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

func (c *client) send(frame string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns the next frame, failing the test after 5 s.
func (c *client) read() gjson.Result {
	c.t.Helper()
	raw := c.readRaw()
	if !gjson.ValidBytes(raw) {
		c.t.Fatalf("invalid JSON from server: %s", raw)
	}
	return gjson.ParseBytes(raw)
}

func (c *client) readRaw() []byte {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, raw, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return raw
}

// expect reads the next frame and checks its event.
func (c *client) expect(event string) gjson.Result {
	c.t.Helper()
	msg := c.read()
	if got := msg.Get("event").Str; got != event {
		c.t.Fatalf("got event %q, want %q: %s", got, event, msg.Raw)
	}
	return msg
}

func (c *client) expectError(code int) gjson.Result {
	c.t.Helper()
	msg := c.expect("error")
	if got := msg.Get("data.code").Int(); got != int64(code) {
		c.t.Fatalf("error code %d, want %d: %s", got, code, msg.Raw)
	}
	return msg
}

func (c *client) auth(key string) {
	c.t.Helper()
	c.send(`{"event":"auth","data":{"apikey":"` + key + `"}}`)
	c.expect("authenticated")
}

// readErr reads until an error and returns it; frames before it are skipped.
func (c *client) readErr(timeout time.Duration) error {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			return err
		}
	}
}

// expectClose reads until the server's close frame and checks it.
func (c *client) expectClose(code int, reason string) {
	c.t.Helper()
	err := c.readErr(5 * time.Second)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || (reason != "" && ce.Text != reason) {
		c.t.Fatalf("got %v, want close %d %q", err, code, reason)
	}
}

// expectDropped checks that the connection ended without a close frame,
// which gorilla reports as 1006.
func (c *client) expectDropped() {
	c.t.Helper()
	err := c.readErr(5 * time.Second)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseAbnormalClosure {
		c.t.Fatalf("got %v, want a connection dropped without close frame", err)
	}
}

// expectSilence checks that nothing arrives for d.
func (c *client) expectSilence(d time.Duration) {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(d))
	_, raw, err := c.ws.ReadMessage()
	var ne net.Error
	if err == nil {
		c.t.Fatalf("got %s, want silence", raw)
	}
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("got %v, want a read timeout", err)
	}
}

// connAt waits for the i-th connection (1-based) and returns it.
func connAt(t *testing.T, srv *marketdatatest.Server, i int) *marketdatatest.Conn {
	t.Helper()
	if err := srv.WaitForConns(ctxT(t), i); err != nil {
		t.Fatal(err)
	}
	return srv.Conns()[i-1]
}

func waitDone(t *testing.T, c *marketdatatest.Conn) marketdatatest.CloseInfo {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("conn %d still open", c.ID())
	}
	return c.CloseInfo()
}
