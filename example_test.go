package marketdata_test

import (
	"context"
	"fmt"
	"log"
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
