package messages

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Run with: go test -run xxx -bench . -benchmem ./messages/
//
// Each data frame is decoded twice. BenchmarkDecode/<frame>/decoder is the
// client's path through a Decoder: Frame (whose Data is a gjson.Result),
// then the typed method, reusing one Decoder and one output value.
// BenchmarkDecode/<frame>/encoding_json decodes the same bytes with
// encoding/json into plain tagged structs of the same fields, envelope
// included. The target is a speed-up of at least 5x on every frame, and at
// most one allocation for a stock trade or book once its strings are
// interned.

type jsonLevel struct {
	Price float64 `json:"price"`
	Size  int64   `json:"size"`
}

type jsonTrade struct {
	Symbol           string  `json:"symbol"`
	Type             string  `json:"type"`
	Exchange         string  `json:"exchange"`
	Market           string  `json:"market"`
	Time             int64   `json:"time"`
	Serial           int64   `json:"serial"`
	Bid              float64 `json:"bid"`
	Ask              float64 `json:"ask"`
	Price            float64 `json:"price"`
	Size             int64   `json:"size"`
	Volume           int64   `json:"volume"`
	IsLimitDownPrice bool    `json:"isLimitDownPrice"`
	IsLimitUpPrice   bool    `json:"isLimitUpPrice"`
	IsLimitDownBid   bool    `json:"isLimitDownBid"`
	IsLimitUpBid     bool    `json:"isLimitUpBid"`
	IsLimitDownAsk   bool    `json:"isLimitDownAsk"`
	IsLimitUpAsk     bool    `json:"isLimitUpAsk"`
	IsLimitDownHalt  bool    `json:"isLimitDownHalt"`
	IsLimitUpHalt    bool    `json:"isLimitUpHalt"`
	IsTrial          bool    `json:"isTrial"`
	IsDelayedOpen    bool    `json:"isDelayedOpen"`
	IsDelayedClose   bool    `json:"isDelayedClose"`
	IsContinuous     bool    `json:"isContinuous"`
	IsOpen           bool    `json:"isOpen"`
	IsClose          bool    `json:"isClose"`
	Trades           []struct {
		Price      float64 `json:"price"`
		Size       int64   `json:"size"`
		Bid        float64 `json:"bid"`
		Ask        float64 `json:"ask"`
		Serial     int64   `json:"serial"`
		IsReplaced bool    `json:"isReplaced"`
	} `json:"trades"`
	Total struct {
		TradeVolume      int64 `json:"tradeVolume"`
		TotalBidMatch    int64 `json:"totalBidMatch"`
		TotalAskMatch    int64 `json:"totalAskMatch"`
		BidOrders        int64 `json:"bidOrders"`
		AskOrders        int64 `json:"askOrders"`
		BidVolume        int64 `json:"bidVolume"`
		AskVolume        int64 `json:"askVolume"`
		TradeValue       int64 `json:"tradeValue"`
		TradeVolumeAtBid int64 `json:"tradeVolumeAtBid"`
		TradeVolumeAtAsk int64 `json:"tradeVolumeAtAsk"`
		Transaction      int64 `json:"transaction"`
		Time             int64 `json:"time"`
	} `json:"total"`
}

type jsonCandle struct {
	Symbol    string  `json:"symbol"`
	Type      string  `json:"type"`
	Exchange  string  `json:"exchange"`
	Market    string  `json:"market"`
	Date      string  `json:"date"`
	Open      float64 `json:"open"`
	High      float64 `json:"high"`
	Low       float64 `json:"low"`
	Close     float64 `json:"close"`
	Average   float64 `json:"average"`
	Volume    int64   `json:"volume"`
	Timeframe int     `json:"timeframe"`
}

type jsonBook struct {
	Symbol     string      `json:"symbol"`
	Type       string      `json:"type"`
	Exchange   string      `json:"exchange"`
	Market     string      `json:"market"`
	Time       int64       `json:"time"`
	Serial     int64       `json:"serial"`
	IsTrial    bool        `json:"isTrial"`
	Bids       []jsonLevel `json:"bids"`
	Asks       []jsonLevel `json:"asks"`
	DerivedBid *jsonLevel  `json:"derivedBid"`
	DerivedAsk *jsonLevel  `json:"derivedAsk"`
}

type jsonTick struct {
	Bid    float64 `json:"bid"`
	Ask    float64 `json:"ask"`
	Price  float64 `json:"price"`
	Size   int64   `json:"size"`
	Time   int64   `json:"time"`
	Serial int64   `json:"serial"`
}

type jsonAggregate struct {
	Date             string      `json:"date"`
	Type             string      `json:"type"`
	Exchange         string      `json:"exchange"`
	Market           string      `json:"market"`
	Symbol           string      `json:"symbol"`
	Name             string      `json:"name"`
	ReferencePrice   float64     `json:"referencePrice"`
	PreviousClose    float64     `json:"previousClose"`
	OpenPrice        float64     `json:"openPrice"`
	OpenTime         int64       `json:"openTime"`
	HighPrice        float64     `json:"highPrice"`
	HighTime         int64       `json:"highTime"`
	LowPrice         float64     `json:"lowPrice"`
	LowTime          int64       `json:"lowTime"`
	ClosePrice       float64     `json:"closePrice"`
	CloseTime        int64       `json:"closeTime"`
	AvgPrice         float64     `json:"avgPrice"`
	Change           float64     `json:"change"`
	ChangePercent    float64     `json:"changePercent"`
	ChangePercnet    float64     `json:"changePercnet"`
	Amplitude        float64     `json:"amplitude"`
	LastPrice        float64     `json:"lastPrice"`
	LastSize         int64       `json:"lastSize"`
	Bids             []jsonLevel `json:"bids"`
	Asks             []jsonLevel `json:"asks"`
	IsLimitDownPrice bool        `json:"isLimitDownPrice"`
	IsLimitUpPrice   bool        `json:"isLimitUpPrice"`
	IsLimitDownBid   bool        `json:"isLimitDownBid"`
	IsLimitUpBid     bool        `json:"isLimitUpBid"`
	IsLimitDownAsk   bool        `json:"isLimitDownAsk"`
	IsLimitUpAsk     bool        `json:"isLimitUpAsk"`
	IsLimitDownHalt  bool        `json:"isLimitDownHalt"`
	IsLimitUpHalt    bool        `json:"isLimitUpHalt"`
	IsTrial          bool        `json:"isTrial"`
	IsDelayedOpen    bool        `json:"isDelayedOpen"`
	IsDelayedClose   bool        `json:"isDelayedClose"`
	IsContinuous     bool        `json:"isContinuous"`
	IsOpen           bool        `json:"isOpen"`
	IsClose          bool        `json:"isClose"`
	Total            struct {
		TradeValue       int64 `json:"tradeValue"`
		TradeVolume      int64 `json:"tradeVolume"`
		TradeVolumeAtBid int64 `json:"tradeVolumeAtBid"`
		TradeVolumeAtAsk int64 `json:"tradeVolumeAtAsk"`
		Transaction      int64 `json:"transaction"`
		TotalBidMatch    int64 `json:"totalBidMatch"`
		TotalAskMatch    int64 `json:"totalAskMatch"`
		Time             int64 `json:"time"`
	} `json:"total"`
	LastTrade   jsonTick `json:"lastTrade"`
	LastTrial   jsonTick `json:"lastTrial"`
	Serial      int64    `json:"serial"`
	LastUpdated int64    `json:"lastUpdated"`
	TradingHalt struct {
		IsHalted bool  `json:"isHalted"`
		Time     int64 `json:"time"`
	} `json:"tradingHalt"`
	PriceLimits struct {
		Price float64 `json:"price"`
		Bid   float64 `json:"bid"`
		Ask   float64 `json:"ask"`
		Curb  float64 `json:"curb"`
	} `json:"priceLimits"`
}

type jsonIndex struct {
	Symbol   string  `json:"symbol"`
	Type     string  `json:"type"`
	Exchange string  `json:"exchange"`
	Index    float64 `json:"index"`
	Time     int64   `json:"time"`
}

type jsonEnvelope[T any] struct {
	Event   string `json:"event"`
	Data    T      `json:"data"`
	ID      string `json:"id"`
	Channel string `json:"channel"`
}

func loadSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// benchDecoder measures the client's path for one frame: typed is called
// directly, as the client does, so that the Frame stays on the stack.
func benchDecoder(b *testing.B, raw []byte, typed func(d *Decoder, buf []byte) error) {
	d := NewDecoder()
	buf := append([]byte(nil), raw...)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := typed(d, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStdlib[T any](b *testing.B, raw []byte) {
	var out jsonEnvelope[T]
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := json.Unmarshal(raw, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	type bench struct {
		name    string
		decoder func(*testing.B, []byte)
		stdlib  func(*testing.B, []byte)
	}
	var (
		tr Trade
		ca Candle
		bk Book
		ag Aggregate
		ix Index
	)
	trade := bench{"", func(b *testing.B, raw []byte) {
		benchDecoder(b, raw, func(d *Decoder, buf []byte) error {
			f, err := d.Frame(buf)
			if err != nil {
				return err
			}
			return d.Trade(&f, &tr)
		})
	}, benchStdlib[jsonTrade]}
	candle := bench{"", func(b *testing.B, raw []byte) {
		benchDecoder(b, raw, func(d *Decoder, buf []byte) error {
			f, err := d.Frame(buf)
			if err != nil {
				return err
			}
			return d.Candle(&f, &ca)
		})
	}, benchStdlib[jsonCandle]}
	book := bench{"", func(b *testing.B, raw []byte) {
		benchDecoder(b, raw, func(d *Decoder, buf []byte) error {
			f, err := d.Frame(buf)
			if err != nil {
				return err
			}
			return d.Book(&f, &bk)
		})
	}, benchStdlib[jsonBook]}
	aggregate := bench{"", func(b *testing.B, raw []byte) {
		benchDecoder(b, raw, func(d *Decoder, buf []byte) error {
			f, err := d.Frame(buf)
			if err != nil {
				return err
			}
			return d.Aggregate(&f, &ag)
		})
	}, benchStdlib[jsonAggregate]}
	index := bench{"", func(b *testing.B, raw []byte) {
		benchDecoder(b, raw, func(d *Decoder, buf []byte) error {
			f, err := d.Frame(buf)
			if err != nil {
				return err
			}
			return d.Index(&f, &ix)
		})
	}, benchStdlib[jsonIndex]}
	for _, c := range []struct {
		sample string
		bench
	}{
		{"stock_trades", trade},
		{"stock_candles", candle},
		{"stock_books", book},
		{"stock_aggregates", aggregate},
		{"stock_indices", index},
		{"futopt_trades", trade},
		{"futopt_candles", candle},
		{"futopt_books", book},
		{"futopt_aggregates", aggregate},
	} {
		raw := loadSample(b, c.sample)
		b.Run(c.sample+"/decoder", func(b *testing.B) { c.decoder(b, raw) })
		b.Run(c.sample+"/encoding_json", func(b *testing.B) { c.stdlib(b, raw) })
	}
}
