package natsbus_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/natsbus"
	"github.com/nats-io/nats.go"
)

// One gateway holds the Fugle connections; any number of consumers, in
// this process or others, read the feed through NATS with the Stream API.
// The mock endpoint and an embedded NATS server stand in for Fugle and a
// NATS deployment.
func Example() {
	fugle := marketdatatest.NewServer()
	defer fugle.Close()
	dir, _ := os.MkdirTemp("", "natsbus-example")
	defer os.RemoveAll(dir)
	ns, err := natsbus.RunServer(natsbus.ServerOption{Listen: "127.0.0.1:0", StoreDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The gateway.
	gwConn, err := nats.Connect(ns.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	defer gwConn.Close()
	gw, err := natsbus.NewGateway(natsbus.GatewayOption{
		Conn:  gwConn,
		Stock: &marketdata.PoolOption{Client: marketdata.WebSocketClientOption{APIKey: "demo-key", Endpoint: fugle.StockURL()}, Plan: marketdata.PlanDeveloper},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()
	if err := gw.Start(ctx); err != nil {
		log.Fatal(err)
	}

	// A consumer: the same calls as on a WebSocket client.
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	var s marketdata.Stream
	s, err = natsbus.NewClient(nc, natsbus.ClientOption{Product: natsbus.Stock})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	if err := s.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}); err != nil {
		log.Fatal(err)
	}

	fugle.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 568, Size: 1, Serial: 1, Time: time.Now()}))
	t := <-s.Trades()
	fmt.Println(t.Symbol, t.Price, t.Size)
	// Output: 2330 568 1
}
