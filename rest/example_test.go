package rest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/rest"
)

// mock starts the mock server with two trades of 2330 published.
func mock() *marketdatatest.Server {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("my-key"))
	t0 := time.Date(2026, 1, 30, 9, 0, 0, 0, time.UTC)
	srv.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 1775, Size: 3, Bid: 1770, Ask: 1775, Volume: 3, Serial: 101, Time: t0}))
	srv.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 1780, Size: 2, Serial: 102, Time: t0.Add(time.Second)}))
	return srv
}

func Example() {
	srv := mock()
	defer srv.Close()

	rc, err := rest.NewClient(rest.Option{APIKey: "my-key", BaseURL: srv.RESTURL()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rc.CloseIdleConnections()
	ctx := context.Background()

	q, err := rc.Stock.Intraday.Quote(ctx, "2330", rest.IntradayParams{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(q.Symbol, q.LastPrice, q.Total.TradeVolume)

	page, err := rc.Stock.Intraday.Trades(ctx, "2330", rest.TradesParams{Limit: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range page.Data {
		fmt.Println(t.Serial, t.Price, t.Size, "volume sent:", t.Has("volume"))
	}
	// Output:
	// 2330 1780 5
	// 102 1780 2 volume sent: false
	// 101 1775 3 volume sent: true
}

func ExampleStockIntraday_AllTrades() {
	srv := mock()
	defer srv.Close()
	rc, _ := rest.NewClient(rest.Option{APIKey: "my-key", BaseURL: srv.RESTURL()})
	defer rc.CloseIdleConnections()

	// Every trade after serial 100, the last one the consumer holds.
	for t, err := range rc.Stock.Intraday.AllTrades(context.Background(), "2330", rest.AllTradesParams{After: 100, PageSize: 1}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(t.Serial, t.Price)
	}
	// Output:
	// 102 1780
	// 101 1775
}

func ExampleAPIError() {
	srv := mock()
	defer srv.Close()
	rc, _ := rest.NewClient(rest.Option{APIKey: "not-my-key", BaseURL: srv.RESTURL()})
	defer rc.CloseIdleConnections()

	_, err := rc.Stock.Intraday.Quote(context.Background(), "2330", rest.IntradayParams{})
	var ae *rest.APIError
	fmt.Println(errors.Is(err, rest.ErrUnauthorized), errors.As(err, &ae) && ae.StatusCode == 401)
	fmt.Println(err)
	// Output:
	// true true
	// rest: GET /v1.0/stock/intraday/quote/2330: HTTP 401: Unauthorized
}

func ExampleNewBudget() {
	// One budget of the Developer plan, shared by two clients.
	budget := rest.NewBudget(rest.PlanDeveloperPerMinute)
	a, _ := rest.NewClient(rest.Option{APIKey: "k", Budget: budget})
	b, _ := rest.NewClient(rest.Option{APIKey: "k", Budget: budget})
	fmt.Println(a, b)
	// Output:
	// rest.Client{BaseURL:"https://api.fugle.tw/marketdata/v1.0" Budget:600/min} rest.Client{BaseURL:"https://api.fugle.tw/marketdata/v1.0" Budget:600/min}
}

func ExampleFutOptIntraday_Quote() {
	srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("my-key"))
	defer srv.Close()
	// What the stream published, even to nobody, is what REST returns.
	srv.Publish("aggregates", "TXFC4/TXFD4", []byte(`{"date":"2026-01-30","type":"FUTURE","exchange":"TAIFEX","symbol":"TXFC4/TXFD4","lastPrice":52,"lastTrade":{"price":52,"size":1,"serial":"00000042"},"serial":42}`))
	rc, _ := rest.NewClient(rest.Option{APIKey: "my-key", BaseURL: srv.RESTURL()})
	defer rc.CloseIdleConnections()

	q, err := rc.FutOpt.Intraday.Quote(context.Background(), "TXFC4/TXFD4", rest.FutOptParams{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(q.Symbol, q.LastPrice, q.LastTrade.Serial, q.Has("isTrial"))
	// Output:
	// TXFC4/TXFD4 52 42 false
}

// Backfill heals a WebSocket client's gaps over REST: after a reconnect,
// the trades and candles a subscription missed arrive marked as backfill,
// and a Backfilled event per key says whether the gap closed.
func ExampleClient_Backfill() {
	rc, err := rest.NewClient(rest.Option{RatePerMinute: rest.PlanDeveloperPerMinute}) // key from FUGLE_API_KEY
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := marketdata.NewWebSocketClient(marketdata.WebSocketClientOption{
		Backfill:     rc.Backfill(),
		BackfillHold: true, // each key's values in strict order, backfill first
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
}
