package marketdatatest

import (
	"strconv"
	"time"
)

// The payload builders below, with TradeJSON and BooksJSON, cover every
// channel of both products, for Publish. Zero optional fields are left
// out, as the service leaves out what it does not know.

// Fill is one match of a futures or options trades frame.
type Fill struct {
	Price float64
	Size  int64
	Bid   float64 // left out when zero
	Ask   float64 // left out when zero
}

// FutOptTrade describes a futures or options trades frame for
// FutOptTradeJSON.
type FutOptTrade struct {
	Symbol      string
	Fills       []Fill
	TradeVolume int64 // the running total; left out when zero
	Serial      int64
	Time        time.Time // zero: now
	IsTrial     bool
}

// FutOptTradeJSON returns the payload of a futopt trades frame.
func FutOptTradeJSON(t FutOptTrade) []byte {
	b := make([]byte, 0, 192)
	b = append(b, `{"symbol":`...)
	b = appendString(b, t.Symbol)
	b = append(b, `,"type":"FUTURE","exchange":"TAIFEX","trades":[`...)
	for i, f := range t.Fills {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"price":`...)
		b = appendFloat(b, f.Price)
		b = appendIntField(b, "size", f.Size)
		if f.Bid != 0 {
			b = appendFloatField(b, "bid", f.Bid)
		}
		if f.Ask != 0 {
			b = appendFloatField(b, "ask", f.Ask)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if t.TradeVolume != 0 {
		b = append(b, `,"total":{"tradeVolume":`...)
		b = strconv.AppendInt(b, t.TradeVolume, 10)
		b = append(b, '}')
	}
	if t.IsTrial {
		b = append(b, `,"isTrial":true`...)
	}
	b = appendIntField(b, "time", micros(t.Time))
	b = appendIntField(b, "serial", t.Serial)
	return append(b, '}')
}

// FutOptBooksJSON returns the payload of a futopt books frame.
func FutOptBooksJSON(symbol string, bids, asks []Level, t time.Time) []byte {
	b := make([]byte, 0, 320)
	b = append(b, `{"symbol":`...)
	b = appendString(b, symbol)
	b = append(b, `,"type":"FUTURE","exchange":"TAIFEX"`...)
	b = appendLevels(b, "bids", bids)
	b = appendLevels(b, "asks", asks)
	b = appendIntField(b, "time", micros(t))
	return append(b, '}')
}

// Bar describes a one-minute candle for CandleJSON.
type Bar struct {
	Symbol                 string
	FutOpt                 bool      // a futures or options contract rather than a stock
	Minute                 time.Time // zero: this minute
	Open, High, Low, Close float64
	Volume                 int64
	Average                float64 // left out when zero
}

// CandleJSON returns the payload of a candles frame of either product.
func CandleJSON(c Bar) []byte {
	b := make([]byte, 0, 224)
	b = append(b, `{"symbol":`...)
	b = appendString(b, c.Symbol)
	b = appendIdentity(b, c.FutOpt)
	m := c.Minute
	if m.IsZero() {
		m = time.Now()
	}
	b = appendStringField(b, "date", m.In(taipei).Truncate(time.Minute).Format("2006-01-02T15:04:05.000-07:00"))
	b = appendFloatField(b, "open", c.Open)
	b = appendFloatField(b, "high", c.High)
	b = appendFloatField(b, "low", c.Low)
	b = appendFloatField(b, "close", c.Close)
	b = appendIntField(b, "volume", c.Volume)
	if c.Average != 0 {
		b = appendFloatField(b, "average", c.Average)
	}
	return append(b, '}')
}

// Quote describes a running quote for AggregateJSON.
type Quote struct {
	Symbol         string
	FutOpt         bool // a futures or options contract rather than a stock
	Name           string
	ReferencePrice float64
	OpenPrice      float64
	HighPrice      float64
	LowPrice       float64
	LastPrice      float64
	LastSize       int64
	Change         float64
	ChangePercent  float64
	Bids, Asks     []Level
	TradeVolume    int64
	TradeValue     float64
	Time           time.Time // zero: now
}

// AggregateJSON returns the payload of an aggregates frame of either
// product. Zero prices are left out.
func AggregateJSON(q Quote) []byte {
	b := make([]byte, 0, 640)
	t := micros(q.Time)
	b = append(b, `{"date":`...)
	b = appendString(b, time.UnixMicro(t).In(taipei).Format(time.DateOnly))
	b = appendIdentity(b, q.FutOpt)
	b = appendStringField(b, "symbol", q.Symbol)
	if q.Name != "" {
		b = appendStringField(b, "name", q.Name)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"referencePrice", q.ReferencePrice}, {"openPrice", q.OpenPrice}, {"highPrice", q.HighPrice}, {"lowPrice", q.LowPrice}, {"lastPrice", q.LastPrice}} {
		if f.v != 0 {
			b = appendFloatField(b, f.name, f.v)
		}
	}
	if q.LastSize != 0 {
		b = appendIntField(b, "lastSize", q.LastSize)
	}
	b = appendFloatField(b, "change", q.Change)
	b = appendFloatField(b, "changePercent", q.ChangePercent)
	if q.Bids != nil {
		b = appendLevels(b, "bids", q.Bids)
	}
	if q.Asks != nil {
		b = appendLevels(b, "asks", q.Asks)
	}
	b = append(b, `,"total":{"tradeVolume":`...)
	b = strconv.AppendInt(b, q.TradeVolume, 10)
	if q.TradeValue != 0 {
		b = appendFloatField(b, "tradeValue", q.TradeValue)
	}
	b = appendIntField(b, "time", t)
	b = append(b, '}')
	b = appendIntField(b, "lastUpdated", t)
	return append(b, '}')
}

// IndexJSON returns the payload of a stock indices frame.
func IndexJSON(symbol string, value float64, t time.Time) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"symbol":`...)
	b = appendString(b, symbol)
	b = append(b, `,"type":"INDEX","exchange":"TWSE"`...)
	b = appendFloatField(b, "index", value)
	b = appendIntField(b, "time", micros(t))
	return append(b, '}')
}

func appendIdentity(b []byte, futopt bool) []byte {
	if futopt {
		return append(b, `,"type":"FUTURE","exchange":"TAIFEX"`...)
	}
	return append(b, `,"type":"EQUITY","exchange":"TWSE","market":"TSE"`...)
}
