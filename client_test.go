package marketdata

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/tidwall/gjson"
)

func TestOptionValidation(t *testing.T) {
	t.Setenv(APIKeyEnv, "")
	cases := map[string]WebSocketClientOption{
		"no credential":   {},
		"two credentials": {APIKey: "a", BearerToken: "b"},
		"http endpoint":   {APIKey: "a", Endpoint: "http://127.0.0.1/x"},
		"no host":         {APIKey: "a", Endpoint: "ws:///x"},
		"negative buffer": {APIKey: "a", BufferSize: -1},
		"bad policy":      {APIKey: "a", DropPolicy: DropPolicy(9)},
	}
	for name, opt := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := NewWebSocketClient(opt)
			if !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("err = %v, want ErrInvalidOption", err)
			}
		})
	}
}

func TestAPIKeyFromEnvironment(t *testing.T) {
	srv := newServer(t)
	t.Setenv(APIKeyEnv, testKey)
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.APIKey = "" })
	connect(t, c)
	if got := gjson.GetBytes(srv.Conns()[0].Frames()[0], "data.apikey").String(); got != testKey {
		t.Fatalf("auth frame apikey = %q", got)
	}
}

func TestConnectEachCredential(t *testing.T) {
	cases := []struct {
		name  string
		srv   marketdatatest.Option
		set   func(*WebSocketClientOption)
		field string
	}{
		{"apikey", marketdatatest.WithAPIKey("k1"), func(o *WebSocketClientOption) { o.APIKey = "k1" }, "apikey"},
		{"token", marketdatatest.WithToken("t1"), func(o *WebSocketClientOption) { o.APIKey, o.BearerToken = "", "t1" }, "token"},
		{"sdkToken", marketdatatest.WithSDKToken("s1"), func(o *WebSocketClientOption) { o.APIKey, o.SDKToken = "", "s1" }, "sdkToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := marketdatatest.NewServer(tc.srv)
			defer srv.Close()
			c := newClient(t, srv, tc.set)
			connect(t, c)
			if c.State() != StateConnected {
				t.Fatalf("state = %v", c.State())
			}
			auth := srv.Conns()[0].Frames()[0]
			if gjson.GetBytes(auth, "event").String() != "auth" || !gjson.GetBytes(auth, "data."+tc.field).Exists() {
				t.Fatalf("auth frame = %s", auth)
			}
			if n := len(gjson.GetBytes(auth, "data").Map()); n != 1 {
				t.Fatalf("auth frame carries %d credentials: %s", n, auth)
			}
			_, seen := nextEvent[Authenticated](t, c, nil)
			if _, ok := seen[0].(Connected); !ok {
				t.Fatalf("first event = %v, want Connected", seen[0])
			}
		})
	}
}

func TestConnectRejectedEveryErrorShape(t *testing.T) {
	shapes := map[string]marketdatatest.ErrorShape{
		"code in data":      marketdatatest.ErrorCodeInData,
		"code at top level": marketdatatest.ErrorCodeTopLevel,
		"no code":           marketdatatest.ErrorNoCode,
		"message top level": marketdatatest.ErrorMessageTopLevel,
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, marketdatatest.WithErrorShape(shape))
			c := newClient(t, srv, func(o *WebSocketClientOption) { o.APIKey = "wrong-key" })
			err := c.Connect(testCtx(t))
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
			var se *ServerError
			if !errors.As(err, &se) || se.Message != "Invalid authentication credentials" {
				t.Fatalf("err = %#v, want a *ServerError with the server's message", err)
			}
			if strings.Contains(err.Error(), "wrong-key") {
				t.Fatalf("error reveals the key: %v", err)
			}
			if n := len(srv.Conns()); n != 1 {
				t.Fatalf("%d connections, want exactly one attempt", n)
			}
			if c.State() != StateIdle {
				t.Fatalf("state after failed Connect = %v", c.State())
			}
		})
	}
}

func TestSecondConnectOpensNothing(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	if err := c.Connect(testCtx(t)); !errors.Is(err, ErrAlreadyConnected) {
		t.Fatalf("second Connect = %v, want ErrAlreadyConnected", err)
	}
	if n := len(srv.Conns()); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestSubscribeShapesAndModifiers(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	ctx := testCtx(t)

	reqs := []SubscribeRequest{
		{Channel: ChannelTrades, Symbols: []string{"2330"}},
		{Channel: ChannelBooks, Symbols: []string{"2330", "2317"}},
		{Channel: ChannelTrades, Symbols: []string{"2330"}, IntradayOddLot: true},
		{Channel: ChannelCandles, Symbols: []string{"TXFA6", "MXFA6/C6"}, AfterHours: true},
	}
	for _, r := range reqs {
		if err := c.Subscribe(ctx, r); err != nil {
			t.Fatalf("Subscribe %+v: %v", r, err)
		}
	}
	frames := srv.Conns()[0].Frames()
	var subs []gjson.Result
	for _, f := range frames {
		if gjson.GetBytes(f, "event").String() == "subscribe" {
			subs = append(subs, gjson.GetBytes(f, "data"))
		}
	}
	if len(subs) != 4 {
		t.Fatalf("%d subscribe frames, want 4 (one per request)", len(subs))
	}
	if subs[0].Get("symbol").String() != "2330" || subs[0].Get("symbols").Exists() {
		t.Errorf("one symbol sent as %s, want \"symbol\"", subs[0].Raw)
	}
	if len(subs[1].Get("symbols").Array()) != 2 || subs[1].Get("symbol").Exists() {
		t.Errorf("two symbols sent as %s, want \"symbols\"", subs[1].Raw)
	}
	if !subs[2].Get("intradayOddLot").Bool() || subs[2].Get("afterHours").Exists() {
		t.Errorf("odd-lot request = %s", subs[2].Raw)
	}
	if !subs[3].Get("afterHours").Bool() || subs[3].Get("intradayOddLot").Exists() {
		t.Errorf("after-hours request = %s", subs[3].Raw)
	}
	if subs[0].Get("intradayOddLot").Exists() || subs[0].Get("afterHours").Exists() {
		t.Errorf("modifiers sent when false: %s", subs[0].Raw)
	}

	got := c.Subscriptions()
	if len(got) != 6 {
		t.Fatalf("Subscriptions() = %v, want 6", got)
	}
	server := map[string]string{}
	for _, s := range srv.Conns()[0].Subscriptions() {
		server[fmt.Sprintf("%s:%s:%t:%t", s.Channel, s.Symbol, s.IntradayOddLot, s.AfterHours)] = s.ID
	}
	for _, s := range got {
		id, ok := server[fmt.Sprintf("%s:%s:%t:%t", s.Channel, s.Symbol, s.IntradayOddLot, s.AfterHours)]
		if !ok || !s.Active || s.ID != id {
			t.Errorf("client has %+v; server id %q (present %t)", s, id, ok)
		}
	}
}

func TestSubscribeRejectedByServer(t *testing.T) {
	srv := newServer(t)
	srv.RejectSymbol("trades", "9999", 1003, "Invalid symbol")
	c := newClient(t, srv, nil)
	connect(t, c)
	err := c.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"9999"}})
	var se *ServerError
	if !errors.As(err, &se) || se.Code != 1003 {
		t.Fatalf("err = %v, want *ServerError 1003", err)
	}
	if subs := c.Subscriptions(); len(subs) != 0 {
		t.Fatalf("a refused subscription is still wanted: %v", subs)
	}
	// The connection is still usable.
	subscribe(t, c, ChannelTrades, "2330")
}

func TestSubscribeManyWithOneRefused(t *testing.T) {
	srv := newServer(t)
	srv.RejectSymbol("books", "9999", 1003, "Invalid symbol")
	c := newClient(t, srv, nil)
	connect(t, c)
	err := c.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelBooks, Symbols: []string{"2330", "9999", "2317"}})
	var se *ServerError
	if !errors.As(err, &se) || se.Code != 1003 {
		t.Fatalf("err = %v, want the server's 1003", err)
	}
	got := c.Subscriptions()
	if len(got) != 2 || got[0].Symbol != "2317" || got[1].Symbol != "2330" || !got[0].Active || !got[1].Active {
		t.Fatalf("Subscriptions() = %v, want the two valid symbols active", got)
	}
	if subs := serverSubs(srv.Conns()[0]); !equalStrings(subs, []string{"books:2317", "books:2330"}) {
		t.Fatalf("server holds %v", subs)
	}
}

func TestSubscribeInvalidRequest(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	for _, r := range []SubscribeRequest{{Symbols: []string{"2330"}}, {Channel: ChannelTrades}, {Channel: ChannelTrades, Symbols: []string{" "}}} {
		if err := c.Subscribe(testCtx(t), r); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("Subscribe(%+v) = %v, want ErrInvalidRequest", r, err)
		}
	}
}

func TestUnsubscribeSharedIDs(t *testing.T) {
	srv := newServer(t, marketdatatest.WithAlias("TXF1", "TXFA6"))
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.Endpoint = srv.FutOptURL() })
	connect(t, c)
	ctx := testCtx(t)
	subscribe(t, c, ChannelTrades, "TXF1")
	subscribe(t, c, ChannelTrades, "TXFA6")
	subscribe(t, c, ChannelBooks, "TXFA6")
	subs := c.Subscriptions()
	if subs[1].ID != subs[2].ID || subs[1].ID == "" {
		t.Fatalf("alias and contract should share one id: %v", subs)
	}
	unsubFrames := func() []string {
		var out []string
		for _, f := range srv.Conns()[0].Frames() {
			if gjson.GetBytes(f, "event").String() == "unsubscribe" {
				out = append(out, gjson.GetBytes(f, "data").Raw)
			}
		}
		return out
	}

	// The alias goes, the contract stays: the shared id must not be sent.
	if err := c.Unsubscribe(ctx, SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"TXF1"}}); err != nil {
		t.Fatalf("Unsubscribe alias: %v", err)
	}
	if f := unsubFrames(); len(f) != 0 {
		t.Fatalf("unsubscribed a shared id still wanted: %v", f)
	}
	if n := srv.Publish("trades", "TXFA6", []byte(`{"symbol":"TXFA6","type":"FUTURE","exchange":"TAIFEX","trades":[{"price":1,"size":1}],"time":1,"serial":1}`)); n != 1 {
		t.Fatalf("contract no longer subscribed on the server (published to %d)", n)
	}
	if v := receive(t, c.Trades()); v.Symbol != "TXFA6" {
		t.Fatalf("trade for %q", v.Symbol)
	}

	// Both sides of a shared id in one call: one id, sent once.
	subscribe(t, c, ChannelTrades, "TXF1")
	if err := c.Unsubscribe(ctx, SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"TXF1", "TXFA6"}}); err != nil {
		t.Fatalf("Unsubscribe both: %v", err)
	}
	f := unsubFrames()
	if len(f) != 1 || gjson.Get(f[0], "id").String() != subs[1].ID {
		t.Fatalf("unsubscribe frames = %v, want one with id %s", f, subs[1].ID)
	}
	if got := c.Subscriptions(); len(got) != 1 || got[0].Channel != ChannelBooks {
		t.Fatalf("Subscriptions() = %v, want only books", got)
	}
	if err := c.Unsubscribe(ctx, SubscribeRequest{Channel: ChannelTrades, Symbols: []string{"TXFA6"}}); !errors.Is(err, ErrNotSubscribed) {
		t.Fatalf("Unsubscribe of nothing = %v, want ErrNotSubscribed", err)
	}
}

// Samples from the protocol, one per channel.
const (
	sampleStockTrade = `{"symbol":"2330","type":"EQUITY","exchange":"TWSE","market":"TSE","bid":567,"ask":568,"price":568,"size":4778,"volume":54538,"isClose":true,"time":1685338200000000,"serial":6652422}`
	sampleCandle     = `{"symbol":"2330","type":"EQUITY","exchange":"TWSE","market":"TSE","date":"2023-05-29T13:30:00.000+08:00","open":568,"high":568,"low":568,"close":568,"volume":4778,"average":568.77}`
	sampleBook       = `{"symbol":"2330","type":"EQUITY","exchange":"TWSE","market":"TSE","bids":[{"price":567,"size":87},{"price":566,"size":2454},{"price":565,"size":611},{"price":564,"size":609},{"price":563,"size":636}],"asks":[{"price":568,"size":800},{"price":569,"size":806},{"price":570,"size":3643},{"price":571,"size":1041},{"price":572,"size":2052}],"time":1685338200000000}`
	sampleAggregate  = `{"date":"2023-05-29","type":"EQUITY","exchange":"TWSE","market":"TSE","symbol":"2330","name":"台積電","referencePrice":566,"previousClose":566,"openPrice":574,"openTime":1685322000049353,"highPrice":574,"highTime":1685322000049353,"lowPrice":564,"lowTime":1685327142152580,"closePrice":568,"closeTime":1685338200000000,"avgPrice":568.77,"change":2,"changePercent":0.35,"amplitude":1.77,"lastPrice":568,"lastSize":4778,"bids":[{"price":567,"size":87}],"asks":[{"price":568,"size":800}],"total":{"tradeValue":31019803000,"tradeVolume":54538,"tradeVolumeAtBid":19853,"tradeVolumeAtAsk":27900,"transaction":9530,"time":1685338200000000},"lastTrade":{"bid":567,"ask":568,"price":568,"size":4778,"time":1685338200000000,"serial":6652422},"isClose":true,"serial":6652422,"lastUpdated":1685338200000000}`
	sampleIndex      = `{"symbol":"IR0001","type":"INDEX","exchange":"TWSE","index":35276.44,"time":1686114510000000}`
)

func TestTypedChannels(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	subscribe(t, c, ChannelCandles, "2330")
	subscribe(t, c, ChannelBooks, "2330")
	subscribe(t, c, ChannelAggregates, "2330")
	subscribe(t, c, ChannelIndices, "IR0001")
	ids := map[string]string{}
	for _, s := range c.Subscriptions() {
		ids[string(s.Channel)] = s.ID
	}

	srv.Publish("trades", "2330", []byte(sampleStockTrade))
	tr := receive(t, c.Trades())
	if tr.Symbol != "2330" || tr.Price != 568 || tr.Size != 4778 || tr.Volume != 54538 || !tr.IsClose || tr.Serial != 6652422 ||
		tr.Time.Time() != time.UnixMicro(1685338200000000) || tr.ID != ids["trades"] || tr.Conn != 1 || tr.Snapshot {
		t.Errorf("trade = %+v", tr)
	}

	srv.Publish("candles", "2330", []byte(sampleCandle))
	cd := receive(t, c.Candles())
	if cd.Date != "2023-05-29T13:30:00.000+08:00" || cd.Close != 568 || cd.Average != 568.77 || cd.Volume != 4778 || cd.ID != ids["candles"] {
		t.Errorf("candle = %+v", cd)
	}

	srv.PublishSnapshot("books", "2330", []byte(sampleBook))
	bk := receive(t, c.Books())
	if len(bk.Bids) != 5 || len(bk.Asks) != 5 || bk.Bids[1].Price != 566 || bk.Asks[2].Size != 3643 || !bk.Snapshot || bk.ID != ids["books"] {
		t.Errorf("book = %+v", bk)
	}

	srv.Publish("aggregates", "2330", []byte(sampleAggregate))
	ag := receive(t, c.Aggregates())
	if ag.Name != "台積電" || ag.Total.TradeValue != 31019803000 || ag.LastTrade.Serial != 6652422 || ag.ChangePercent != 0.35 || ag.ID != ids["aggregates"] {
		t.Errorf("aggregate = %+v", ag)
	}

	srv.Publish("indices", "IR0001", []byte(sampleIndex))
	ix := receive(t, c.Indices())
	if ix.Index != 35276.44 || ix.Symbol != "IR0001" || ix.ID != ids["indices"] {
		t.Errorf("index = %+v", ix)
	}
}

func TestUnknownAndMalformedFramesDoNotStopTheStream(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")

	srv.SendAll([]byte(`{"event":"brand-new","data":{"x":1}}`))
	u, _ := nextEvent[Unknown](t, c, nil)
	if u.Event != "brand-new" || !strings.Contains(string(u.Raw), `"x":1`) {
		t.Fatalf("unknown = %+v", u)
	}
	srv.SendAll([]byte(`{"event":"data","data":{"symbol":`))
	e, _ := nextEvent[ErrorEvent](t, c, nil)
	var de *DecodeError
	if !errors.As(e.Err, &de) || !errors.Is(e.Err, ErrMalformedFrame) {
		t.Fatalf("error event = %v, want a *DecodeError", e.Err)
	}
	srv.SendAllBinary([]byte{0x01, 0x02})
	e, _ = nextEvent[ErrorEvent](t, c, nil)
	if !errors.Is(e.Err, ErrBinaryFrame) {
		t.Fatalf("error event = %v, want ErrBinaryFrame", e.Err)
	}

	srv.Publish("trades", "2330", tradeJSON("2330", 7))
	if v := receive(t, c.Trades()); v.Serial != 7 {
		t.Fatalf("trade after bad frames = %+v", v)
	}
	if got := c.Stats().Malformed; got != 1 {
		t.Fatalf("Malformed = %d, want 1", got)
	}
	if c.State() != StateConnected || len(srv.Conns()) != 1 {
		t.Fatalf("bad frames cost the connection: state %v, %d connections", c.State(), len(srv.Conns()))
	}
}

func TestPing(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	if _, err := c.Ping(testCtx(t)); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Ping before Connect = %v", err)
	}
	connect(t, c)
	rtt, err := c.Ping(testCtx(t))
	if err != nil || rtt <= 0 {
		t.Fatalf("Ping = %v, %v", rtt, err)
	}
	var pings int
	for _, f := range srv.Conns()[0].Frames() {
		if gjson.GetBytes(f, "event").String() == "ping" {
			pings++
		}
	}
	if pings != 1 {
		t.Fatalf("server saw %d pings", pings)
	}
}

func TestHeartbeatEvent(t *testing.T) {
	srv := newServer(t, marketdatatest.WithHeartbeat(20*time.Millisecond))
	c := newClient(t, srv, nil)
	connect(t, c)
	hb, _ := nextEvent[Heartbeat](t, c, nil)
	if hb.Conn != 1 || hb.Time == 0 {
		t.Fatalf("heartbeat = %+v", hb)
	}
}

func TestCloseHandshake(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	if err := c.Close(); err != nil {
		t.Fatalf("Close = %v, want nil after a completed handshake", err)
	}
	conn := srv.Conns()[0]
	<-conn.Done()
	info := conn.CloseInfo()
	if info.ClientCode != 1000 || !info.HandshakeCompleted || info.Abrupt {
		t.Fatalf("server saw %+v, want code 1000 and a completed handshake", info)
	}
	var events []Event
	for e := range c.Events() {
		events = append(events, e)
	}
	for _, e := range events {
		if ee, ok := e.(ErrorEvent); ok {
			t.Errorf("Close produced an error event: %v", ee)
		}
	}
	last, ok := events[len(events)-1].(Disconnected)
	if !ok || last.Err != nil || last.WillReconnect || last.Code != 1000 {
		t.Fatalf("last event = %v, want a clean Disconnected", events[len(events)-1])
	}
	for _, ch := range []bool{isClosed(c.Trades()), isClosed(c.Books()), isClosed(c.Candles()), isClosed(c.Aggregates()), isClosed(c.Indices())} {
		if !ch {
			t.Fatal("a channel is still open after Close")
		}
	}
	if c.State() != StateClosed || c.Err() != nil {
		t.Fatalf("after Close: state %v, err %v", c.State(), c.Err())
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if err := c.Connect(testCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Connect after Close = %v", err)
	}
}

func isClosed[T any](ch <-chan T) bool {
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return true
			}
		default:
			return false
		}
	}
}

func TestCloseWhenPeerNeverAnswers(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.CloseTimeout = 100 * time.Millisecond })
	connect(t, c)
	srv.SetIgnoreClose(true)
	var err error
	within(t, "Close", func() { err = c.Close() })
	if !errors.Is(err, ErrCloseTimeout) {
		t.Fatalf("Close = %v, want ErrCloseTimeout", err)
	}
	conn := srv.Conns()[0]
	<-conn.Done()
	if info := conn.CloseInfo(); info.ClientCode != 1000 {
		t.Fatalf("server saw %+v, want the client's close frame", info)
	}
}

func TestCloseFromManyGoroutines(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	var wg sync.WaitGroup
	errs := make([]error, 20)
	within(t, "20 concurrent Close calls", func() {
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = c.Close()
			}()
		}
		wg.Wait()
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("Close #%d = %v", i, err)
		}
	}
	if n := len(srv.Conns()); n != 1 {
		t.Fatalf("%d connections", n)
	}
	<-srv.Conns()[0].Done()
	if info := srv.Conns()[0].CloseInfo(); !info.HandshakeCompleted {
		t.Fatalf("server saw %+v", info)
	}
}

func TestCloseWhileNobodyReads(t *testing.T) {
	for _, policy := range []DropPolicy{DropOldest, DropNewest, Block} {
		t.Run(policy.String(), func(t *testing.T) {
			srv := newServer(t)
			c := newClient(t, srv, func(o *WebSocketClientOption) {
				o.DropPolicy = policy
				o.BufferSize = 64
				o.BlockTimeout = time.Hour // Close must cut the wait short
			})
			connect(t, c)
			subscribe(t, c, ChannelTrades, "2330")
			const total = 100_000
			frame := tradeJSON("2330", 1)
			published := make(chan struct{})
			go func() {
				defer close(published)
				for i := 0; i < total; i++ {
					if srv.Publish("trades", "2330", frame) == 0 {
						return // the client is gone
					}
				}
			}()
			want := uint64(total)
			if policy == Block {
				// The reader is stuck on the full channel: the socket backs up.
				want = 64
			}
			eventually(t, "frames to reach the client", func() bool { return c.Stats().Trades.Received >= want })
			var err error
			within(t, "Close", func() { err = c.Close() })
			if err != nil && policy != Block {
				t.Fatalf("Close = %v", err)
			}
			if !isClosed(c.Trades()) {
				t.Fatal("Trades still open")
			}
			<-published
		})
	}
}

func TestCloseDuringConnect(t *testing.T) {
	srv := newServer(t)
	srv.SetSilent(true) // the auth frame is never answered
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.AuthTimeout = time.Hour; o.CloseTimeout = 100 * time.Millisecond })
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(testCtx(t)) }()
	if err := srv.WaitForConns(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	within(t, "Close", func() { _ = c.Close() })
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Connect = %v, want ErrClosed", err)
		}
	case <-time.After(hang):
		t.Fatal("Connect did not return after Close")
	}
}

func TestDropAccounting(t *testing.T) {
	const published, buffer = 500, 50
	for _, policy := range []DropPolicy{DropOldest, DropNewest, Block} {
		t.Run(policy.String(), func(t *testing.T) {
			srv := newServer(t)
			c := newClient(t, srv, func(o *WebSocketClientOption) {
				o.DropPolicy = policy
				o.BufferSize = buffer
				o.BlockTimeout = time.Millisecond
			})
			connect(t, c)
			subscribe(t, c, ChannelTrades, "2330")
			for i := 1; i <= published; i++ {
				srv.Publish("trades", "2330", tradeJSON("2330", i))
			}
			eventually(t, "every frame to reach the client", func() bool { return c.Stats().Trades.Received == published })
			st := c.Stats().Trades
			if st.Dropped != published-buffer {
				t.Fatalf("dropped %d, want %d", st.Dropped, published-buffer)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			var serials []int64
			for v := range c.Trades() {
				serials = append(serials, v.Serial)
			}
			if uint64(len(serials))+st.Dropped != published {
				t.Fatalf("delivered %d + dropped %d != published %d", len(serials), st.Dropped, published)
			}
			first := int64(1)
			if policy == DropOldest {
				first = published - buffer + 1 // the freshest survive
			}
			for i, s := range serials {
				if s != first+int64(i) {
					t.Fatalf("delivered serials %v..., want %d.. in order", serials[:5], first)
				}
			}
			var episodes int
			for e := range c.Events() {
				if d, ok := e.(Dropped); ok && d.Channel == "trades" {
					episodes++
				}
			}
			if episodes != 1 {
				t.Fatalf("%d drop reports, want one for the single episode", episodes)
			}
		})
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	const secret = "s3cr3t-key-value"
	opt := WebSocketClientOption{APIKey: secret}
	for _, s := range []string{fmt.Sprintf("%v", opt), fmt.Sprintf("%+v", opt), fmt.Sprintf("%#v", opt), fmt.Sprint(&opt)} {
		if strings.Contains(s, secret) {
			t.Fatalf("option printed the secret: %s", s)
		}
	}
	c, err := NewWebSocketClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if s := fmt.Sprintf("%+v %#v", c, c); strings.Contains(s, secret) {
		t.Fatalf("client printed the secret")
	}
}
