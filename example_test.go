package marketdata_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
)

// Connect, subscribe, and read typed trades. The mock endpoint stands in for
// the real one; with a real key, leave Endpoint empty.
func Example() {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("demo-key"))
	defer srv.Close()

	client, err := marketdata.NewWebSocketClient(marketdata.WebSocketClientOption{
		APIKey:   "demo-key",
		Endpoint: srv.StockURL(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx := context.Background()
	if err := client.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	err = client.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}})
	if err != nil {
		log.Fatal(err)
	}

	srv.Publish("trades", "2330", []byte(`{"symbol":"2330","type":"EQUITY","exchange":"TWSE","market":"TSE","price":568,"size":4778,"time":1685338200000000,"serial":6652422}`))
	t := <-client.Trades()
	fmt.Println(t.Symbol, t.Price, t.Size, t.Time.Time().UTC().Format(time.RFC3339))
	// Output: 2330 568 4778 2023-05-29T05:30:00Z
}

// A lost connection is replaced and the subscriptions come back; Events
// tells the story, and Conn on every value marks where a gap may lie.
func ExampleWebSocketClient_Events() {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("demo-key"))
	defer srv.Close()
	client, err := marketdata.NewWebSocketClient(marketdata.WebSocketClientOption{
		APIKey:                   "demo-key",
		Endpoint:                 srv.StockURL(),
		ReconnectInitialInterval: 10 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	if err := client.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	if err := client.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		log.Fatal(err)
	}

	srv.DropAll() // the network fails
	for e := range client.Events() {
		switch e := e.(type) {
		case marketdata.Disconnected:
			fmt.Println("disconnected, will reconnect:", e.WillReconnect)
		case marketdata.Reconnected:
			fmt.Println("reconnected as connection", e.Conn)
		case marketdata.Resubscribed:
			fmt.Println("restored:", e.Restored[0])
			return
		}
	}
	// Output:
	// disconnected, will reconnect: true
	// reconnected as connection 2
	// restored: trades:2330
}

// Testing code that consumes the client: the mock endpoint records what the
// client sent and can fail in every way the real one can.
func Example_testing() {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("k"))
	defer srv.Close()
	client, _ := marketdata.NewWebSocketClient(marketdata.WebSocketClientOption{APIKey: "k", Endpoint: srv.StockURL()})
	ctx := context.Background()
	_ = client.Connect(ctx)
	_ = client.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelBooks, Symbols: []string{"2330", "2317"}})

	fmt.Println(len(srv.Conns()[0].Subscriptions()), "subscriptions on the server")
	fmt.Println(client.Close(), srv.Conns()[0].CloseInfo().ClientCode)
	// Output:
	// 2 subscriptions on the server
	// <nil> 1000
}

// A bot written against marketdata.Stream runs unchanged on a live client,
// a replayed recording or a test's mock. Here it reads the ordered stream:
// values and lifecycle events in the order they happened.
func Example_bot() {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("demo-key"))
	defer srv.Close()
	client, err := marketdata.NewWebSocketClient(marketdata.WebSocketClientOption{
		APIKey:   "demo-key",
		Endpoint: srv.StockURL(),
		Ordered:  true, // one stream, in order, instead of the typed channels
	})
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		_ = srv.WaitForSubscribers(context.Background(), "trades", "2330", 1)
		srv.Publish("trades", "2330", []byte(`{"symbol":"2330","type":"EQUITY","exchange":"TWSE","price":568,"size":10,"time":1685338200000000,"serial":1}`))
		// Connected, authenticated and the trade handed over, the ack applied.
		for client.Stats().Messages.Received < 3 || !client.Subscriptions()[0].Active {
			time.Sleep(time.Millisecond)
		}
		_ = client.Close() // the stream ends: the bot returns
	}()
	if err := bot(context.Background(), client); err != nil {
		log.Fatal(err)
	}
	// Output:
	// authenticated
	// trade 2330 568 x 10
	// disconnected (code 1000)
}

// bot is the strategy: it knows only the Stream contract.
func bot(ctx context.Context, s marketdata.Stream) error {
	if err := s.Connect(ctx); err != nil {
		return err
	}
	if err := s.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		return err
	}
	for m := range s.All() { // until the stream ends
		switch m := m.(type) {
		case marketdata.Trade:
			if m.Snapshot {
				continue // the state at subscription time, not a new trade
			}
			fmt.Println("trade", m.Symbol, m.Price, "x", m.Size)
		case marketdata.Authenticated:
			fmt.Println("authenticated")
		case marketdata.Disconnected:
			fmt.Printf("disconnected (code %d)\n", m.Code)
		}
	}
	return s.Err()
}

// The README's quick start. It needs the real service, so it is compiled,
// not run.
func Example_quickStart() {
	client, err := marketdata.NewWebSocketClient(marketdata.WebSocketClientOption{
		APIKey: os.Getenv("FUGLE_API_KEY"), // the default when empty, too
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx := context.Background()
	if err := client.Connect(ctx); err != nil { // returns once authenticated
		log.Fatal(err)
	}
	err = client.Subscribe(ctx, marketdata.SubscribeRequest{
		Channel: marketdata.ChannelTrades,
		Symbols: []string{"2330", "2317"},
	}) // returns once the server acknowledged
	if err != nil {
		log.Fatal(err)
	}

	for {
		select {
		case t, ok := <-client.Trades():
			if !ok {
				return // the client has ended: client.Err() says why (nil after Close)
			}
			if t.Snapshot {
				continue // the state when the subscription began, not a new trade
			}
			fmt.Println(t.Symbol, t.Price, t.Size, t.Time.Time())
		case e := <-client.Events():
			log.Println(e) // connected, disconnected, reconnecting, dropped, errors...
		}
	}
}

// A pool spreads subscriptions over the plan's connections behind the same
// API: here five symbols on connections that hold three each.
func ExampleNewPool() {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("demo-key"), marketdatatest.WithMaxSubscriptions(3))
	defer srv.Close()
	pool, err := marketdata.NewPool(marketdata.PoolOption{
		Client: marketdata.WebSocketClientOption{APIKey: "demo-key", Endpoint: srv.StockURL()},
		Plan:   marketdata.Plan{Connections: 2, SubscriptionsPerConnection: 3},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	if err := pool.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	err = pool.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330", "2317", "2454", "2412", "2308"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, sh := range pool.Shards() {
		fmt.Printf("connection %d: %d of %d\n", sh.Index, sh.Used, sh.Capacity)
	}
	err = pool.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelBooks, Symbols: []string{"2330", "2317"}})
	fmt.Println(errors.Is(err, marketdata.ErrPlanFull), err)
	// Output:
	// connection 0: 3 of 3
	// connection 1: 2 of 3
	// true marketdata: the plan has no room: 2 subscription(s) requested, 1 free of 6
}

// A source of frames other than the WebSocket client (a bus, a file) hands
// them to a Feed, which decodes and delivers them as the client would.
func ExampleNewFeed() {
	feed, err := marketdata.NewFeed(marketdata.FeedOption{Ordered: true})
	if err != nil {
		log.Fatal(err)
	}
	frame := []byte(`{"event":"data","channel":"trades","id":"1","data":{"symbol":"2330","type":"EQUITY","exchange":"TWSE","price":568,"size":1,"time":1685338200000000,"serial":1}}`)
	if err := feed.Deliver(frame, marketdata.FrameInfo{Channel: marketdata.ChannelTrades, Symbol: "2330"}); err != nil {
		log.Fatal(err)
	}
	feed.End(nil)
	for m := range feed.All() {
		if t, ok := m.(marketdata.Trade); ok {
			fmt.Println(t.Symbol, t.Price, t.Serial)
		}
	}
	// Output: 2330 568 1
}

// Handlers take values on the reader goroutine, with no hand-off to
// another goroutine: the lowest latency and cost per value, for a handler
// that returns quickly.
func ExampleHandlers() {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("demo-key"))
	defer srv.Close()
	trades := make(chan marketdata.Trade, 1)
	client, err := marketdata.NewWebSocketClient(marketdata.WebSocketClientOption{
		APIKey: "demo-key", Endpoint: srv.StockURL(),
		Handlers: marketdata.Handlers{
			Trade: func(t marketdata.Trade) { trades <- t }, // a real one would update a book, or a strategy's state
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	if err := client.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	if err := client.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		log.Fatal(err)
	}
	srv.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 568, Size: 1, Serial: 1, Time: time.Now()}))
	t := <-trades
	fmt.Println(t.Symbol, t.Price)
	// Output: 2330 568
}
