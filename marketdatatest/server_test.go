package marketdatatest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/gorilla/websocket"
)

func TestURLs(t *testing.T) {
	srv := newServer(t)
	base := "ws://" + srv.Addr() + "/marketdata"
	if srv.URL() != base || !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Fatalf("URL %q, Addr %q", srv.URL(), srv.Addr())
	}
	for _, u := range []string{srv.StockURL(), srv.FutOptURL(), srv.FutOptV11URL()} {
		dial(t, u)
	}
	want := []string{"/marketdata/v1.0/stock/streaming", "/marketdata/v1.0/futopt/streaming", "/marketdata/v1.1/futopt/streaming"}
	for i, p := range want {
		if got := connAt(t, srv, i+1).Path(); got != p {
			t.Errorf("conn %d path %q, want %q", i+1, got, p)
		}
	}
	for _, p := range []string{"/marketdata", "/marketdata/v1.1/stock/streaming", "/marketdata/v1.0/stock/streaming/x", "/"} {
		_, resp, err := websocket.DefaultDialer.Dial("ws://"+srv.Addr()+p, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: got %v, %v; want 404", p, resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
}

func TestAuth(t *testing.T) {
	creds := []marketdatatest.Option{
		marketdatatest.WithAPIKey("key1", "key2"),
		marketdatatest.WithToken("tok"),
		marketdatatest.WithSDKToken("sdk"),
	}
	tests := []struct {
		name string
		opts []marketdatatest.Option
		data string
		want int // 0 authenticated, else the error code
	}{
		{"apikey", creds, `{"apikey":"key2"}`, 0},
		{"token", creds, `{"token":"tok"}`, 0},
		{"sdkToken", creds, `{"sdkToken":"sdk"}`, 0},
		{"wrong apikey", creds, `{"apikey":"nope"}`, 1000},
		{"wrong token", creds, `{"token":"key1"}`, 1000},
		{"wrong sdkToken", creds, `{"sdkToken":"tok"}`, 1000},
		{"kind not configured", creds[:1], `{"token":"key1"}`, 1000},
		{"any when unconfigured", nil, `{"sdkToken":"whatever"}`, 0},
		{"no credential", nil, `{}`, 1003},
		{"empty credential", nil, `{"apikey":""}`, 1003},
		{"two credentials", nil, `{"apikey":"a","token":"b"}`, 1003},
		{"field names are case-sensitive", nil, `{"apiKey":"a"}`, 1003},
		{"no data", nil, ``, 1003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.opts...)
			c := dial(t, srv.StockURL())
			if tt.data == "" {
				c.send(`{"event":"auth"}`)
			} else {
				c.send(`{"event":"auth","data":` + tt.data + `}`)
			}
			if tt.want == 0 {
				msg := c.expect("authenticated")
				if msg.Get("data.message").Str != "Authenticated successfully" {
					t.Fatalf("got %s", msg.Raw)
				}
				if err := srv.WaitForAuthenticated(ctxT(t), 1); err != nil {
					t.Fatal(err)
				}
				if !srv.Conns()[0].Authenticated() {
					t.Fatal("conn not authenticated")
				}
				return
			}
			msg := c.expectError(tt.want)
			if tt.want == 1000 {
				if msg.Get("data.message").Str != "Invalid authentication credentials" {
					t.Fatalf("got %s", msg.Raw)
				}
				c.expectClose(websocket.ClosePolicyViolation, "Invalid authentication credentials")
				info := waitDone(t, srv.Conns()[0])
				if !info.ServerInitiated || !info.HandshakeCompleted || info.ServerCode != 1008 {
					t.Fatalf("close info %+v", info)
				}
				return
			}
			// A malformed auth leaves the connection open for another try.
			c.auth("k")
		})
	}
}

func TestErrorShapes(t *testing.T) {
	tests := []struct {
		shape marketdatatest.ErrorShape
		want  string
	}{
		{marketdatatest.ErrorCodeInData, `{"event":"error","data":{"code":1000,"message":"Invalid authentication credentials"}}`},
		{marketdatatest.ErrorCodeTopLevel, `{"event":"error","code":1000,"data":{"message":"Invalid authentication credentials"}}`},
		{marketdatatest.ErrorNoCode, `{"event":"error","data":{"message":"Invalid authentication credentials"}}`},
		{marketdatatest.ErrorMessageTopLevel, `{"event":"error","message":"Invalid authentication credentials"}`},
	}
	for _, tt := range tests {
		t.Run(tt.shape.String(), func(t *testing.T) {
			srv := newServer(t, marketdatatest.WithAPIKey("k"), marketdatatest.WithErrorShape(tt.shape))
			c := dial(t, srv.StockURL())
			c.send(`{"event":"auth","data":{"apikey":"bad"}}`)
			if got := string(c.readRaw()); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			c.expectClose(websocket.ClosePolicyViolation, "")
		})
	}
}

func TestCommandsBeforeAuth(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.StockURL())
	for _, f := range []string{
		`{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}`,
		`{"event":"ping"}`,
		`{"event":"subscriptions"}`,
	} {
		c.send(f)
		c.expectError(1002)
	}
	c.auth("k")
}

func TestAuthTimeout(t *testing.T) {
	srv := newServer(t, marketdatatest.WithAuthTimeout(50*time.Millisecond))
	c := dial(t, srv.StockURL())
	c.expectError(1004)
	c.expectClose(websocket.CloseGoingAway, "")
	info := waitDone(t, srv.Conns()[0])
	if !info.ServerInitiated || info.ServerCode != 1001 {
		t.Fatalf("close info %+v", info)
	}
}

func TestInvalidFrames(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.StockURL())
	c.send(`{"event":`)
	c.expectError(1003)
	c.send(`[1,2]`)
	c.expectError(1003)
	c.auth("k")
	c.send(`{"event":"dance"}`)
	c.expectError(1003)
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	c.expectError(1003)
	frames := srv.Conns()[0].Frames()
	if len(frames) != 5 || string(frames[0]) != `{"event":` || string(frames[4]) != "\x01\x02" {
		t.Fatalf("frames %q", frames)
	}
}

func TestSubscribe(t *testing.T) {
	srv := newServer(t, marketdatatest.WithAlias("TXF1", "TXFG4"))
	c := dial(t, srv.StockURL())
	c.auth("k")

	c.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}`)
	one := c.expect("subscribed").Get("data")
	if !one.IsObject() || one.Get("channel").Str != "trades" || one.Get("symbol").Str != "2330" || one.Get("id").Str == "" {
		t.Fatalf("ack %s", one.Raw)
	}
	if one.Get("intradayOddLot").Exists() {
		t.Fatalf("modifier echoed although not requested: %s", one.Raw)
	}

	c.send(`{"event":"subscribe","data":{"channel":"books","symbols":["2330","2317"],"intradayOddLot":true}}`)
	many := c.expect("subscribed").Get("data").Array()
	if len(many) != 2 || many[1].Get("symbol").Str != "2317" || !many[0].Get("intradayOddLot").Bool() || many[0].Get("id").Str == many[1].Get("id").Str {
		t.Fatalf("ack %v", many)
	}

	c.send(`{"event":"subscribe","data":{"channel":"indices","symbols":["IR0001"]}}`)
	if arr := c.expect("subscribed").Get("data"); !arr.IsArray() || len(arr.Array()) != 1 {
		t.Fatalf("a symbols request must be acked with an array: %s", arr.Raw)
	}

	// Subscribing again returns the same id and adds nothing.
	c.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}`)
	if again := c.expect("subscribed").Get("data.id").Str; again != one.Get("id").Str {
		t.Fatalf("id %q, then %q", one.Get("id").Str, again)
	}
	subs := srv.Conns()[0].Subscriptions()
	if len(subs) != 4 || subs[0] != (marketdatatest.Subscription{ID: one.Get("id").Str, Channel: "trades", Symbol: "2330"}) || !subs[1].IntradayOddLot {
		t.Fatalf("subscriptions %+v", subs)
	}

	// An alias and its contract share one id on the futopt path.
	f := dial(t, srv.FutOptV11URL())
	f.auth("k")
	f.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"TXF1","afterHours":true}}`)
	alias := f.expect("subscribed").Get("data")
	f.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"TXFG4","afterHours":true}}`)
	contract := f.expect("subscribed").Get("data")
	if alias.Get("id").Str != contract.Get("id").Str || !alias.Get("afterHours").Bool() || contract.Get("symbol").Str != "TXFG4" {
		t.Fatalf("alias %s, contract %s", alias.Raw, contract.Raw)
	}
	f.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"TXFG4"}}`)
	if day := f.expect("subscribed").Get("data.id").Str; day == alias.Get("id").Str {
		t.Fatal("different modifiers must get a different id")
	}
	if n := srv.Subscribers("trades", "TXFG4"); n != 1 {
		t.Fatalf("%d subscribers to TXFG4", n)
	}
}

func TestSubscribeValidation(t *testing.T) {
	srv := newServer(t, marketdatatest.WithMaxSubscriptions(3))
	srv.RejectSymbol("trades", "9999", 1003, "Invalid symbol: 9999")
	c := dial(t, srv.StockURL())
	c.auth("k")
	for _, f := range []string{
		`{"event":"subscribe","data":{"channel":"news","symbol":"2330"}}`,
		`{"event":"subscribe","data":{"symbol":"2330"}}`,
		`{"event":"subscribe","data":{"channel":"trades"}}`,
		`{"event":"subscribe","data":{"channel":"trades","symbol":"2330","symbols":["2317"]}}`,
		`{"event":"subscribe","data":{"channel":"trades","symbols":[]}}`,
		`{"event":"subscribe","data":{"channel":"trades","symbol":""}}`,
		`{"event":"subscribe","data":{"channel":"trades","symbol":"2330","intradayOddLot":"yes"}}`,
		`{"event":"subscribe"}`,
	} {
		c.send(f)
		c.expectError(1003)
	}
	c.send(`{"event":"subscribe","data":{"channel":"trades","symbols":["2330","9999"]}}`)
	if msg := c.expectError(1003); msg.Get("data.message").Str != "Invalid symbol: 9999" {
		t.Fatalf("got %s", msg.Raw)
	}
	if n := len(srv.Conns()[0].Subscriptions()); n != 0 {
		t.Fatalf("a failed request subscribed %d symbols", n)
	}
	c.send(`{"event":"subscribe","data":{"channel":"trades","symbols":["1","2","3","4"]}}`)
	c.expectError(1001)
	c.send(`{"event":"subscribe","data":{"channel":"trades","symbols":["1","2","3"]}}`)
	c.expect("subscribed")
	c.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"1"}}`)
	c.expect("subscribed") // an existing subscription is not a new one
	c.send(`{"event":"subscribe","data":{"channel":"books","symbol":"1"}}`)
	c.expectError(1001)

	f := dial(t, srv.FutOptURL())
	f.auth("k")
	f.send(`{"event":"subscribe","data":{"channel":"indices","symbol":"IR0001"}}`)
	f.expectError(1003)
	f.send(`{"event":"subscribe","data":{"channel":"books","symbol":"MXFA6/C6"}}`)
	f.expect("subscribed")
}

func TestUnsubscribe(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.StockURL())
	c.auth("k")
	c.send(`{"event":"subscribe","data":{"channel":"trades","symbols":["2330","2317","2454"],"intradayOddLot":true}}`)
	acks := c.expect("subscribed").Get("data").Array()
	id0, id1, id2 := acks[0].Get("id").Str, acks[1].Get("id").Str, acks[2].Get("id").Str

	c.send(`{"event":"unsubscribe","data":{"id":"` + id0 + `"}}`)
	one := c.expect("unsubscribed").Get("data")
	if one.Get("id").Str != id0 || one.Get("symbol").Str != "2330" || !one.Get("intradayOddLot").Bool() {
		t.Fatalf("ack %s", one.Raw)
	}
	c.send(`{"event":"unsubscribe","data":{"id":"` + id0 + `"}}`)
	c.expectError(1003)
	c.send(`{"event":"unsubscribe","data":{"ids":["` + id1 + `","nope"]}}`)
	c.expectError(1003)
	c.send(`{"event":"unsubscribe","data":{"ids":["` + id1 + `","` + id2 + `"]}}`)
	if many := c.expect("unsubscribed").Get("data").Array(); len(many) != 2 || many[1].Get("id").Str != id2 {
		t.Fatalf("ack %v", many)
	}
	if subs := srv.Conns()[0].Subscriptions(); len(subs) != 0 {
		t.Fatalf("left %+v", subs)
	}
	c.send(`{"event":"unsubscribe","data":{}}`)
	c.expectError(1003)
}

func TestSubscriptionsEvent(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.StockURL())
	c.auth("k")
	c.send(`{"event":"subscribe","data":{"channel":"candles","symbol":"2330"}}`)
	id := c.expect("subscribed").Get("data.id").Str
	c.send(`{"event":"subscriptions"}`)
	data := c.expect("subscriptions").Get("data").Array()
	if len(data) != 1 || data[0].Get("id").Str != id || data[0].Get("channel").Str != "candles" {
		t.Fatalf("got %v", data)
	}
}

func TestPingPong(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.StockURL())
	c.auth("k")
	before := time.Now().UnixMicro()
	c.send(`{"event":"ping","data":{"state":{"n":[1,"x"],"ok":true}}}`)
	pong := c.expect("pong")
	if pong.Get("data.state").Raw != `{"n":[1,"x"],"ok":true}` {
		t.Fatalf("state not echoed: %s", pong.Raw)
	}
	if tm := pong.Get("data.time"); tm.Type.String() != "Number" || tm.Int() < before || tm.Int() > time.Now().UnixMicro() {
		t.Fatalf("time %s", tm.Raw)
	}
	c.send(`{"event":"ping"}`)
	if pong := c.expect("pong"); pong.Get("data.state").Exists() {
		t.Fatalf("state without one in ping: %s", pong.Raw)
	}
	c.send(`{"event":"ping","data":{"state":"abc"}}`)
	if pong := c.expect("pong"); pong.Get("data.state").Str != "abc" {
		t.Fatalf("got %s", pong.Raw)
	}
}

func TestHeartbeat(t *testing.T) {
	for _, asString := range []bool{false, true} {
		t.Run(fmt.Sprint("string=", asString), func(t *testing.T) {
			srv := newServer(t, marketdatatest.WithHeartbeat(20*time.Millisecond), marketdatatest.WithStringTimes(asString))
			c := dial(t, srv.StockURL())
			c.auth("k")
			for range 3 {
				tm := c.expect("heartbeat").Get("data.time")
				if (tm.Type.String() == "String") != asString || tm.Int() < time.Now().Add(-time.Minute).UnixMicro() {
					t.Fatalf("time %s", tm.Raw)
				}
			}
			c.send(`{"event":"ping"}`)
			for {
				msg := c.read()
				if msg.Get("event").Str == "pong" {
					if (msg.Get("data.time").Type.String() == "String") != asString {
						t.Fatalf("pong time %s", msg.Raw)
					}
					break
				}
			}
		})
	}
}

func TestPublish(t *testing.T) {
	srv := newServer(t)
	a, b, idle := dial(t, srv.StockURL()), dial(t, srv.StockURL()), dial(t, srv.StockURL())
	for _, c := range []*client{a, b, idle} {
		c.auth("k")
	}
	a.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}`)
	idA := a.expect("subscribed").Get("data.id").Str
	b.send(`{"event":"subscribe","data":{"channel":"trades","symbols":["2317","2330"]}}`)
	idB := b.expect("subscribed").Get("data.1.id").Str
	idle.send(`{"event":"subscribe","data":{"channel":"books","symbol":"2330"}}`)
	idle.expect("subscribed")
	if err := srv.WaitForSubscribers(ctxT(t), "trades", "2330", 2); err != nil {
		t.Fatal(err)
	}

	payload := marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 1005.5, Size: 3, Serial: 7, Time: time.UnixMicro(1685338200000000)})
	if n := srv.PublishSnapshot("trades", "2330", payload); n != 2 {
		t.Fatalf("snapshot sent to %d", n)
	}
	const count = 500
	for i := range count {
		if n := srv.Publish("trades", "2330", []byte(fmt.Sprintf(`{"symbol":"2330","serial":%d}`, i))); n != 2 {
			t.Fatalf("sent to %d", n)
		}
	}
	for _, tc := range []struct {
		c  *client
		id string
	}{{a, idA}, {b, idB}} {
		snap := tc.c.readRaw()
		if want := string(marketdatatest.SnapshotFrame("trades", tc.id, payload)); string(snap) != want {
			t.Fatalf("got  %s\nwant %s", snap, want)
		}
		for i := range count {
			msg := tc.c.expect("data")
			if msg.Get("id").Str != tc.id || msg.Get("channel").Str != "trades" || msg.Get("data.serial").Int() != int64(i) {
				t.Fatalf("frame %d: %s", i, msg.Raw)
			}
		}
	}
	if n := srv.Publish("trades", "2454", []byte(`{}`)); n != 0 {
		t.Fatalf("published to %d without subscribers", n)
	}
	idle.send(`{"event":"ping"}`)
	idle.expect("pong") // nothing published to it came first

	frame := marketdatatest.DataFrame("trades", idA, []byte(`{"symbol":"2330"}`))
	if n := srv.PublishRaw("trades", "2330", frame); n != 2 {
		t.Fatalf("raw sent to %d", n)
	}
	if got := a.readRaw(); string(got) != string(frame) {
		t.Fatalf("got %s", got)
	}
}

func TestPublishAlias(t *testing.T) {
	srv := newServer(t, marketdatatest.WithAlias("TXF1", "TXFG4"))
	c := dial(t, srv.FutOptURL())
	c.auth("k")
	c.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"TXF1"}}`)
	id := c.expect("subscribed").Get("data.id").Str
	c.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"TXFG4"}}`)
	c.expect("subscribed")
	if err := srv.WaitForSubscribers(ctxT(t), "trades", "TXF1", 1); err != nil {
		t.Fatal(err)
	}
	if n := srv.Publish("trades", "TXFG4", []byte(`{"symbol":"TXFG4"}`)); n != 1 {
		t.Fatalf("sent to %d", n)
	}
	if msg := c.expect("data"); msg.Get("id").Str != id {
		t.Fatalf("got %s", msg.Raw)
	}
	c.send(`{"event":"ping"}`)
	c.expect("pong") // one frame for the shared id, not two
}

func TestWait(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := srv.WaitForConns(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	c := dial(t, srv.StockURL())
	c.send(`{"event":"auth","data":{"apikey":"k"}}`)
	conn := connAt(t, srv, 1)
	err := srv.Wait(ctxT(t), func() bool { return len(conn.Frames()) == 1 })
	if err != nil {
		t.Fatal(err)
	}

	closed := marketdatatest.NewServer()
	closed.Close()
	if err := closed.Wait(ctxT(t), func() bool { return false }); !errors.Is(err, marketdatatest.ErrServerClosed) {
		t.Fatalf("got %v", err)
	}
	closed.Close() // idempotent
}
