package marketdata

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/tidwall/gjson"
)

// subscribeRequestsFor counts the subscribe frames conn received that name
// symbol.
func subscribeRequestsFor(conn *marketdatatest.Conn, symbol string) int {
	n := 0
	for _, f := range conn.Frames() {
		r := gjson.ParseBytes(f)
		if r.Get("event").Str != "subscribe" {
			continue
		}
		if r.Get("data.symbol").Str == symbol {
			n++
		}
		for _, s := range r.Get("data.symbols").Array() {
			if s.Str == symbol {
				n++
			}
		}
	}
	return n
}

func activeOf(c *WebSocketClient) map[string]bool {
	m := map[string]bool{}
	for _, s := range c.Subscriptions() {
		m[s.String()] = s.Active
	}
	return m
}

func TestAckWithoutSomeSymbolsIsAnError(t *testing.T) {
	srv := newServer(t)
	srv.IgnoreSymbol("trades", "2317", true)
	c := newClient(t, srv, nil)
	connect(t, c)
	err := c.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"2330", "2317", "2454"}})
	var ue *UnconfirmedError
	if !errors.As(err, &ue) {
		t.Fatalf("Subscribe = %v, want *UnconfirmedError", err)
	}
	if len(ue.Subscriptions) != 1 || ue.Subscriptions[0].String() != "trades:2317" || !strings.Contains(err.Error(), "trades:2317") {
		t.Fatalf("unconfirmed %v, want exactly trades:2317", ue.Subscriptions)
	}
	want := map[string]bool{"trades:2330": true, "trades:2317": false, "trades:2454": true}
	if got := activeOf(c); len(got) != 3 || got["trades:2330"] != true || got["trades:2317"] != false || got["trades:2454"] != true {
		t.Fatalf("Subscriptions active = %v, want %v", got, want)
	}
}

func TestEmptyAckIsAnError(t *testing.T) {
	srv := newServer(t)
	srv.IgnoreSymbol("books", "2330", true)
	c := newClient(t, srv, nil)
	connect(t, c)
	err := c.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelBooks, Symbols: []string{"2330"}})
	var ue *UnconfirmedError
	if !errors.As(err, &ue) || len(ue.Subscriptions) != 1 {
		t.Fatalf("Subscribe = %v, want *UnconfirmedError for books:2330", err)
	}
	if got := activeOf(c); got["books:2330"] {
		t.Fatal("books:2330 reported active")
	}
}

func TestUnconfirmedKeysAreRequestedOncePerConnection(t *testing.T) {
	srv := newServer(t)
	srv.IgnoreSymbol("trades", "2317", true)
	c := newClient(t, srv, nil)
	connect(t, c)
	var ue *UnconfirmedError
	if err := c.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"2330", "2317"}}); !errors.As(err, &ue) {
		t.Fatalf("Subscribe = %v", err)
	}
	// Another Subscribe on the same connection sends its own keys only.
	subscribe(t, c, ChannelTrades, "2454")
	first := srv.Conns()[0]
	if n := subscribeRequestsFor(first, "2317"); n != 1 {
		t.Fatalf("2317 requested %d times on the first connection, want 1", n)
	}
	srv.DropAll()
	r, _ := nextEvent(t, c, func(r Resubscribed) bool { return true })
	if len(r.Unconfirmed) != 1 || r.Unconfirmed[0].String() != "trades:2317" || len(r.Restored) != 2 {
		t.Fatalf("Resubscribed %+v, want 2 restored and trades:2317 unconfirmed", r)
	}
	second := srv.Conns()[1]
	if n := subscribeRequestsFor(second, "2317"); n != 1 {
		t.Fatalf("2317 requested %d times on the second connection, want 1", n)
	}
	// The server takes it now: the next connection confirms it.
	srv.IgnoreSymbol("trades", "2317", false)
	srv.DropAll()
	nextEvent(t, c, func(r Resubscribed) bool { return len(r.Restored) == 3 && len(r.Unconfirmed) == 0 })
	if !activeOf(c)["trades:2317"] {
		t.Fatal("2317 not active after the server confirmed it")
	}
}

func TestLateAckConfirms(t *testing.T) {
	srv := newServer(t)
	srv.IgnoreSymbol("trades", "2317", true)
	c := newClient(t, srv, nil)
	connect(t, c)
	var ue *UnconfirmedError
	if err := c.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"2330", "2317"}}); !errors.As(err, &ue) {
		t.Fatalf("Subscribe = %v", err)
	}
	if err := srv.Conns()[0].Send([]byte(`{"event":"subscribed","data":{"id":"late-1","channel":"trades","symbol":"2317"}}`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the late ack to confirm 2317", func() bool { return activeOf(c)["trades:2317"] })
	for _, s := range c.Subscriptions() {
		if s.Symbol == "2317" && s.ID != "late-1" {
			t.Fatalf("id %q, want the late ack's", s.ID)
		}
	}
	for _, e := range eventsSoFar(c) {
		if u, ok := e.(Unknown); ok {
			t.Fatalf("the late ack was passed on as %v", u)
		}
	}
}
