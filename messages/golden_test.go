package messages

import (
	"fmt"
	"testing"

	"github.com/tidwall/gjson"
)

// The samples of protocol.md §5, copied verbatim into testdata/*.json, and
// the inline frames of §3 and §4, copied verbatim below. protocol.md has no
// futures/options aggregates sample; testdata/futopt_aggregates.json is
// built from the fields §5 lists for it (changePercnet, priceLimits,
// lastTrial, tradingHalt) and the public documentation's field table.

const (
	sampleAuthenticated  = `{"event":"authenticated","data":{"message":"Authenticated successfully"}}`
	sampleErrorNoCode    = `{"event":"error","data":{"message":"Invalid authentication credentials"}}`
	sampleErrorTopLevel  = `{"event":"error","message":"..."}`
	sampleHeartbeat      = `{"event":"heartbeat","data":{"time":1685338200000000}}`
	samplePong           = `{"event":"pong","data":{"time":1685338200000000,"state":"anything"}}`
	sampleSubscribed     = `{"event":"subscribed","data":{"id":"ID","channel":"trades","symbol":"2330"}}`
	sampleSubscriptions  = `{"event":"subscriptions"}`
	sampleAuthAPIKey     = `{"event":"auth","data":{"apikey":"KEY"}}`
	sampleAuthToken      = `{"event":"auth","data":{"token":"BEARER"}}`
	sampleAuthSDKToken   = `{"event":"auth","data":{"sdkToken":"TOKEN"}}`
	sampleSubscribeOne   = `{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}`
	sampleSubscribeMany  = `{"event":"subscribe","data":{"channel":"books","symbols":["2330","2317"]}}`
	sampleUnsubscribeOne = `{"event":"unsubscribe","data":{"id":"ID"}}`
	sampleUnsubscribeIDs = `{"event":"unsubscribe","data":{"ids":["ID1","ID2"]}}`
	samplePing           = `{"event":"ping","data":{"state":"anything"}}`
)

// dataFiles are the data frame samples, in benchmark order.
var dataFiles = []string{
	"stock_trades", "stock_candles", "stock_books", "stock_aggregates", "stock_indices",
	"futopt_trades", "futopt_candles", "futopt_books", "futopt_aggregates",
}

var stockBids = []PriceLevel{{567, 87}, {566, 2454}, {565, 611}, {564, 609}, {563, 636}}
var stockAsks = []PriceLevel{{568, 800}, {569, 806}, {570, 3643}, {571, 1041}, {572, 2052}}

func sampleMeta(ch Channel) Meta { return Meta{ID: "<CHANNEL_ID>", Channel: ch} }

// goldenData holds the fully expected value of each data sample.
var goldenData = map[string]Message{
	"stock_trades": &Trade{
		Meta:   sampleMeta(ChannelTrades),
		Symbol: "2330", Type: "EQUITY", Exchange: "TWSE", Market: "TSE",
		Bid: 567, Ask: 568, Price: 568, Size: 4778, Volume: 54538,
		IsClose: true, Time: 1685338200000000, Serial: 6652422,
	},
	"stock_candles": &Candle{
		Meta:   sampleMeta(ChannelCandles),
		Symbol: "2330", Type: "EQUITY", Exchange: "TWSE", Market: "TSE",
		Date: "2023-05-29T13:30:00.000+08:00",
		Open: 568, High: 568, Low: 568, Close: 568, Volume: 4778, Average: 568.77,
	},
	"stock_books": &Book{
		Meta:   sampleMeta(ChannelBooks),
		Symbol: "2330", Type: "EQUITY", Exchange: "TWSE", Market: "TSE",
		Bids: stockBids, Asks: stockAsks, Time: 1685338200000000,
	},
	"stock_aggregates": &Aggregate{
		Meta: sampleMeta(ChannelAggregates),
		Date: "2023-05-29", Type: "EQUITY", Exchange: "TWSE", Market: "TSE", Symbol: "2330", Name: "台積電",
		ReferencePrice: 566, PreviousClose: 566,
		OpenPrice: 574, OpenTime: 1685322000049353,
		HighPrice: 574, HighTime: 1685322000049353,
		LowPrice: 564, LowTime: 1685327142152580,
		ClosePrice: 568, CloseTime: 1685338200000000,
		AvgPrice: 568.77, Change: 2, ChangePercent: 0.35, Amplitude: 1.77,
		LastPrice: 568, LastSize: 4778,
		Bids: stockBids, Asks: stockAsks,
		Total: AggregateTotal{
			TradeValue: 31019803000, TradeVolume: 54538, TradeVolumeAtBid: 19853,
			TradeVolumeAtAsk: 27900, Transaction: 9530, Time: 1685338200000000,
		},
		LastTrade:   LastTick{Bid: 567, Ask: 568, Price: 568, Size: 4778, Time: 1685338200000000, Serial: 6652422},
		LastTrial:   LastTick{Bid: 567, Ask: 568, Price: 568, Size: 4772, Time: 1685338196400347, Serial: 6651941},
		IsClose:     true,
		Serial:      6652422,
		LastUpdated: 1685338200000000,
	},
	"stock_indices": &Index{
		Meta:   sampleMeta(ChannelIndices),
		Symbol: "IR0001", Type: "INDEX", Exchange: "TWSE", Index: 35276.44, Time: 1686114510000000,
	},
	"futopt_trades": &Trade{
		Meta:   sampleMeta(ChannelTrades),
		Symbol: "TXFG4", Type: "FUTURE_AH", Exchange: "TAIFEX",
		Trades: []TradeTick{{Price: 23379, Size: 1, Bid: 23379, Ask: 23380}},
		Total:  TradeTotal{TradeVolume: 12431, TotalBidMatch: 8191, TotalAskMatch: 7964},
		Time:   1718880340342000, Serial: 23143,
	},
	"futopt_candles": &Candle{
		Meta:   sampleMeta(ChannelCandles),
		Symbol: "TXFG4", Type: "FUTURE", Exchange: "TAIFEX",
		Date: "2024-06-21T11:59:00.000+08:00",
		Open: 23194, High: 23195, Low: 23187, Close: 23187, Volume: 215, Average: 23176.58,
	},
	"futopt_books": &Book{
		Meta:   sampleMeta(ChannelBooks),
		Symbol: "TXFG4", Type: "FUTURE", Exchange: "TAIFEX",
		Bids: []PriceLevel{{23187, 13}, {23186, 15}, {23185, 21}, {23184, 11}, {23183, 15}},
		Asks: []PriceLevel{{23189, 5}, {23190, 14}, {23191, 17}, {23192, 19}, {23193, 15}},
		Time: 1718942376775000,
	},
	"futopt_aggregates": &Aggregate{
		Meta: sampleMeta(ChannelAggregates),
		Date: "2024-06-21", Type: "FUTURE_AH", Exchange: "TAIFEX", Symbol: "TXFG4", Name: "臺股期貨074",
		PreviousClose: 23377,
		OpenPrice:     23354, OpenTime: 1718874000000000,
		HighPrice: 23400, HighTime: 1718876520000000,
		LowPrice: 23330, LowTime: 1718878260000000,
		ClosePrice: 23379, CloseTime: 1718880340342000,
		AvgPrice: 23371.53, Change: 2, ChangePercent: 0.01, Amplitude: 0.3,
		LastPrice: 23379, LastSize: 1,
		Total:     AggregateTotal{TradeVolume: 12431, TotalBidMatch: 8191, TotalAskMatch: 7964},
		LastTrade: LastTick{Price: 23379, Size: 1, Time: 1718880340342000, Serial: 23143},
		LastTrial: LastTick{Price: 23354, Size: 12, Time: 1718873999800000, Serial: 102},
		PriceLimits: PriceLimits{
			Price: 25714, Bid: 25714, Ask: 21040, Curb: 0,
			Raw: []byte(`{"price":25714,"bid":25714,"ask":21040,"curb":0}`),
		},
		TradingHalt: TradingHalt{IsHalted: false},
		Serial:      23143,
		LastUpdated: 1718880340342000,
	},
}

// goldenControl holds the inline frames of protocol.md and their values.
var goldenControl = []struct {
	raw  string
	want Message
}{
	{sampleAuthenticated, &Authenticated{Message: "Authenticated successfully"}},
	{sampleErrorNoCode, &ErrorFrame{Message: "Invalid authentication credentials"}},
	{sampleErrorTopLevel, &ErrorFrame{Message: "..."}},
	{sampleHeartbeat, &Heartbeat{Time: 1685338200000000}},
	{samplePong, &Pong{Time: 1685338200000000, State: []byte(`"anything"`)}},
	{sampleSubscribed, &AckFrame{Acks: []Ack{{ID: "ID", Channel: ChannelTrades, Symbol: "2330"}}}},
	{sampleSubscriptions, &Unknown{Event: "subscriptions", Raw: []byte(sampleSubscriptions)}},
	// Client-to-server frames are not expected inbound; were one echoed,
	// it would pass through like any unknown event.
	{sampleAuthAPIKey, &Unknown{Event: "auth", Raw: []byte(sampleAuthAPIKey)}},
	{sampleAuthToken, &Unknown{Event: "auth", Raw: []byte(sampleAuthToken)}},
	{sampleAuthSDKToken, &Unknown{Event: "auth", Raw: []byte(sampleAuthSDKToken)}},
	{sampleSubscribeOne, &Unknown{Event: "subscribe", Raw: []byte(sampleSubscribeOne)}},
	{sampleSubscribeMany, &Unknown{Event: "subscribe", Raw: []byte(sampleSubscribeMany)}},
	{sampleUnsubscribeOne, &Unknown{Event: "unsubscribe", Raw: []byte(sampleUnsubscribeOne)}},
	{sampleUnsubscribeIDs, &Unknown{Event: "unsubscribe", Raw: []byte(sampleUnsubscribeIDs)}},
	{samplePing, &Unknown{Event: "ping", Raw: []byte(samplePing)}},
}

func TestGoldenData(t *testing.T) {
	for _, name := range dataFiles {
		t.Run(name, func(t *testing.T) {
			raw := loadSample(t, name)
			got := decodeBoth(t, raw)
			if d := diff(goldenData[name], withoutHas(got)); d != "" {
				t.Errorf("decoded value differs:\n%s", d)
			}
			checkHas(t, got, raw)
			if k := got.Kind(); k != KindData {
				t.Errorf("Kind() = %v, want data", k)
			}
		})
	}
}

func TestGoldenControl(t *testing.T) {
	for _, c := range goldenControl {
		t.Run(c.raw, func(t *testing.T) {
			got := decodeBoth(t, []byte(c.raw))
			if d := diff(c.want, got); d != "" {
				t.Errorf("decoded value differs:\n%s", d)
			}
			f, err := NewDecoder().Frame([]byte(c.raw))
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind() != f.Kind && !(f.Kind == KindUnknown && got.Kind() == KindUnknown) {
				t.Errorf("Kind() = %v, frame kind %v", got.Kind(), f.Kind)
			}
		})
	}
}

// TestGoldenFrame checks the envelope of every sample.
func TestGoldenFrame(t *testing.T) {
	d := NewDecoder()
	for _, name := range dataFiles {
		raw := loadSample(t, name)
		f, err := d.Frame(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := goldenData[name]
		wantCh := Channel(gjson.GetBytes(raw, "channel").Str)
		if f.Kind != KindData || f.Event != "data" || f.ID != "<CHANNEL_ID>" || f.Channel != wantCh {
			t.Errorf("%s: frame = {%v %q %q %q}", name, f.Kind, f.Event, f.ID, f.Channel)
		}
		if f.Data.Raw != gjson.GetBytes(raw, "data").Raw || !f.Data.IsObject() {
			t.Errorf("%s: Data.Raw does not match the data member", name)
		}
		if f.Data.Index <= 0 || string(raw[f.Data.Index:f.Data.Index+len(f.Data.Raw)]) != f.Data.Raw {
			t.Errorf("%s: Data.Index %d does not point at the data member", name, f.Data.Index)
		}
		if &f.Raw[0] != &raw[0] {
			t.Errorf("%s: Raw is a copy, want the input", name)
		}
		if m.Kind() != KindData {
			t.Errorf("%s: Kind() = %v", name, m.Kind())
		}
	}
	f, err := d.Frame([]byte(sampleSubscriptions))
	if err != nil || f.Kind != KindSubscriptions || f.Data.Exists() {
		t.Errorf("subscriptions frame = %+v, %v", f, err)
	}
}

// checkHas compares every Has answer with the presence of the field in the
// frame's data: every known name, nested ones included.
func checkHas(t *testing.T, m Message, raw []byte) {
	t.Helper()
	data := gjson.GetBytes(raw, "data")
	present := func(path string) bool {
		v := data.Get(path)
		return v.Exists() && v.Type != gjson.Null
	}
	check := func(what string, got, want bool) {
		t.Helper()
		if got != want {
			t.Errorf("Has(%q) = %v, want %v", what, got, want)
		}
	}
	switch v := m.(type) {
	case *Trade:
		for name := range tradeFields {
			check(name, v.Has(name), present(name))
		}
		for name := range tradeTotalFields {
			check("total."+name, v.Has("total."+name), present("total."+name))
			check("Total "+name, v.Total.Has(name), present("total."+name))
		}
		for i := range v.Trades {
			for name := range tickFields {
				path := fmt.Sprintf("trades.%d.%s", i, name)
				check(path, v.Trades[i].Has(name), present(path))
			}
		}
	case *Candle:
		for name := range candleFields {
			check(name, v.Has(name), present(name))
		}
	case *Book:
		for name := range bookFields {
			check(name, v.Has(name), present(name))
		}
	case *Aggregate:
		for name := range aggregateFields {
			want := present(name)
			if name == "changePercent" || name == "changePercnet" {
				want = present("changePercent") || present("changePercnet")
			}
			check(name, v.Has(name), want)
		}
		for _, nested := range []struct {
			name   string
			fields map[string]uint8
		}{{"total", aggregateTotalFields}, {"lastTrade", lastTickFields}, {"lastTrial", lastTickFields}, {"priceLimits", priceLimitsFields}} {
			for name := range nested.fields {
				path := nested.name + "." + name
				want := present(path)
				if nested.name == "priceLimits" { // members of other types are kept raw only
					want = data.Get(path).Type == gjson.Number
				}
				check(path, v.Has(path), want)
			}
		}
	case *Index:
		for name := range indexFields {
			check(name, v.Has(name), present(name))
		}
	default:
		return
	}
	if hasAny(m, "noSuchField") || hasAny(m, "total.noSuchField") || hasAny(m, "") {
		t.Errorf("Has reports an unknown field")
	}
}

func hasAny(m Message, name string) bool {
	type haser interface{ Has(string) bool }
	h, ok := m.(haser)
	return ok && h.Has(name)
}
