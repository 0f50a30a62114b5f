package rest

import (
	"errors"
	"testing"
)

// The reference lists several shapes for some answers: each is accepted.

func TestCandleBarWithNumericTime(t *testing.T) {
	srv := serveBody(t, 200, `{"date":"2023-05-29","type":"EQUITY","exchange":"TWSE","symbol":"2330","timeframe":5,
		"data":[{"time":1685322000000000,"open":574,"high":574,"low":572,"close":572,"volume":8450,"average":573.82},
		        {"time":1685322300000,"open":1,"close":2}]}`, nil)
	c := newClient(t, srv.URL+"/marketdata", Option{})
	cs, err := c.Stock.Intraday.Candles(testContext(t), "2330", CandlesParams{})
	if err != nil {
		t.Fatal(err)
	}
	if cs.Timeframe != "5" || cs.Data[0].Date != "2023-05-29T09:00:00.000+08:00" || cs.Data[1].Date != "2023-05-29T09:05:00.000+08:00" {
		t.Errorf("got %+v", cs)
	}
	if cs.Data[1].Has("volume") || !cs.Data[1].Has("close") {
		t.Error("presence of a bar's fields lost")
	}
}

func TestFutOptVariants(t *testing.T) {
	ctx := testContext(t)
	products := serveBody(t, 200, `{"type":"FUTURE","data":[{"symbol":"TXF","endSession":1,"unknown":{"x":[1]}}]}`, nil)
	pr, err := newClient(t, products.URL, Option{}).FutOpt.Intraday.Products(ctx, FutOptProductsParams{Type: "FUTURE"})
	if err != nil || pr.Data[0].EndSession != "1" {
		t.Fatalf("numeric endSession: %v %+v", err, pr)
	}
	ticker := serveBody(t, 200, `{"date":"2024-09-18","type":"FUTURE","symbol":"TXFI4","name":"x","referencePrice":"21703.5"}`, nil)
	tk, err := newClient(t, ticker.URL, Option{}).FutOpt.Intraday.Ticker(ctx, "TXFI4", FutOptParams{})
	if err != nil || tk.ReferencePrice != "21703.5" {
		t.Fatalf("string referencePrice: %v %+v", err, tk)
	}
	if f, _ := tk.ReferencePrice.Float64(); f != 21703.5 {
		t.Errorf("ReferencePrice.Float64 = %v", f)
	}
	quote := serveBody(t, 200, `{"date":"2023-12-12","type":"FUTURE","symbol":"TXFA4","lastTrade":{"price":1,"serial":165753},"serial":"165753","isTrial":true}`, nil)
	q, err := newClient(t, quote.URL, Option{}).FutOpt.Intraday.Quote(ctx, "TXFA4", FutOptParams{})
	if err != nil || q.LastTrade.Serial != 165753 || q.Serial != 165753 || !q.IsTrial {
		t.Fatalf("numeric lastTrade.serial: %v %+v", err, q)
	}
	old := serveBody(t, 200, `{"symbol":"TXF","exchange":"TAIFEX","timeframe":"D","data":[{"date":"2024-01-02","open":1,"high":2,"low":0.5,"close":1.5,"volume":9,"turnover":100,"change":null}]}`, nil)
	hc, err := newClient(t, old.URL, Option{}).FutOpt.Historical.Candles(ctx, "TXF", FutOptHistoricalCandlesParams{})
	if err != nil || hc.Symbol != "TXF" || *hc.Data[0].Turnover != 100 || hc.Data[0].Change != nil {
		t.Fatalf("symbol-keyed historical candles: %v %+v", err, hc)
	}
}

func TestStockVariants(t *testing.T) {
	ctx := testContext(t)
	tech := serveBody(t, 200, `{"symbol":"2330","period":5,"data":[{"date":"2024-08-01","sma":940.4}]}`, nil)
	ind, err := newClient(t, tech.URL, Option{}).Stock.Technical.SMA(ctx, "2330", TechnicalParams{Period: 5})
	if err != nil || ind.Timeframe != "" || ind.Data[0].SMA != 940.4 {
		t.Fatalf("bare technical: %v %+v", err, ind)
	}
	stats := serveBody(t, 200, `{"date":"2023-02-09","symbol":"0050","closePrice":120.9,"previousClose":null}`, nil)
	st, err := newClient(t, stats.URL, Option{}).Stock.Historical.Stats(ctx, "0050")
	if err != nil || st.ChangePercent != nil || st.ClosePrice != 120.9 {
		t.Fatalf("stats without changePercent: %v %+v", err, st)
	}
	empty := serveBody(t, 200, `{"date":"2023-02-09","type":"EQUITY","exchange":"TWSE","symbol":"2330","data":null}`, nil)
	tr, err := newClient(t, empty.URL, Option{}).Stock.Intraday.Trades(ctx, "2330", TradesParams{})
	if err != nil || len(tr.Data) != 0 {
		t.Fatalf("null data: %v %+v", err, tr)
	}
	bad := serveBody(t, 400, `{"statusCode":400,"message":["property date should not exist","x"],"error":"Bad Request"}`, nil)
	_, err = newClient(t, bad.URL, Option{}).Stock.CorporateActions.Dividends(ctx, CorporateActionsParams{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Message != "property date should not exist; x" {
		t.Fatalf("validation error: %v", err)
	}
}
