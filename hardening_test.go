package marketdata

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
)

// fullStockAggregate is the complete stock aggregates payload of the
// protocol, every level and block present.
const fullStockAggregate = `{"date":"2023-05-29","type":"EQUITY","exchange":"TWSE","market":"TSE","symbol":"2330","name":"台積電","referencePrice":566,"previousClose":566,"openPrice":574,"openTime":1685322000049353,"highPrice":574,"highTime":1685322000049353,"lowPrice":564,"lowTime":1685327142152580,"closePrice":568,"closeTime":1685338200000000,"avgPrice":568.77,"change":2,"changePercent":0.35,"amplitude":1.77,"lastPrice":568,"lastSize":4778,"bids":[{"price":567,"size":87},{"price":566,"size":2454},{"price":565,"size":611},{"price":564,"size":609},{"price":563,"size":636}],"asks":[{"price":568,"size":800},{"price":569,"size":806},{"price":570,"size":3643},{"price":571,"size":1041},{"price":572,"size":2052}],"total":{"tradeValue":31019803000,"tradeVolume":54538,"tradeVolumeAtBid":19853,"tradeVolumeAtAsk":27900,"transaction":9530,"time":1685338200000000},"lastTrade":{"bid":567,"ask":568,"price":568,"size":4778,"time":1685338200000000,"serial":6652422},"lastTrial":{"bid":567,"ask":568,"price":568,"size":4772,"time":1685338196400347,"serial":6651941},"tradingHalt":{"isHalted":false},"isClose":true,"serial":6652422,"lastUpdated":1685338200000000}`

// dayOfBars returns a candles snapshot payload carrying n one-minute bars,
// the shape the server may send right after a candles subscription.
func dayOfBars(symbol string, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"symbol":%q,"type":"EQUITY","exchange":"TWSE","market":"TSE","date":"2023-05-29","data":[`, symbol)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		h, m := 9+i/60, i%60
		fmt.Fprintf(&b, `{"date":"2023-05-29T%02d:%02d:00.000+08:00","open":%d,"high":%d.5,"low":%d,"close":%d,"volume":%d,"average":%d.25}`,
			h, m, 500+i, 501+i, 499+i, 500+i, 1000+i, 500+i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// paddedTradeFrame returns a complete trades data frame for the subscription
// id whose length is exactly size bytes: a valid trade with serial, padded
// with a field the decoder does not know.
func paddedTradeFrame(t *testing.T, id, symbol string, serial, size int) []byte {
	t.Helper()
	head := fmt.Sprintf(`{"symbol":%q,"type":"EQUITY","exchange":"TWSE","market":"TSE","price":568,"size":1,"time":1685338200000000,"serial":%d,"pad":"`, symbol, serial)
	base := marketdatatest.DataFrame("trades", id, []byte(head+`"}`))
	n := size - len(base)
	if n < 0 {
		t.Fatalf("frame of %d bytes requested, the smallest is %d", size, len(base))
	}
	payload := make([]byte, 0, len(head)+n+2)
	payload = append(payload, head...)
	payload = append(payload, bytes.Repeat([]byte{'x'}, n)...)
	payload = append(payload, `"}`...)
	frame := marketdatatest.DataFrame("trades", id, payload)
	if len(frame) != size {
		t.Fatalf("built a frame of %d bytes, want %d", len(frame), size)
	}
	return frame
}

// subscriptionID returns the id the server gave (channel, symbol) on conn.
func subscriptionID(t *testing.T, conn *marketdatatest.Conn, channel, symbol string) string {
	t.Helper()
	for _, s := range conn.Subscriptions() {
		if s.Channel == channel && s.Symbol == symbol {
			return s.ID
		}
	}
	t.Fatalf("connection %d holds no %s:%s", conn.ID(), channel, symbol)
	return ""
}

// eventsSoFar returns what is buffered on Events without waiting. Everything
// the reader emitted before a value the test has already received is there.
func eventsSoFar(c *WebSocketClient) []Event {
	var out []Event
	for {
		select {
		case e, ok := <-c.Events():
			if !ok {
				return out
			}
			out = append(out, e)
		default:
			return out
		}
	}
}

// expectOversizeRecovery asserts what a user sees after the server sent a
// frame over the client's ReadLimit: a Disconnected whose error is a
// *CloseError 1009 naming ReadLimit and the limit, a reconnect, and data
// flowing again on the next connection.
func expectOversizeRecovery(t *testing.T, srv *marketdatatest.Server, c *WebSocketClient, limit int64) {
	t.Helper()
	d, _ := nextEvent[Disconnected](t, c, nil)
	var ce *CloseError
	if !errors.As(d.Err, &ce) || ce.Code != 1009 {
		t.Fatalf("disconnected = %v (err %#v), want a *CloseError 1009", d, d.Err)
	}
	if !strings.Contains(ce.Reason, "ReadLimit") || !strings.Contains(ce.Reason, strconv.FormatInt(limit, 10)) {
		t.Fatalf("close reason %q does not name ReadLimit and its value %d", ce.Reason, limit)
	}
	if d.Code != 1009 || d.Conn != 1 || !d.WillReconnect {
		t.Fatalf("disconnected = %+v, want code 1009 on #1 with a reconnect", d)
	}
	if r, _ := nextEvent[Reconnected](t, c, nil); r.Conn != 2 {
		t.Fatalf("reconnected = %+v", r)
	}
	if rs, _ := nextEvent[Resubscribed](t, c, nil); len(rs.Restored) == 0 || len(rs.Failed) != 0 {
		t.Fatalf("resubscribed = %+v", rs)
	}
	srv.Publish("trades", "2330", tradeJSON("2330", 99))
	if v := receive(t, c.Trades()); v.Conn != 2 || v.Serial != 99 {
		t.Fatalf("first trade after the oversized frame = %+v, want serial 99 on #2", v)
	}
	// The client told the server why, with the close code for it.
	first := srv.Conns()[0]
	<-first.Done()
	if info := first.CloseInfo(); info.ClientCode != 1009 {
		t.Fatalf("server saw %+v, want the client's close 1009", info)
	}
}

// TestReadLimitOversizedFrame: a frame far over ReadLimit is refused from
// its header, without reading it into memory, and costs one reconnect.
func TestReadLimitOversizedFrame(t *testing.T) {
	const limit = 64 << 10
	srv := newServer(t)
	c := newClient(t, srv, func(o *WebSocketClientOption) { o.ReadLimit = limit })
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	id := subscriptionID(t, srv.Conns()[0], "trades", "2330")

	// Just over the limit, then far over it (64 MiB, 1024 times the limit).
	srv.PublishRaw("trades", "2330", paddedTradeFrame(t, id, "2330", 1, limit-1))
	if v := receive(t, c.Trades()); v.Serial != 1 {
		t.Fatalf("trade under the limit = %+v", v)
	}
	huge := paddedTradeFrame(t, id, "2330", 2, 64<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if n := srv.PublishRaw("trades", "2330", huge); n != 1 {
		t.Fatalf("published to %d connections", n)
	}
	expectOversizeRecovery(t, srv, c, limit)
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(len(huge))/4 {
		t.Fatalf("refusing a %d MiB frame allocated %d MiB", len(huge)>>20, grew>>20)
	}
	if st := c.Stats(); st.Connections != 2 || st.Reconnects != 1 || st.Trades.Received != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestDefaultReadLimit: the default admits a full aggregates frame, a day of
// candles in one snapshot and a frame of exactly DefaultReadLimit bytes, and
// refuses one byte more.
func TestDefaultReadLimit(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	subscribe(t, c, ChannelAggregates, "2330")
	subscribe(t, c, ChannelCandles, "2330")

	srv.Publish("aggregates", "2330", []byte(fullStockAggregate))
	ag := receive(t, c.Aggregates())
	if len(ag.Bids) != 5 || len(ag.Asks) != 5 || ag.Asks[4].Size != 2052 || ag.Total.TradeValue != 31019803000 || ag.LastTrial.Serial != 6651941 {
		t.Fatalf("aggregate = %+v", ag)
	}

	const bars = 300
	srv.PublishSnapshot("candles", "2330", dayOfBars("2330", bars))
	cd := receive(t, c.Candles())
	if !cd.Snapshot || len(cd.Bars) != bars {
		t.Fatalf("candles snapshot: snapshot %t, %d bars, want %d", cd.Snapshot, len(cd.Bars), bars)
	}
	if last := cd.Bars[bars-1]; last.Date != "2023-05-29T13:59:00.000+08:00" || last.Open != 799 || last.High != 800.5 || last.Volume != 1299 || last.Average != 799.25 {
		t.Fatalf("last bar = %+v", last)
	}

	id := subscriptionID(t, srv.Conns()[0], "trades", "2330")
	srv.PublishRaw("trades", "2330", paddedTradeFrame(t, id, "2330", 1, DefaultReadLimit))
	if v := receive(t, c.Trades()); v.Serial != 1 || v.Conn != 1 {
		t.Fatalf("trade of exactly DefaultReadLimit bytes = serial %d on #%d", v.Serial, v.Conn)
	}
	srv.PublishRaw("trades", "2330", paddedTradeFrame(t, id, "2330", 2, DefaultReadLimit+1))
	expectOversizeRecovery(t, srv, c, DefaultReadLimit)
}

// TestMalformedFramesEachReportedOnce: every kind of bad input is one
// ErrorEvent, costs nothing else, and the stream goes on, on the same
// connection.
func TestMalformedFramesEachReportedOnce(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	id := subscriptionID(t, srv.Conns()[0], "trades", "2330")
	nextEvent[Authenticated](t, c, nil)

	valid := marketdatatest.DataFrame("trades", id, tradeJSON("2330", 1))
	deep := 100_000
	nested := strings.Repeat("[", deep) + strings.Repeat("]", deep)

	isDecodeError := func(e error) bool {
		var de *DecodeError
		return errors.As(e, &de) && errors.Is(e, ErrMalformedFrame)
	}
	cases := []struct {
		name      string
		send      func() int
		malformed bool // counted in Stats().Malformed
		check     func(error) bool
	}{
		{"binary frame", func() int { return srv.SendAllBinary(valid) }, false,
			func(e error) bool { return errors.Is(e, ErrBinaryFrame) }},
		{"invalid UTF-8", func() int {
			return srv.SendAll(bytes.Replace(valid, []byte(`"2330"`), []byte("\"23\xff\xfe\""), 1))
		}, true, isDecodeError},
		{"truncated JSON", func() int { return srv.SendAll(valid[:len(valid)/2]) }, true, isDecodeError},
		{"100k nested arrays in data", func() int {
			return srv.SendAll([]byte(`{"event":"data","data":` + nested + `,"id":"` + id + `","channel":"trades"}`))
		}, true, isDecodeError},
		{`"price":"abc" in a trade`, func() int {
			return srv.Publish("trades", "2330", bytes.Replace(tradeJSON("2330", 0), []byte(`"price":568`), []byte(`"price":"abc"`), 1))
		}, true, func(e error) bool { return isDecodeError(e) && strings.Contains(e.Error(), "price") }},
	}
	serial := 100
	for _, tc := range cases {
		before := c.Stats()
		if n := tc.send(); n != 1 {
			t.Fatalf("%s: sent to %d connections", tc.name, n)
		}
		serial++
		srv.Publish("trades", "2330", tradeJSON("2330", serial))
		if v := receive(t, c.Trades()); v.Serial != int64(serial) || v.Conn != 1 {
			t.Fatalf("%s: next trade = serial %d on #%d, want %d on #1", tc.name, v.Serial, v.Conn, serial)
		}
		// The reader emitted whatever the bad frame caused before it
		// delivered the trade that followed it.
		var errs []ErrorEvent
		for _, e := range eventsSoFar(c) {
			switch e := e.(type) {
			case ErrorEvent:
				errs = append(errs, e)
			case Heartbeat:
			default:
				t.Errorf("%s: unexpected event %v", tc.name, e)
			}
		}
		if len(errs) != 1 {
			t.Fatalf("%s: %d error events %v, want exactly one", tc.name, len(errs), errs)
		}
		if errs[0].Conn != 1 || !tc.check(errs[0].Err) {
			t.Errorf("%s: error event %v (%T)", tc.name, errs[0], errs[0].Err)
		}
		after := c.Stats()
		want := before.Malformed
		if tc.malformed {
			want++
		}
		if after.Malformed != want {
			t.Errorf("%s: Malformed went from %d to %d", tc.name, before.Malformed, after.Malformed)
		}
	}
	if n, st := len(srv.Conns()), c.Stats(); n != 1 || st.Connections != 1 || c.State() != StateConnected {
		t.Fatalf("bad input cost the connection: %d server connections, %d client connections, state %v", n, st.Connections, c.State())
	}
}

// TestCredentialsNeverRevealed runs failing sessions with each kind of
// credential and searches everything a user could print for the secret:
// errors, every event (String, %v, %+v, %#v), Stats, the option and the
// client.
func TestCredentialsNeverRevealed(t *testing.T) {
	kinds := []struct {
		name   string
		secret string
		set    func(*WebSocketClientOption, string)
		accept func(...string) marketdatatest.Option
	}{
		{"APIKey", "ak-5f1d0c9e2b7a44e3b8d6", func(o *WebSocketClientOption, s string) { o.APIKey = s }, marketdatatest.WithAPIKey},
		{"BearerToken", "bt-e0c37a9d51f24b86a9c2", func(o *WebSocketClientOption, s string) { o.BearerToken = s }, marketdatatest.WithToken},
		{"SDKToken", "st-9a2b4c6d8e0f13579bdf", func(o *WebSocketClientOption, s string) { o.SDKToken = s }, marketdatatest.WithSDKToken},
		{"FUGLE_API_KEY", "env-7c5e3a1f9d8b6402ce", func(o *WebSocketClientOption, s string) {}, marketdatatest.WithAPIKey},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Setenv(APIKeyEnv, "")
			if k.name == "FUGLE_API_KEY" {
				t.Setenv(APIKeyEnv, k.secret)
			}
			var out []string
			record := func(vs ...any) {
				for _, v := range vs {
					out = append(out, fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v))
					if e, ok := v.(error); ok && e != nil {
						out = append(out, e.Error())
						for u := errors.Unwrap(e); u != nil; u = errors.Unwrap(u) {
							out = append(out, u.Error(), fmt.Sprintf("%+v", u), fmt.Sprintf("%#v", u))
						}
					}
					if s, ok := v.(fmt.Stringer); ok {
						out = append(out, s.String())
					}
				}
			}
			// recordEnded prints a client after Close, with everything it
			// delivered on Events (no goroutine of it runs any more).
			recordEnded := func(c *WebSocketClient) {
				for e := range c.Events() {
					record(e)
					switch e := e.(type) {
					case Disconnected:
						record(e.Err)
					case Reconnecting:
						record(e.Err)
					case ErrorEvent:
						record(e.Err)
					}
				}
				record(c.Err(), c.Stats(), c.State(), c.Subscriptions(), c)
			}
			build := func(endpoint string, edit func(*WebSocketClientOption)) *WebSocketClient {
				opt := WebSocketClientOption{
					Endpoint:                 endpoint,
					CloseTimeout:             time.Second,
					ReconnectInitialInterval: time.Millisecond,
					ReconnectMaxInterval:     5 * time.Millisecond,
				}
				k.set(&opt, k.secret)
				if edit != nil {
					edit(&opt)
				}
				record(opt, &opt)
				c, err := NewWebSocketClient(opt)
				if err != nil {
					t.Fatalf("NewWebSocketClient: %v", err)
				}
				t.Cleanup(func() { _ = c.Close() })
				return c
			}

			// A credential the server does not accept.
			wrong := newServer(t)
			c := build(wrong.StockURL(), nil)
			err := c.Connect(testCtx(t))
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Connect with an unknown credential = %v, want ErrUnauthorized", err)
			}
			record(err)
			record(c.Close())
			recordEnded(c)

			// An accepted credential: a dropped connection, a reconnect, then
			// a 401 on the next upgrade, which ends the client.
			srv := marketdatatest.NewServer(k.accept(k.secret))
			t.Cleanup(srv.Close)
			c = build(srv.StockURL(), nil)
			connect(t, c)
			subscribe(t, c, ChannelTrades, "2330")
			srv.DropAll()
			nextEvent[Reconnected](t, c, nil)
			nextEvent[Resubscribed](t, c, nil)
			srv.RejectHandshake(401)
			srv.DropAll()
			<-c.Done()
			if !errors.Is(c.Err(), ErrUnauthorized) {
				t.Fatalf("after a 401 on reconnect, Err = %v", c.Err())
			}
			record(c.Close())
			recordEnded(c)

			// Reconnecting to a stopped server until the attempts run out.
			down := marketdatatest.NewServer(k.accept(k.secret))
			t.Cleanup(down.Close)
			c = build(down.StockURL(), func(o *WebSocketClientOption) { o.ReconnectMaxAttempts = 2 })
			connect(t, c)
			down.Stop()
			<-c.Done()
			if !errors.Is(c.Err(), ErrReconnectExhausted) {
				t.Fatalf("after the server stopped, Err = %v", c.Err())
			}
			record(c.Close())
			recordEnded(c)

			// Connect to a port nobody listens on, and a 401 on Connect.
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			closed := "ws://" + l.Addr().String() + "/marketdata/v1.0/stock/streaming"
			_ = l.Close()
			c = build(closed, nil)
			err = c.Connect(testCtx(t))
			if err == nil {
				t.Fatal("Connect to a closed port succeeded")
			}
			record(err)
			record(c.Close())
			recordEnded(c)

			refused := newServer(t)
			refused.RejectHandshake(401)
			c = build(refused.StockURL(), nil)
			err = c.Connect(testCtx(t))
			var he *HandshakeError
			if !errors.As(err, &he) || he.StatusCode != 401 {
				t.Fatalf("Connect against a 401 = %v", err)
			}
			record(err)
			record(c.Close())
			recordEnded(c)

			tail := k.secret[len(k.secret)-8:]
			for _, s := range out {
				if strings.Contains(s, k.secret) || strings.Contains(s, tail) {
					t.Fatalf("the credential appears in output: %s", s)
				}
			}
			if len(out) < 100 {
				t.Fatalf("only %d outputs collected", len(out))
			}
		})
	}
}

// TestCredentialRejectionBeatsTheCloseAfterIt: the server revokes a live
// session with error 1000 and then closes. When the client is slow to look
// (here its supervisor is held up reporting an earlier error to an Events
// channel nobody reads, under the Block policy), it finds both the error
// frame and the closed connection waiting. The rejection must decide: the
// client ends with ErrUnauthorized and never dials again.
func TestCredentialRejectionBeatsTheCloseAfterIt(t *testing.T) {
	srv := newServer(t)
	for i := 0; i < 10; i++ {
		c := newClient(t, srv, func(o *WebSocketClientOption) {
			o.DropPolicy = Block
			o.BlockTimeout = 50 * time.Millisecond
			o.EventBufferSize = 1
		})
		connect(t, c)
		before := len(srv.Conns())
		conn := srv.Conns()[before-1]
		_ = conn.SendError(1003, "Invalid request") // reported on Events, which are full
		_ = conn.RejectCredentials()
		eventually(t, "the client to end or dial again", func() bool {
			select {
			case <-c.Done():
				return true
			default:
				return len(srv.Conns()) > before
			}
		})
		if n := len(srv.Conns()) - before; n != 0 || !errors.Is(c.Err(), ErrUnauthorized) {
			t.Fatalf("round %d: after a credential rejection the client dialled %d more time(s); Err = %v, want ErrUnauthorized", i, n, c.Err())
		}
		_ = c.Close()
	}
}
