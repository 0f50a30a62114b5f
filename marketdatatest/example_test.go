package marketdatatest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"
)

func ExampleNewServer() {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("k"))
	defer srv.Close()

	// Any client will do; a real test would use the SDK's client.
	ws, _, err := websocket.DefaultDialer.Dial(srv.StockURL(), nil)
	if err != nil {
		panic(err)
	}
	defer ws.Close()
	read := func() gjson.Result {
		_, raw, _ := ws.ReadMessage()
		return gjson.ParseBytes(raw)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"auth","data":{"apikey":"k"}}`))
	fmt.Println(read().Get("event"))
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}`))
	fmt.Println(read().Get("event"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.WaitForSubscribers(ctx, "trades", "2330", 1); err != nil {
		panic(err)
	}
	srv.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 1005, Size: 2, Serial: 1}))
	msg := read()
	fmt.Println(msg.Get("event"), msg.Get("channel"), msg.Get("data.price"))
	// Output:
	// authenticated
	// subscribed
	// data trades 1005
}

// The SDK's client against the mock: the three lines a test needs, then a
// published trade received.
func Example_client() {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("k"))
	defer srv.Close()
	client, err := marketdata.NewWebSocketClient(marketdata.WebSocketClientOption{APIKey: "k", Endpoint: srv.StockURL()})
	if err != nil {
		panic(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Connect(ctx); err != nil {
		panic(err)
	}
	if err := client.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		panic(err)
	}
	srv.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 1005, Size: 2, Serial: 1}))
	t := <-client.Trades()
	fmt.Println(t.Symbol, t.Price, t.Size)
	// Output: 2330 1005 2
}
