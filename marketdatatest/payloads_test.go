package marketdatatest_test

import (
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/messages"
)

// Every builder's payload decodes with the SDK's decoder, as what it says.
func TestPayloadBuildersDecode(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 30, 15, 0, time.UTC)
	frame := func(channel string, payload []byte) *messages.Frame {
		t.Helper()
		f, err := messages.NewDecoder().Frame(marketdatatest.DataFrame(channel, "id", payload))
		if err != nil {
			t.Fatalf("%s: %v", payload, err)
		}
		return &f
	}
	d := messages.NewDecoder()
	var tr messages.Trade
	if err := d.Trade(frame("trades", marketdatatest.FutOptTradeJSON(marketdatatest.FutOptTrade{
		Symbol: "TXFL6", Fills: []marketdatatest.Fill{{Price: 23000, Size: 2, Bid: 22999}}, TradeVolume: 10, Serial: 5, Time: at,
	})), &tr); err != nil || len(tr.Trades) != 1 || tr.Trades[0].Price != 23000 || tr.Total.TradeVolume != 10 || tr.Trades[0].Has("ask") || !tr.Trades[0].Has("bid") {
		t.Fatalf("futopt trade %+v: %v", tr, err)
	}
	var bk messages.Book
	if err := d.Book(frame("books", marketdatatest.FutOptBooksJSON("TXFL6", []marketdatatest.Level{{Price: 1, Size: 2}}, nil, at)), &bk); err != nil || len(bk.Bids) != 1 || bk.Exchange != "TAIFEX" {
		t.Fatalf("futopt book %+v: %v", bk, err)
	}
	for _, futopt := range []bool{false, true} {
		var c messages.Candle
		if err := d.Candle(frame("candles", marketdatatest.CandleJSON(marketdatatest.Bar{Symbol: "2330", FutOpt: futopt, Minute: at, Open: 1, High: 3, Low: 1, Close: 2, Volume: 9})), &c); err != nil || c.High != 3 || c.Volume != 9 || c.Has("average") {
			t.Fatalf("candle %+v: %v", c, err)
		}
		var a messages.Aggregate
		if err := d.Aggregate(frame("aggregates", marketdatatest.AggregateJSON(marketdatatest.Quote{Symbol: "2330", FutOpt: futopt, LastPrice: 568, TradeVolume: 100, Time: at})), &a); err != nil || a.LastPrice != 568 || a.Total.TradeVolume != 100 || a.Has("openPrice") {
			t.Fatalf("aggregate %+v: %v", a, err)
		}
	}
	var ix messages.Index
	if err := d.Index(frame("indices", marketdatatest.IndexJSON("IR0001", 23456.7, at)), &ix); err != nil || ix.Index != 23456.7 {
		t.Fatalf("index %+v: %v", ix, err)
	}
}
