package rest

import (
	"errors"
	"net/url"
	"testing"
)

// Queries go out as the Node SDK sends them: keys sorted, only what was
// set, booleans as true/false; list endpoints get the session upper-cased.
func TestQueryEncoding(t *testing.T) {
	srv := newMock(t)
	c := newClient(t, srv.RESTURL(), Option{})
	ctx := testContext(t)
	_, _ = c.Stock.Intraday.Tickers(ctx, StockTickersParams{Type: "EQUITY", IsNormal: Bool(true), IsHalted: Bool(false), Symbols: []string{"2330", "2317"}})
	_, _ = c.Stock.Intraday.Trades(ctx, "2330", TradesParams{OddLot: true, Offset: 5, Limit: 7, IsTrial: Bool(false), AfterHours: true})
	_, _ = c.FutOpt.Intraday.Trades(ctx, "TXF1!", TradesParams{AfterHours: true, Sort: "asc", OddLot: true})
	_, _ = c.FutOpt.Intraday.Tickers(ctx, FutOptTickersParams{Type: "FUTURE", AfterHours: true, Product: "TXF", IsSpread: Bool(true)})
	_, _ = c.Stock.Historical.Candles(ctx, "2330", HistoricalCandlesParams{Fields: []string{"open", "close"}, Adjusted: Bool(true)})
	_, _ = c.Stock.Snapshot.Movers(ctx, "TSE", MoversParams{Direction: "up", Change: "percent", GT: Float(1.5)})
	_, _ = c.Stock.Technical.KDJ(ctx, "2330", TechnicalParams{RPeriod: 9, KPeriod: 3, DPeriod: 3})
	_, _ = c.FutOpt.Historical.Daily(ctx, "TXF", FutOptDailyParams{ContractMonth: "202609/202610"})
	want := []string{
		"/marketdata/v1.0/stock/intraday/tickers?isHalted=false&isNormal=true&symbol=2330%2C2317&type=EQUITY",
		"/marketdata/v1.0/stock/intraday/trades/2330?isTrial=false&limit=7&offset=5&type=oddlot",
		"/marketdata/v1.0/futopt/intraday/trades/TXF1!?session=afterhours",
		"/marketdata/v1.0/futopt/intraday/tickers?isSpread=true&product=TXF&session=AFTERHOURS&type=FUTURE",
		"/marketdata/v1.0/stock/historical/candles/2330?adjusted=true&fields=open%2Cclose",
		"/marketdata/v1.0/stock/snapshot/movers/TSE?change=percent&direction=up&gt=1.5",
		"/marketdata/v1.0/stock/technical/kdj/2330?dPeriod=3&kPeriod=3&rPeriod=9",
		"/marketdata/v1.0/futopt/historical/daily/TXF?contractMonth=202609%2F202610",
	}
	reqs := srv.RESTRequests()
	if len(reqs) != len(want) {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if r.RequestURI != want[i] {
			t.Errorf("got  %s\nwant %s", r.RequestURI, want[i])
		}
		if r.Header.Get("User-Agent") != "go-fugle-marketdata" || r.Header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("headers %v", r.Header)
		}
	}
	// Missing required parameters never reach the server.
	for _, err := range []error{
		func() error { _, err := c.Stock.Intraday.Tickers(ctx, StockTickersParams{}); return err }(),
		func() error { _, err := c.Stock.Snapshot.Movers(ctx, "TSE", MoversParams{Direction: "up"}); return err }(),
		func() error { _, err := c.Stock.Snapshot.Actives(ctx, "TSE", ActivesParams{}); return err }(),
		func() error { _, err := c.Stock.Technical.MACD(ctx, "2330", TechnicalParams{Fast: 12}); return err }(),
		func() error { _, err := c.FutOpt.Intraday.Products(ctx, FutOptProductsParams{}); return err }(),
		func() error {
			_, err := c.Stock.CorporateActions.CapitalChanges(ctx, CorporateActionsParams{Exchange: "TWSE"})
			return err
		}(),
		func() error { _, err := c.Stock.Intraday.Trades(ctx, "2330", TradesParams{Limit: -1}); return err }(),
	} {
		if err == nil {
			t.Error("want ErrInvalidRequest")
		}
	}
	if n := len(srv.RESTRequests()); n != len(want) {
		t.Errorf("%d requests sent for invalid calls", n-len(want))
	}
}

// Large answers come gzip-encoded; the size limit applies to the decoded
// body.
func TestGzipAndLimit(t *testing.T) {
	srv := newMock(t)
	big := []byte(`{"symbol":"2330","period":5,"data":[`)
	for i := range 400 {
		if i > 0 {
			big = append(big, ',')
		}
		big = append(big, `{"date":"2024-08-01","sma":940.4}`...)
	}
	big = append(big, "]}"...)
	srv.HandleREST("/stock/technical/sma/2330", 200, big)
	ind, err := newClient(t, srv.RESTURL(), Option{}).Stock.Technical.SMA(testContext(t), "2330", TechnicalParams{Period: 5})
	if err != nil || len(ind.Data) != 400 {
		t.Fatalf("%v", err)
	}
	_, err = newClient(t, srv.RESTURL(), Option{MaxBodySize: 4096}).Stock.Technical.SMA(testContext(t), "2330", TechnicalParams{Period: 5})
	if !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("want ErrResponseTooLarge: %v", err)
	}
}

func TestGetRaw(t *testing.T) {
	srv := newMock(t)
	srv.HandleREST("/stock/ownership/institutional-trades/2330", 200, []byte(`{"symbol":"2330","data":[]}`))
	c := newClient(t, srv.RESTURL(), Option{})
	body, err := c.Get(testContext(t), "/stock/ownership/institutional-trades/2330", url.Values{"sort": {"desc"}})
	if err != nil || string(body) != `{"symbol":"2330","data":[]}` {
		t.Fatalf("%v %s", err, body)
	}
	if got := srv.RESTRequests()[0].RequestURI; got != "/marketdata/v1.0/stock/ownership/institutional-trades/2330?sort=desc" {
		t.Errorf("URI %s", got)
	}
}
