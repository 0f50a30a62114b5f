package marketdatatest_test

import (
	"testing"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/tidwall/gjson"
)

func TestSimulatedFeed(t *testing.T) {
	srv := newServer(t, marketdatatest.WithSimulatedFeed(200), marketdatatest.WithFeedSeed(1))
	stock := dial(t, srv.StockURL())
	stock.auth("k")
	subs := map[string]string{} // id -> channel/symbol
	for _, f := range []string{
		`{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}`,
		`{"event":"subscribe","data":{"channel":"books","symbol":"2317"}}`,
		`{"event":"subscribe","data":{"channel":"candles","symbol":"2330"}}`,
		`{"event":"subscribe","data":{"channel":"aggregates","symbol":"2330"}}`,
		`{"event":"subscribe","data":{"channel":"indices","symbol":"IR0001"}}`,
		`{"event":"subscribe","data":{"channel":"trades","symbol":"6789","intradayOddLot":true}}`,
	} {
		stock.send(f)
		// The snapshot directly follows the ack.
		var ack gjson.Result
		for {
			if msg := stock.read(); msg.Get("event").Str == "subscribed" {
				ack = msg.Get("data")
				break
			}
		}
		snap := stock.expect("snapshot")
		if snap.Get("id").Str != ack.Get("id").Str || snap.Get("channel").Str != ack.Get("channel").Str {
			t.Fatalf("snapshot %s after ack %s", snap.Raw, ack.Raw)
		}
		subs[ack.Get("id").Str] = ack.Get("channel").Str + "/" + ack.Get("symbol").Str
	}

	seen := map[string]int{}
	for len(seen) < len(subs) || minCount(seen) < 3 {
		msg := stock.read()
		if ev := msg.Get("event").Str; ev != "data" {
			continue
		}
		key, ok := subs[msg.Get("id").Str]
		if !ok {
			t.Fatalf("data for unknown id: %s", msg.Raw)
		}
		checkPayload(t, key, msg)
		seen[key]++
	}

	fut := dial(t, srv.FutOptV11URL())
	fut.auth("k")
	fut.send(`{"event":"subscribe","data":{"channel":"trades","symbol":"TXFG4","afterHours":true}}`)
	id := fut.expect("subscribed").Get("data.id").Str
	for n := 0; n < 5; {
		msg := fut.read()
		if msg.Get("id").Str != id {
			continue
		}
		n++
		d := msg.Get("data")
		if d.Get("type").Str != "FUTURE_AH" || d.Get("exchange").Str != "TAIFEX" || len(d.Get("trades").Array()) != 1 ||
			!d.Get("total.tradeVolume").Exists() || d.Get("trades.0.price").Float() < 20000 || !d.Get("serial").Exists() {
			t.Fatalf("futopt trades %s", d.Raw)
		}
	}
}

func minCount(m map[string]int) int {
	n := -1
	for _, v := range m {
		if n < 0 || v < n {
			n = v
		}
	}
	return n
}

func checkPayload(t *testing.T, key string, msg gjson.Result) {
	t.Helper()
	d := msg.Get("data")
	for _, f := range []string{"symbol", "type", "exchange"} {
		if !d.Get(f).Exists() {
			t.Fatalf("%s: no %s in %s", key, f, d.Raw)
		}
	}
	switch key {
	case "trades/2330":
		if p := d.Get("price").Float(); p < 900 || p > 1100 {
			t.Fatalf("2330 at %v", p)
		}
		for _, f := range []string{"bid", "ask", "size", "volume", "time", "serial"} {
			if !d.Get(f).Exists() {
				t.Fatalf("no %s in %s", f, d.Raw)
			}
		}
	case "books/2317":
		if len(d.Get("bids").Array()) != 5 || len(d.Get("asks").Array()) != 5 || d.Get("bids.0.price").Float() >= d.Get("asks.0.price").Float() {
			t.Fatalf("books %s", d.Raw)
		}
		if p := d.Get("bids.0.price").Float(); p < 180 || p > 220 {
			t.Fatalf("2317 at %v", p)
		}
	case "candles/2330":
		if len(d.Get("date").Str) != len("2023-05-29T13:30:00.000+08:00") || !d.Get("average").Exists() {
			t.Fatalf("candles %s", d.Raw)
		}
	case "aggregates/2330":
		if d.Get("name").Str != "台積電" || !d.Get("total.tradeValue").Exists() || len(d.Get("bids").Array()) != 5 {
			t.Fatalf("aggregates %s", d.Raw)
		}
	case "indices/IR0001":
		if d.Get("type").Str != "INDEX" || d.Get("index").Float() < 15000 {
			t.Fatalf("indices %s", d.Raw)
		}
	case "trades/6789":
		if d.Get("size").Int() < 1 || d.Get("size").Int() > 999 {
			t.Fatalf("odd-lot trades %s", d.Raw)
		}
	}
}
