package rest

import (
	"testing"
)

// TestGolden decodes every sample response of the reference.
func TestGolden(t *testing.T) {
	srv := fixtures(t, map[string]string{
		"stock/intraday/tickers":                     "stock_tickers",
		"stock/intraday/ticker":                      "stock_ticker",
		"stock/intraday/quote":                       "stock_quote",
		"stock/intraday/candles":                     "stock_candles",
		"stock/intraday/trades":                      "stock_trades",
		"stock/intraday/volumes":                     "stock_volumes",
		"stock/historical/candles":                   "historical_candles",
		"stock/historical/stats":                     "historical_stats",
		"stock/snapshot/quotes":                      "snapshot_quotes",
		"stock/snapshot/movers":                      "snapshot_movers",
		"stock/snapshot/actives":                     "snapshot_actives",
		"stock/technical/sma":                        "technical_sma",
		"stock/technical/rsi":                        "technical_rsi",
		"stock/technical/kdj":                        "technical_kdj",
		"stock/technical/macd":                       "technical_macd",
		"stock/technical/bb":                         "technical_bb",
		"stock/corporate-actions/capital-changes":    "capital_changes",
		"stock/corporate-actions/dividends":          "dividends",
		"stock/corporate-actions/listing-applicants": "listing_applicants",
		"futopt/intraday/products":                   "futopt_products",
		"futopt/intraday/tickers":                    "futopt_tickers",
		"futopt/intraday/ticker":                     "futopt_ticker",
		"futopt/intraday/quote":                      "futopt_quote",
		"futopt/intraday/candles":                    "futopt_candles",
		"futopt/intraday/trades":                     "futopt_trades",
		"futopt/intraday/volumes":                    "futopt_volumes",
		"futopt/historical/candles":                  "futopt_historical_candles",
		"futopt/historical/daily":                    "futopt_daily",
	})
	c := newClient(t, srv.URL+"/marketdata", Option{})
	ctx := testContext(t)
	check := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: wrong", what)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	tickers, err := c.Stock.Intraday.Tickers(ctx, StockTickersParams{Type: "EQUITY"})
	must(err)
	check("tickers", tickers.IsNormal && len(tickers.Data) == 3 && tickers.Data[0] == SymbolName{"0050", "元大台灣50"})

	tk, err := c.Stock.Intraday.Ticker(ctx, "2330", IntradayParams{})
	must(err)
	check("ticker", tk.Name == "台積電" && tk.LimitUpPrice == 1985 && tk.CanDayTrade && !tk.IsAttention && tk.BoardLot == 1000 && tk.SecurityType == "01")

	q, err := c.Stock.Intraday.Quote(ctx, "2330", IntradayParams{})
	must(err)
	check("quote", q.Symbol == "2330" && q.LastPrice == 1775 && q.AvgPrice == 1784.34 && len(q.Bids) == 5 && q.Asks[4].Price == 1800 &&
		q.Total.TradeValue == 72462105000 && q.LastTrial.Serial == 16618018 && q.IsClose && q.Has("isClose") && !q.Has("isOpen") &&
		q.LastUpdated == 1769751000000000 && q.Has("lastTrade.serial"))

	cs, err := c.Stock.Intraday.Candles(ctx, "2330", CandlesParams{})
	must(err)
	check("candles", len(cs.Data) == 3 && cs.Timeframe == "" && cs.Data[1].Date == "2023-05-29T09:01:00.000+08:00" &&
		cs.Data[0].Volume == 8450 && cs.Data[2].Average == 573.26 && cs.Data[0].Symbol == "2330" && cs.Data[0].Has("volume"))

	tr, err := c.Stock.Intraday.Trades(ctx, "2330", TradesParams{})
	must(err)
	check("trades", len(tr.Data) == 5 && tr.Market == "TSE")
	first := tr.Data[0]
	check("trade without bid/ask/volume", first.Serial == 99999999 && first.Price == 1775 && first.Size == 96 &&
		!first.Has("volume") && !first.Has("bid") && !first.Has("ask") && first.Has("price") && first.Volume == 0 && first.Symbol == "2330")
	second := tr.Data[1]
	check("trade row", second.Has("volume") && second.Volume == 40612 && second.Bid == 1775 && second.Ask == 1780 && second.Time == 1769751000000000)

	vs, err := c.Stock.Intraday.Volumes(ctx, "2330", IntradayParams{})
	must(err)
	check("volumes", len(vs.Data) == 6 && vs.Data[1] == VolumeAtPrice{1795, 6886, 2118, 4768})

	hc, err := c.Stock.Historical.Candles(ctx, "0050", HistoricalCandlesParams{Fields: []string{"open", "close"}})
	must(err)
	check("historical candles", len(hc.Data) == 3 && *hc.Data[0].Close == 120.85 && hc.Data[0].Turnover == nil && *hc.Data[2].Volume == 14297030)

	st, err := c.Stock.Historical.Stats(ctx, "0050")
	must(err)
	check("stats", st.Week52High == 145.05 && st.PreviousClose == 120.85000000000001 && st.ChangePercent != nil && *st.ChangePercent == 0.04)

	sq, err := c.Stock.Snapshot.Quotes(ctx, "TSE", SnapshotParams{})
	must(err)
	check("snapshot quotes", sq.Time == "133500" && len(sq.Data) == 2 && sq.Data[1].TradeValue == 11816050 && sq.Data[0].LastUpdated == 1685338200000000)
	sm, err := c.Stock.Snapshot.Movers(ctx, "TSE", MoversParams{Direction: "up", Change: "percent", GTE: Float(9)})
	must(err)
	check("movers", sm.Change == "percent" && sm.Data[0].Symbol == "2901" && sm.Data[0].ChangePercent == 10)
	sa, err := c.Stock.Snapshot.Actives(ctx, "TSE", ActivesParams{Trade: "value"})
	must(err)
	check("actives", sa.Trade == "value" && sa.Data[0].TradeValue == 31019803000)

	tp := TechnicalParams{Period: 5, RPeriod: 9, KPeriod: 3, DPeriod: 3, Fast: 12, Slow: 26, Signal: 9}
	sma, err := c.Stock.Technical.SMA(ctx, "2330", tp)
	must(err)
	check("sma", sma.Period == 5 && sma.Data[1].SMA == 936.2)
	rsi, err := c.Stock.Technical.RSI(ctx, "2330", tp)
	must(err)
	check("rsi", rsi.Data[0].RSI == 41.44144144144145)
	kdj, err := c.Stock.Technical.KDJ(ctx, "2330", tp)
	must(err)
	check("kdj", kdj.RPeriod == 9 && kdj.Data[0].J == 43.333333333333336)
	macd, err := c.Stock.Technical.MACD(ctx, "2330", tp)
	must(err)
	check("macd", macd.Slow == 26 && macd.Data[0].MACDLine == -8.888098865883194)
	bb, err := c.Stock.Technical.BB(ctx, "2330", tp)
	must(err)
	check("bb", bb.Data[0].Upper == 1089.4184184924368 && bb.Data[0].Lower == 905.4815815075632)

	cc, err := c.Stock.CorporateActions.CapitalChanges(ctx, CorporateActionsParams{})
	must(err)
	check("capital changes", len(cc.Data) == 3 && cc.Sort == "desc" && cc.Data[1].HaltDate == "" && cc.Data[0].ActionType == "capital_reduction" &&
		string(cc.Data[0].Raw["reason"]) == `"彌補虧損"`)
	dv, err := c.Stock.CorporateActions.Dividends(ctx, CorporateActionsParams{})
	must(err)
	check("dividends", dv.Data[0].PreviousClose == nil && *dv.Data[0].Dividend == 6.5 && *dv.Data[1].DividendType == "權息" && *dv.Data[1].StockDividendShares == 129.99998584)
	la, err := c.Stock.CorporateActions.ListingApplicants(ctx, CorporateActionsParams{})
	must(err)
	check("listing applicants", la.Data[0].ContractApprovalDate != nil && la.Data[1].ContractFilingDate != nil && la.Data[0].ListedDate == nil &&
		*la.Data[0].CapitalAtApplication == 236340000 && la.Data[1].Remarks == "創新板")

	pr, err := c.FutOpt.Intraday.Products(ctx, FutOptProductsParams{Type: "FUTURE", AfterHours: true})
	must(err)
	check("products", pr.Session == "AFTERHOURS" && pr.Data[0].Symbol == "RHF" && pr.Data[0].EndSession == "0" && pr.Data[0].ContractSize == 100000 && pr.Data[1].QuoteAcceptable)
	ft, err := c.FutOpt.Intraday.Tickers(ctx, FutOptTickersParams{Type: "FUTURE", Product: "TXF"})
	must(err)
	check("futopt tickers", ft.Product == "TXF" && ft.Data[0].ReferencePrice == "22275" && ft.Data[1].FlowGroup == 1 && ft.Data[0].IsDynamicBanding)
	fk, err := c.FutOpt.Intraday.Ticker(ctx, "TXFI4", FutOptParams{})
	must(err)
	check("futopt ticker", fk.Name == "臺股期貨094" && fk.ReferencePrice == "21703" && fk.SettlementDate == "2024-09-18")
	fq, err := c.FutOpt.Intraday.Quote(ctx, "TXFA4", FutOptParams{})
	must(err)
	check("futopt quote", fq.LastTrade.Serial == 165753 && fq.Has("lastTrade.serial") && fq.Serial == 165753 && fq.Total.TradeVolume == 1626 &&
		fq.Has("total.totalBidMatch") && !fq.Has("total.tradeValue") && !fq.Has("bids") && fq.Type == "FUTURE")
	fc, err := c.FutOpt.Intraday.Candles(ctx, "TXFC5", CandlesParams{Timeframe: "30"})
	must(err)
	check("futopt candles", fc.Timeframe == "30" && len(fc.Data) == 2 && fc.Data[1].Average == 22511 && fc.Data[0].Symbol == "TXFC5")
	ftr, err := c.FutOpt.Intraday.Trades(ctx, "TXFA4", TradesParams{})
	must(err)
	check("futopt trades", len(ftr.Data) == 3 && ftr.Data[0].Serial == 218307 && ftr.Data[0].Price == 17660 && !ftr.Data[0].Has("volume") && ftr.Data[2].Size == 1)
	fv, err := c.FutOpt.Intraday.Volumes(ctx, "TXFA4", FutOptParams{})
	must(err)
	check("futopt volumes", len(fv.Data) == 3 && fv.Data[1].Volume == 392 && fv.Data[1].VolumeAtBid == 0)
	fhc, err := c.FutOpt.Historical.Candles(ctx, "TXF", FutOptHistoricalCandlesParams{Timeframe: "5"})
	must(err)
	check("futopt historical candles", fhc.Product == "TXF" && fhc.ContractMonth == "1!" && fhc.Data[0].ContractMonth == "202609" &&
		*fhc.Data[0].Transaction == 249 && fhc.Data[0].High == nil)
	fd, err := c.FutOpt.Historical.Daily(ctx, "TXF", FutOptDailyParams{})
	must(err)
	check("futopt daily", len(fd.Data) == 3 && fd.Data[0].CallPut == nil && *fd.Data[1].VolumeSpread == 6980 && *fd.Data[2].CallPut == "CALL" &&
		*fd.Data[2].StrikePrice == 45000 && fd.Data[2].ClosePrice == nil && fd.Data[2].VolumeSpread == nil)
}
