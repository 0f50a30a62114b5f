package messages

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// mustDecode decodes through both paths and returns the value.
func mustDecode[T Message](t *testing.T, raw string) T {
	t.Helper()
	m := decodeBoth(t, []byte(raw))
	v, ok := m.(T)
	if !ok {
		t.Fatalf("%s decoded as %T", raw, m)
	}
	checkHas(t, m, []byte(raw))
	return v
}

func TestErrorShapes(t *testing.T) {
	for _, c := range []struct {
		raw       string
		want      ErrorFrame
		rejection bool
	}{
		{`{"event":"error","data":{"message":"Invalid authentication credentials"}}`, ErrorFrame{0, "Invalid authentication credentials"}, true},
		{`{"event":"error","code":1001,"data":{"message":"Maximum number of connections reached"}}`, ErrorFrame{1001, "Maximum number of connections reached"}, false},
		{`{"event":"error","data":{"code":1003,"message":"Invalid channel"}}`, ErrorFrame{1003, "Invalid channel"}, false},
		{`{"event":"error","message":"Unauthenticated"}`, ErrorFrame{0, "Unauthenticated"}, false},
		{`{"event":"error","code":1000,"message":"Invalid authentication credentials"}`, ErrorFrame{1000, "Invalid authentication credentials"}, true},
		{`{"event":"error","data":{"code":1000,"message":"whatever"}}`, ErrorFrame{1000, "whatever"}, true},
		// A code that is not a verdict on the key, with the same message, is
		// not a rejection.
		{`{"event":"error","data":{"code":1011,"message":"Invalid authentication credentials"}}`, ErrorFrame{1011, "Invalid authentication credentials"}, false},
		{`{"event":"error","data":{"message":"Authentication timed out"}}`, ErrorFrame{0, "Authentication timed out"}, false},
		// Lenient corners: data first, code as a string, data as a string,
		// nothing at all, odd types ignored.
		{`{"event":"error","code":1001,"data":{"code":1002,"message":"in data"},"message":"top"}`, ErrorFrame{1002, "in data"}, false},
		{`{"event":"error","code":"1004","message":"Authentication timeout"}`, ErrorFrame{1004, "Authentication timeout"}, false},
		{`{"event":"error","data":"Invalid authentication credentials"}`, ErrorFrame{0, "Invalid authentication credentials"}, true},
		{`{"event":"error"}`, ErrorFrame{}, false},
		{`{"event":"error","data":null,"code":null}`, ErrorFrame{}, false},
		{`{"event":"error","code":{},"data":{"message":5}}`, ErrorFrame{}, false},
		{`{"data":{"message":"order"},"event":"error","code":1003}`, ErrorFrame{1003, "order"}, false},
	} {
		got := mustDecode[*ErrorFrame](t, c.raw)
		if *got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.raw, *got, c.want)
		}
		if got.IsCredentialRejection() != c.rejection {
			t.Errorf("%s: IsCredentialRejection() = %v", c.raw, !c.rejection)
		}
	}
}

func TestHeartbeatTime(t *testing.T) {
	const want = Timestamp(1685338200000000)
	for _, raw := range []string{
		`{"event":"heartbeat","data":{"time":1685338200000000}}`,
		`{"event":"heartbeat","data":{"time":"1685338200000000"}}`,
		`{"event":"heartbeat","data":{"time":1.6853382e15}}`,
	} {
		if got := mustDecode[*Heartbeat](t, raw); got.Time != want {
			t.Errorf("%s: Time = %d", raw, got.Time)
		}
	}
	for _, raw := range []string{`{"event":"heartbeat"}`, `{"event":"heartbeat","data":null}`, `{"event":"heartbeat","data":{}}`} {
		if got := mustDecode[*Heartbeat](t, raw); got.Time != 0 {
			t.Errorf("%s: Time = %d", raw, got.Time)
		}
	}
	if tm := want.Time(); !tm.Equal(time.Date(2023, 5, 29, 5, 30, 0, 0, time.UTC)) {
		t.Errorf("Time() = %v", tm)
	}
	if !Timestamp(0).Time().IsZero() || !Timestamp(0).IsZero() || want.IsZero() {
		t.Errorf("zero Timestamp is not zero time")
	}
}

func TestSerialNumberOrString(t *testing.T) {
	for _, raw := range []string{
		`{"event":"data","channel":"trades","data":{"symbol":"2330","serial":6652422}}`,
		`{"event":"data","channel":"trades","data":{"symbol":"2330","serial":"6652422"}}`,
	} {
		if got := mustDecode[*Trade](t, raw); got.Serial != 6652422 || !got.Has("serial") {
			t.Errorf("%s: Serial = %d, Has %v", raw, got.Serial, got.Has("serial"))
		}
	}
	for _, raw := range []string{
		`{"event":"data","channel":"books","data":{"symbol":"2330","serial":"42","bids":[]}}`,
		`{"event":"data","channel":"books","data":{"symbol":"2330","serial":42}}`,
	} {
		if got := mustDecode[*Book](t, raw); got.Serial != 42 {
			t.Errorf("%s: Serial = %d", raw, got.Serial)
		}
	}
	agg := mustDecode[*Aggregate](t, `{"event":"data","channel":"aggregates","data":{"symbol":"2330","serial":"7","lastTrade":{"serial":"8"},"lastTrial":{"serial":9}}}`)
	if agg.Serial != 7 || agg.LastTrade.Serial != 8 || agg.LastTrial.Serial != 9 {
		t.Errorf("aggregate serials = %d %d %d", agg.Serial, agg.LastTrade.Serial, agg.LastTrial.Serial)
	}
	// A serial that is not a number is not worth failing the frame over.
	raw := `{"event":"data","channel":"trades","data":{"symbol":"2330","serial":"abc","price":1}}`
	got, err := Decode([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	tr := got.(*Trade)
	if tr.Serial != 0 || tr.Has("serial") || tr.Price != 1 {
		t.Errorf("non-numeric serial: Serial %d, Has %v, Price %v", tr.Serial, tr.Has("serial"), tr.Price)
	}
}

func TestFlags(t *testing.T) {
	flags := []string{"isLimitDownPrice", "isLimitUpPrice", "isLimitDownBid", "isLimitUpBid", "isLimitDownAsk",
		"isLimitUpAsk", "isLimitDownHalt", "isLimitUpHalt", "isTrial", "isDelayedOpen", "isDelayedClose",
		"isContinuous", "isOpen", "isClose"}
	// All absent: false and not present.
	tr := mustDecode[*Trade](t, `{"event":"data","channel":"trades","data":{"symbol":"2330","price":1}}`)
	ag := mustDecode[*Aggregate](t, `{"event":"data","channel":"aggregates","data":{"symbol":"2330"}}`)
	for _, f := range flags {
		if tr.Has(f) || ag.Has(f) {
			t.Errorf("absent %s reported present", f)
		}
	}
	if tr.IsClose || tr.IsTrial || ag.IsClose || ag.IsTrial {
		t.Errorf("absent flags decoded true")
	}
	// Each flag on its own lands in its own field.
	for _, f := range flags {
		body := `{"symbol":"2330","` + f + `":true}`
		tr := mustDecode[*Trade](t, `{"event":"data","channel":"trades","data":`+body+`}`)
		ag := mustDecode[*Aggregate](t, `{"event":"data","channel":"aggregates","data":`+body+`}`)
		want := withoutHas(&Trade{Symbol: "2330", Meta: Meta{Channel: ChannelTrades}})
		setTradeFlag(want.(*Trade), f)
		if d := diff(want, withoutHas(tr)); d != "" {
			t.Errorf("trade %s:\n%s", f, d)
		}
		if countTrue(ag) != 1 {
			t.Errorf("aggregate %s: %d flags set", f, countTrue(ag))
		}
	}
	// false counts as present and false.
	tr = mustDecode[*Trade](t, `{"event":"data","channel":"trades","data":{"symbol":"2330","isClose":false}}`)
	if tr.IsClose || !tr.Has("isClose") {
		t.Errorf("isClose:false decoded as %v, Has %v", tr.IsClose, tr.Has("isClose"))
	}
}

func setTradeFlag(t *Trade, name string) {
	p := map[string]*bool{
		"isLimitDownPrice": &t.IsLimitDownPrice, "isLimitUpPrice": &t.IsLimitUpPrice,
		"isLimitDownBid": &t.IsLimitDownBid, "isLimitUpBid": &t.IsLimitUpBid,
		"isLimitDownAsk": &t.IsLimitDownAsk, "isLimitUpAsk": &t.IsLimitUpAsk,
		"isLimitDownHalt": &t.IsLimitDownHalt, "isLimitUpHalt": &t.IsLimitUpHalt,
		"isTrial": &t.IsTrial, "isDelayedOpen": &t.IsDelayedOpen, "isDelayedClose": &t.IsDelayedClose,
		"isContinuous": &t.IsContinuous, "isOpen": &t.IsOpen, "isClose": &t.IsClose,
	}[name]
	*p = true
}

func countTrue(a *Aggregate) int {
	n := 0
	for _, b := range []bool{a.IsLimitDownPrice, a.IsLimitUpPrice, a.IsLimitDownBid, a.IsLimitUpBid,
		a.IsLimitDownAsk, a.IsLimitUpAsk, a.IsLimitDownHalt, a.IsLimitUpHalt, a.IsTrial,
		a.IsDelayedOpen, a.IsDelayedClose, a.IsContinuous, a.IsOpen, a.IsClose} {
		if b {
			n++
		}
	}
	return n
}

func TestChangePercentSpellings(t *testing.T) {
	for _, key := range []string{"changePercent", "changePercnet"} {
		a := mustDecode[*Aggregate](t, `{"event":"data","channel":"aggregates","data":{"symbol":"TXFG4","`+key+`":-1.25}}`)
		if a.ChangePercent != -1.25 || !a.Has("changePercent") || !a.Has("changePercnet") {
			t.Errorf("%s: ChangePercent = %v, Has %v", key, a.ChangePercent, a.Has("changePercent"))
		}
	}
	a := mustDecode[*Aggregate](t, `{"event":"data","channel":"aggregates","data":{"symbol":"TXFG4"}}`)
	if a.Has("changePercent") || a.Has("changePercnet") {
		t.Errorf("absent changePercent reported present")
	}
}

func TestPong(t *testing.T) {
	for _, c := range []struct {
		raw   string
		state string // "" for nil
		time  Timestamp
	}{
		{`{"event":"pong"}`, "", 0},
		{`{"event":"pong","data":null}`, "", 0},
		{`{"event":"pong","data":{"time":1685338200000000}}`, "", 1685338200000000},
		{`{"event":"pong","data":{"time":"1685338200000000","state":"anything"}}`, `"anything"`, 1685338200000000},
		{`{"event":"pong","data":{"state":42}}`, `42`, 0},
		{`{"event":"pong","data":{"state":-1.5e3}}`, `-1.5e3`, 0},
		{`{"event":"pong","data":{"state":{"seq":7,"tags":["a","b"]}}}`, `{"seq":7,"tags":["a","b"]}`, 0},
		{`{"event":"pong","data":{"state":[1,{"x":null}]}}`, `[1,{"x":null}]`, 0},
		{`{"event":"pong","data":{"state":true}}`, `true`, 0},
		{`{"event":"pong","data":{"state":null}}`, `null`, 0},
		{`{"event":"pong","data":{"state":"quote \" and \\u00e9"}}`, `"quote \" and \\u00e9"`, 0},
		{`{"event":"pong","data":{ "state" : {"a" : 1} , "time" : 5 }}`, `{"a" : 1}`, 5},
	} {
		p := mustDecode[*Pong](t, c.raw)
		if (c.state == "") != (p.State == nil) || string(p.State) != c.state || p.Time != c.time {
			t.Errorf("%s: got %+v (state %q)", c.raw, *p, p.State)
		}
	}
}

func TestAuthenticated(t *testing.T) {
	for raw, want := range map[string]string{
		`{"event":"authenticated"}`:                            "",
		`{"event":"authenticated","data":null}`:                "",
		`{"event":"authenticated","data":{}}`:                  "",
		`{"event":"authenticated","data":{"message":"ok"}}`:    "ok",
		`{"event":"authenticated","data":{"message":null}}`:    "",
		`{"data":{"message":"first"},"event":"authenticated"}`: "first",
	} {
		if got := mustDecode[*Authenticated](t, raw); got.Message != want {
			t.Errorf("%s: Message = %q", raw, got.Message)
		}
	}
}

func TestAcks(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want AckFrame
	}{
		{`{"event":"subscribed","data":{"id":"a1","channel":"trades","symbol":"2330"}}`,
			AckFrame{Acks: []Ack{{ID: "a1", Channel: ChannelTrades, Symbol: "2330"}}}},
		{`{"event":"subscribed","data":{"id":"a2","channel":"books","symbol":"2330","intradayOddLot":true}}`,
			AckFrame{Acks: []Ack{{ID: "a2", Channel: ChannelBooks, Symbol: "2330", IntradayOddLot: true}}}},
		{`{"event":"subscribed","data":[{"id":"b1","channel":"aggregates","symbol":"TXFG4","afterHours":true},{"id":"b2","channel":"candles","symbol":"MXFA6/C6","afterHours":true}]}`,
			AckFrame{Acks: []Ack{
				{ID: "b1", Channel: ChannelAggregates, Symbol: "TXFG4", AfterHours: true},
				{ID: "b2", Channel: ChannelCandles, Symbol: "MXFA6/C6", AfterHours: true},
			}}},
		{`{"event":"subscribed","data":[{"id":"c1","channel":"indices","symbol":"IR0001"}]}`,
			AckFrame{Acks: []Ack{{ID: "c1", Channel: ChannelIndices, Symbol: "IR0001"}}}},
		{`{"event":"unsubscribed","data":{"id":"a1","channel":"trades","symbol":"2330"}}`,
			AckFrame{Unsubscribed: true, Acks: []Ack{{ID: "a1", Channel: ChannelTrades, Symbol: "2330"}}}},
		{`{"event":"unsubscribed","data":[{"id":"a1"},{"id":"a2","channel":"future-channel","intradayOddLot":false}]}`,
			AckFrame{Unsubscribed: true, Acks: []Ack{{ID: "a1"}, {ID: "a2", Channel: "future-channel"}}}},
		{`{"event":"subscribed","data":[]}`, AckFrame{}},
		{`{"event":"unsubscribed"}`, AckFrame{Unsubscribed: true}},
	} {
		got := mustDecode[*AckFrame](t, c.raw)
		if d := diff(&c.want, got); d != "" {
			t.Errorf("%s:\n%s", c.raw, d)
		}
		if want := map[bool]Kind{false: KindSubscribed, true: KindUnsubscribed}[c.want.Unsubscribed]; got.Kind() != want {
			t.Errorf("%s: Kind() = %v", c.raw, got.Kind())
		}
	}
	// Acks appends to dst.
	d := NewDecoder()
	f, err := d.Frame([]byte(`{"event":"subscribed","data":[{"id":"x"},{"id":"y"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	acks, err := d.Acks(&f, []Ack{{ID: "w"}})
	if err != nil || len(acks) != 3 || acks[0].ID != "w" || acks[2].ID != "y" {
		t.Errorf("Acks appended %+v, %v", acks, err)
	}
}

func TestSnapshots(t *testing.T) {
	for _, name := range dataFiles {
		raw := strings.Replace(string(loadSample(t, name)), `"event":"data"`, `"event":"snapshot"`, 1)
		m := decodeBoth(t, []byte(raw))
		if m.Kind() != KindSnapshot {
			t.Errorf("%s snapshot: Kind() = %v", name, m.Kind())
		}
		want := withoutHas(goldenData[name])
		switch v := want.(type) {
		case *Trade:
			c := *v
			c.Snapshot = true
			want = &c
		case *Book:
			c := *v
			c.Snapshot = true
			want = &c
		case *Aggregate:
			c := *v
			c.Snapshot = true
			want = &c
		case *Index:
			c := *v
			c.Snapshot = true
			want = &c
		case *Candle:
			c := *v
			c.Snapshot = true
			c.Raw = []byte(gjsonData(raw))
			want = &c
		}
		if d := diff(want, withoutHas(m)); d != "" {
			t.Errorf("%s snapshot:\n%s", name, d)
		}
	}
}

func TestCandleDayOfBars(t *testing.T) {
	const payload = `{"symbol":"2330","date":"2023-05-29","timeframe":"1","data":[` +
		`{"date":"2023-05-29T09:00:00.000+08:00","open":574,"high":574,"low":572,"close":573,"volume":5678,"average":573.45},` +
		`{"date":"2023-05-29T09:01:00.000+08:00","open":573,"high":575,"low":573,"close":575,"volume":1234,"average":573.9},` +
		`{"open":"odd","volume":null,"extra":{"nested":[1,2]}},` +
		`7]}`
	raw := `{"event":"snapshot","data":` + payload + `,"id":"sub-1","channel":"candles"}`
	c := mustDecode[*Candle](t, raw)
	want := &Candle{
		Meta:      Meta{ID: "sub-1", Channel: ChannelCandles, Snapshot: true},
		Symbol:    "2330",
		Date:      "2023-05-29",
		Timeframe: 1,
		Bars: []Bar{
			{Date: "2023-05-29T09:00:00.000+08:00", Open: 574, High: 574, Low: 572, Close: 573, Volume: 5678, Average: 573.45},
			{Date: "2023-05-29T09:01:00.000+08:00", Open: 573, High: 575, Low: 573, Close: 575, Volume: 1234, Average: 573.9},
			{},
		},
		Raw: []byte(payload),
	}
	if d := diff(want, withoutHas(c)); d != "" {
		t.Errorf("day of bars:\n%s", d)
	}
	if c.Kind() != KindSnapshot || !c.Has("data") || !c.Has("timeframe") || c.Has("open") {
		t.Errorf("Kind %v, Has(data) %v, Has(timeframe) %v, Has(open) %v", c.Kind(), c.Has("data"), c.Has("timeframe"), c.Has("open"))
	}
}

func TestCandleTimeframe(t *testing.T) {
	for raw, want := range map[string]int{
		`{"event":"data","channel":"candles","data":{"symbol":"2330","timeframe":1}}`:   1,
		`{"event":"data","channel":"candles","data":{"symbol":"2330","timeframe":"5"}}`: 5,
		`{"event":"data","channel":"candles","data":{"symbol":"2330","timeframe":"D"}}`: 0,
		`{"event":"data","channel":"candles","data":{"symbol":"2330"}}`:                 0,
	} {
		c, err := Decode([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := c.(*Candle); got.Timeframe != want || got.Has("timeframe") != (want != 0) || got.Raw != nil {
			t.Errorf("%s: Timeframe %d, Has %v, Raw %q", raw, got.Timeframe, got.Has("timeframe"), got.Raw)
		}
	}
}

func TestUnknownPassesThrough(t *testing.T) {
	for _, raw := range []string{
		`{"event":"maintenance","data":{"at":"tonight"}}`,
		`{"event":"data","channel":"news","data":{"symbol":"2330"}}`,
		`{"event":"snapshot","data":{"symbol":"2330"}}`,
		`{"event":"data","channel":null,"data":{"symbol":"2330"}}`,
		`{"event":"subscriptions","data":[{"id":"a","channel":"trades","symbol":"2330"}]}`,
		`{"event":"","id":5,"channel":{}}`,
	} {
		buf := []byte(raw)
		m, err := Decode(buf)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		u, ok := m.(*Unknown)
		if !ok || string(u.Raw) != raw {
			t.Fatalf("%s: got %T %+v", raw, m, m)
		}
		assertNoAlias(t, u, buf)
		want := KindUnknown
		if u.Event == "subscriptions" {
			want = KindSubscriptions
		}
		if u.Kind() != want {
			t.Errorf("%s: Kind() = %v", raw, u.Kind())
		}
	}
}

func TestFutoptBooksV11(t *testing.T) {
	raw := `{"event":"data","data":{"symbol":"TXFG4","type":"FUTURE","exchange":"TAIFEX","isTrial":true,` +
		`"bids":[{"price":23187,"size":13},{"price":23186,"size":15}],"asks":[{"price":23189,"size":5}],` +
		`"derivedBid":{"price":23180,"size":3},"derivedAsk":{"size":4,"price":23195.5},"time":1718942376775000,"serial":"99"},` +
		`"id":"b","channel":"books"}`
	b := mustDecode[*Book](t, raw)
	want := &Book{
		Meta:   Meta{ID: "b", Channel: ChannelBooks},
		Symbol: "TXFG4", Type: "FUTURE", Exchange: "TAIFEX", IsTrial: true,
		Bids:       []PriceLevel{{23187, 13}, {23186, 15}},
		Asks:       []PriceLevel{{23189, 5}},
		DerivedBid: PriceLevel{23180, 3}, DerivedAsk: PriceLevel{23195.5, 4},
		Time: 1718942376775000, Serial: 99,
	}
	if d := diff(want, withoutHas(b)); d != "" {
		t.Errorf("v1.1 book:\n%s", d)
	}
	if !b.Has("derivedBid") || !b.Has("derivedAsk") || !b.Has("isTrial") {
		t.Errorf("Has: derivedBid %v derivedAsk %v isTrial %v", b.Has("derivedBid"), b.Has("derivedAsk"), b.Has("isTrial"))
	}
	// Bids and asks share one allocation, asks right after bids.
	if next := unsafe.Add(unsafe.Pointer(&b.Bids[0]), len(b.Bids)*int(unsafe.Sizeof(PriceLevel{}))); next != unsafe.Pointer(&b.Asks[0]) {
		t.Errorf("bids and asks are separate allocations")
	}
	if cap(b.Bids) != len(b.Bids) {
		t.Errorf("cap(Bids) = %d: an append to Bids would overwrite Asks", cap(b.Bids))
	}
	// v1.0 books: no derived levels.
	b = mustDecode[*Book](t, string(loadSample(t, "futopt_books")))
	if b.Has("derivedBid") || b.DerivedBid != (PriceLevel{}) {
		t.Errorf("v1.0 book reports a derived bid")
	}
}

func TestFutoptTradeItems(t *testing.T) {
	raw := `{"event":"data","data":{"symbol":"TXFG4","type":"FUTURE","exchange":"TAIFEX","market":"FUTURE","isTrial":true,` +
		`"trades":[{"price":23379,"size":1,"bid":23379,"ask":23380,"serial":"100"},` +
		`{"price":23380,"size":2,"bid":23379,"ask":23380,"serial":101,"isReplaced":true},` +
		`{"price":23378,"size":3}],` +
		`"total":{"tradeVolume":12431,"totalBidMatch":8191,"totalAskMatch":7964,"bidOrders":1,"askOrders":2,"bidVolume":3,"askVolume":4,` +
		`"tradeValue":290653600000,"tradeVolumeAtBid":5,"tradeVolumeAtAsk":6,"transaction":7,"time":"1718880340342000"},` +
		`"time":1718880340342000,"serial":"23143"},"id":"t","channel":"trades"}`
	tr := mustDecode[*Trade](t, raw)
	want := &Trade{
		Meta:   Meta{ID: "t", Channel: ChannelTrades},
		Symbol: "TXFG4", Type: "FUTURE", Exchange: "TAIFEX", Market: "FUTURE", IsTrial: true,
		Trades: []TradeTick{
			{Price: 23379, Size: 1, Bid: 23379, Ask: 23380, Serial: 100},
			{Price: 23380, Size: 2, Bid: 23379, Ask: 23380, Serial: 101, IsReplaced: true},
			{Price: 23378, Size: 3},
		},
		Total: TradeTotal{TradeVolume: 12431, TotalBidMatch: 8191, TotalAskMatch: 7964, BidOrders: 1, AskOrders: 2,
			BidVolume: 3, AskVolume: 4, TradeValue: 290653600000, TradeVolumeAtBid: 5, TradeVolumeAtAsk: 6,
			Transaction: 7, Time: 1718880340342000},
		Time: 1718880340342000, Serial: 23143,
	}
	if d := diff(want, withoutHas(tr)); d != "" {
		t.Errorf("futopt trade:\n%s", d)
	}
	if tr.Trades[2].Has("bid") || !tr.Trades[1].Has("isReplaced") || tr.Has("price") || !tr.Has("total.tradeValue") {
		t.Errorf("presence of trade items is wrong")
	}
}

func TestAggregateExtras(t *testing.T) {
	raw := `{"event":"data","channel":"aggregates","id":"g","data":{"symbol":"2330","isTrial":true,"isLimitUpPrice":true,` +
		`"tradingHalt":{"isHalted":true,"time":1685322000000000},"priceLimits":{"price":{"up":1},"bid":5.5,"ask":"x","curb":true},` +
		`"total":{"totalBidMatch":1,"totalAskMatch":2},"lastTrial":null,"name":"\u53f0\u7a4d\u96fb"}}`
	a := mustDecode[*Aggregate](t, raw)
	want := &Aggregate{
		Meta:   Meta{ID: "g", Channel: ChannelAggregates},
		Symbol: "2330", Name: "台積電", IsTrial: true, IsLimitUpPrice: true,
		TradingHalt: TradingHalt{IsHalted: true, Time: 1685322000000000},
		PriceLimits: PriceLimits{Bid: 5.5, Raw: []byte(`{"price":{"up":1},"bid":5.5,"ask":"x","curb":true}`)},
		Total:       AggregateTotal{TotalBidMatch: 1, TotalAskMatch: 2},
	}
	if d := diff(want, withoutHas(a)); d != "" {
		t.Errorf("aggregate extras:\n%s", d)
	}
	if !a.Has("priceLimits.bid") || a.Has("priceLimits.price") || a.Has("lastTrial") || !a.Has("tradingHalt") {
		t.Errorf("presence of aggregate extras is wrong")
	}
}

func TestNullMeansAbsent(t *testing.T) {
	tr := mustDecode[*Trade](t, `{"event":"data","channel":"trades","data":{"symbol":"2330","price":null,"volume":null,"isClose":null,"market":null,"total":null,"trades":null}}`)
	if tr.Has("price") || tr.Has("volume") || tr.Has("isClose") || tr.Has("market") || tr.Has("total") || tr.Has("trades") {
		t.Errorf("null fields reported present")
	}
}

func TestWhitespaceAndEscapes(t *testing.T) {
	compact := loadSample(t, "stock_trades")
	pretty := "\n{ \"event\" : \"data\" ,\r\n\t\"data\" : {\n  \"symbol\" : \"\\u0032330\", \"type\":\"EQUITY\", \"exchange\" : \"TWSE\", \"market\":\"TSE\",\n" +
		"  \"bid\" : 567, \"ask\" : 568 , \"price\":568,\"size\":4778,\"volume\":54538,\"is\\u0043lose\":true,\"time\":1685338200000000,\"serial\":6652422\n } ,\n" +
		"\"id\" : \"<CHANNEL_ID>\" , \"\\u0063hannel\" : \"trades\" }\n"
	a := decodeBoth(t, compact)
	b := decodeBoth(t, []byte(pretty))
	if d := diff(a, b); d != "" {
		t.Errorf("pretty-printed frame decodes differently:\n%s", d)
	}
}

func TestDecoderReuse(t *testing.T) {
	d := NewDecoder()
	var b Book
	first := loadSample(t, "stock_books")
	f, err := d.Frame(first)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Book(&f, &b); err != nil {
		t.Fatal(err)
	}
	kept := b // as the client would hand it on
	second := loadSample(t, "futopt_books")
	f, err = d.Frame(second)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Book(&f, &b); err != nil {
		t.Fatal(err)
	}
	if d := diff(withoutHas(goldenData["stock_books"]), withoutHas(&kept)); d != "" {
		t.Errorf("a later decode changed an earlier book:\n%s", d)
	}
	// A typed method overwrites all of its output.
	var tr Trade
	f, _ = d.Frame(loadSample(t, "futopt_trades"))
	if err := d.Trade(&f, &tr); err != nil {
		t.Fatal(err)
	}
	keptTrade := tr
	f, _ = d.Frame(loadSample(t, "stock_trades"))
	if err := d.Trade(&f, &tr); err != nil {
		t.Fatal(err)
	}
	if d := diff(goldenData["stock_trades"], withoutHas(&tr)); d != "" {
		t.Errorf("reused output keeps old fields:\n%s", d)
	}
	if d := diff(withoutHas(goldenData["futopt_trades"]), withoutHas(&keptTrade)); d != "" {
		t.Errorf("a later decode changed an earlier trade:\n%s", d)
	}
}

func TestInterning(t *testing.T) {
	d := NewDecoder()
	raw := loadSample(t, "stock_trades")
	var a, b Trade
	for _, out := range []*Trade{&a, &b} {
		f, err := d.Frame(append([]byte(nil), raw...))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Trade(&f, out); err != nil {
			t.Fatal(err)
		}
	}
	if !sameString(a.Symbol, b.Symbol) || !sameString(a.Exchange, b.Exchange) || !sameString(a.ID, b.ID) {
		t.Errorf("repeated strings were not shared")
	}
	if allocs := testing.AllocsPerRun(100, func() {
		f, _ := d.Frame(raw)
		_ = d.Trade(&f, &a)
	}); allocs != 0 {
		t.Errorf("a stock trade of a known symbol allocates %v times", allocs)
	}
	// The table stays bounded whatever arrives.
	for i := 0; i < 3*maxInterned; i++ {
		sym := "S" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strconv.Itoa(i)
		f, err := d.Frame([]byte(`{"event":"data","channel":"trades","data":{"symbol":"` + sym + `"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Trade(&f, &a); err != nil || a.Symbol != sym {
			t.Fatalf("symbol %q decoded as %q, %v", sym, a.Symbol, err)
		}
		if len(d.strs) > maxInterned {
			t.Fatalf("intern table grew to %d", len(d.strs))
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{
		KindUnknown: "unknown", KindAuthenticated: "authenticated", KindError: "error", KindHeartbeat: "heartbeat",
		KindPong: "pong", KindSubscribed: "subscribed", KindUnsubscribed: "unsubscribed", KindData: "data",
		KindSnapshot: "snapshot", KindSubscriptions: "subscriptions", Kind(200): "Kind(200)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q", k, got)
		}
	}
}

func TestErrorsAreTyped(t *testing.T) {
	_, err := Decode([]byte(`{"event":"data","channel":"books","id":"x","data":{"symbol":"2330","bids":[{"price":1,"size":2},{"price":"1"}]}}`))
	var fe *FieldError
	if !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
	if *fe != (FieldError{Event: "data", Channel: ChannelBooks, Field: "bids[1].price", Want: "number", Got: "string"}) {
		t.Errorf("FieldError = %+v", *fe)
	}
	if msg := fe.Error(); msg != `messages: malformed data/books frame: field "bids[1].price": want number, got string` {
		t.Errorf("Error() = %s", msg)
	}
	_, err = Decode([]byte(`{"event":"data","channel":"trades","data":{"price":1}}`))
	if !errors.As(err, &fe) || fe.Field != "symbol" || fe.Got != "missing" {
		t.Errorf("missing symbol: %v", err)
	}
	if msg := err.Error(); msg != `messages: malformed data/trades frame: field "symbol" is missing (want string)` {
		t.Errorf("Error() = %s", msg)
	}
	_, err = Decode([]byte(`{"event":"data","channel":"trades","data":{"symbol":"2330"`))
	var se *SyntaxError
	if !errors.As(err, &se) || !errors.Is(err, ErrMalformed) || se.Offset != len(`{"event":"data","channel":"trades","data":{"symbol":"2330"`) {
		t.Errorf("truncated: %v", err)
	}
}

func sameString(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafeStringData(a) == unsafeStringData(b))
}

func gjsonData(raw string) string {
	f, err := NewDecoder().Frame([]byte(raw))
	if err != nil {
		panic(err)
	}
	return f.Data.Raw
}
