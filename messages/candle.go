package messages

import (
	"errors"
	"strconv"
	"strings"
)

// Candle is one frame of the candles channel: a one-minute bar that may be
// sent again, updated, for the same Date. Stock and futures/options candles
// have the same fields.
//
// A snapshot frame may instead carry the whole day so far as Bars (the
// payload's "data" array). Snapshot frames also keep a copy of their payload
// in Raw, since that shape is loosely documented.
type Candle struct {
	Meta

	Symbol    string  `json:"symbol"`
	Type      string  `json:"type"`
	Exchange  string  `json:"exchange"`
	Market    string  `json:"market"`
	Date      string  `json:"date"` // ISO 8601 with +08:00, the start of the minute
	Open      float64 `json:"open"`
	High      float64 `json:"high"`
	Low       float64 `json:"low"`
	Close     float64 `json:"close"`
	Average   float64 `json:"average"`
	Volume    int64   `json:"volume"`
	Timeframe int     `json:"timeframe"` // minutes per bar when the server says so; 0 when absent

	Bars []Bar  `json:"bars,omitempty"` // the day of bars of a snapshot, when it carries them
	Raw  []byte `json:"-"`

	has uint16
}

// Bar is one bar of a day-of-bars candles snapshot.
type Bar struct {
	Date    string  `json:"date"`
	Open    float64 `json:"open"`
	High    float64 `json:"high"`
	Low     float64 `json:"low"`
	Close   float64 `json:"close"`
	Average float64 `json:"average"`
	Volume  int64   `json:"volume"`
}

const (
	caSymbol = iota
	caType
	caExchange
	caMarket
	caDate
	caOpen
	caHigh
	caLow
	caClose
	caAverage
	caVolume
	caTimeframe
	caData
)

var candleFields = fieldIndex([]string{
	caSymbol:    "symbol",
	caType:      "type",
	caExchange:  "exchange",
	caMarket:    "market",
	caDate:      "date",
	caOpen:      "open",
	caHigh:      "high",
	caLow:       "low",
	caClose:     "close",
	caAverage:   "average",
	caVolume:    "volume",
	caTimeframe: "timeframe",
	caData:      "data",
})

// Has reports whether the frame carried the named field with a value. name
// is the JSON name, such as "volume" or "timeframe"; "data" reports the
// day-of-bars array.
func (c *Candle) Has(name string) bool {
	return hasBit(candleFields, uint64(c.has), name)
}

// Kind returns KindSnapshot for a snapshot frame and KindData otherwise.
func (c *Candle) Kind() Kind { return c.Meta.kind() }

// Candle decodes the payload of a candles frame into out, overwriting it.
func (d *Decoder) Candle(f *Frame, out *Candle) error {
	err := d.candle(f, out)
	if err == errDeferred {
		var g Frame
		if g, err = d.scanFrame(f.Raw); err == nil {
			err = d.candle(&g, out)
		}
	}
	return err
}

// candle decodes once; for a deferred frame it reports any trouble as
// errDeferred, and Candle decodes again after a full scan.
func (d *Decoder) candle(f *Frame, out *Candle) error {
	r, err := d.payload(f)
	*out = Candle{Meta: meta(f)}
	if err != nil {
		return err
	}
	var m uint16
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		switch k {
		case "symbol":
			if d.str(&r, "symbol", &out.Symbol) {
				m |= 1 << caSymbol
			}
		case "type":
			if d.str(&r, "type", &out.Type) {
				m |= 1 << caType
			}
		case "exchange":
			if d.str(&r, "exchange", &out.Exchange) {
				m |= 1 << caExchange
			}
		case "market":
			if d.str(&r, "market", &out.Market) {
				m |= 1 << caMarket
			}
		case "date":
			if d.str(&r, "date", &out.Date) {
				m |= 1 << caDate
			}
		case "open":
			if d.float(&r, "open", &out.Open) {
				m |= 1 << caOpen
			}
		case "high":
			if d.float(&r, "high", &out.High) {
				m |= 1 << caHigh
			}
		case "low":
			if d.float(&r, "low", &out.Low) {
				m |= 1 << caLow
			}
		case "close":
			if d.float(&r, "close", &out.Close) {
				m |= 1 << caClose
			}
		case "average":
			if d.float(&r, "average", &out.Average) {
				m |= 1 << caAverage
			}
		case "volume":
			if d.int(&r, "volume", &out.Volume) {
				m |= 1 << caVolume
			}
		case "timeframe":
			if d.timeframe(&r, &out.Timeframe) {
				m |= 1 << caTimeframe
			}
		case "data":
			if r.peek() == '[' {
				out.Bars = d.bars(&r)
				m |= 1 << caData
			} else {
				r.skip()
			}
		default:
			r.skip()
		}
	}
	if err := d.finish(&r, f); err != nil {
		return err
	}
	if m&(1<<caSymbol) == 0 {
		return d.missing("symbol", "string")
	}
	if out.Snapshot {
		out.Raw = []byte(f.Data.Raw)
	}
	out.has = m
	return nil
}

// timeframe accepts a number or a string such as "1". A string that is not
// a whole number of minutes (the REST API also knows "D", "W", "M") stores
// nothing rather than failing the frame; a number too big for an int, in
// either spelling, fails it.
func (d *Decoder) timeframe(r *reader, dst *int) bool {
	const want = "integer or numeric string"
	switch c := r.peek(); {
	case c == '-' || isDigit(c):
		v, ok := r.int()
		if ok && int64(int(v)) == v {
			*dst = int(v)
			return true
		}
		if ok || !r.bad {
			return d.typeErr("timeframe", want, gotRangeNumber)
		}
		return false
	case c == '"':
		s, ok := r.str()
		if !ok {
			return false
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if errors.Is(err, strconv.ErrRange) {
			return d.typeErr("timeframe", want, gotRangeString)
		}
		if err != nil {
			return false
		}
		*dst = n
		return true
	case c == 'n':
		r.literal("null")
		return false
	default:
		return d.typeErr("timeframe", want, typeName(c))
	}
}

// bars decodes the day-of-bars array of a candles snapshot. The shape is
// documented only loosely, so this is lenient: items that are not objects
// and members of unexpected types are skipped, and the caller keeps the raw
// payload for anything else.
func (d *Decoder) bars(r *reader) []Bar {
	var out []Bar
	r.open()
	for r.elem() {
		if r.peek() != '{' {
			r.skip()
			continue
		}
		r.open()
		var b Bar
		for {
			k, ok := r.key()
			if !ok {
				break
			}
			c := r.peek()
			num := c == '-' || isDigit(c)
			switch {
			case k == "date" && c == '"':
				if s, ok := r.str(); ok {
					// Not interned: a day of distinct minutes would churn the table.
					b.Date = strings.Clone(s)
				}
			case k == "open" && num:
				b.Open, _ = r.float()
			case k == "high" && num:
				b.High, _ = r.float()
			case k == "low" && num:
				b.Low, _ = r.float()
			case k == "close" && num:
				b.Close, _ = r.float()
			case k == "average" && num:
				b.Average, _ = r.float()
			case k == "volume" && num:
				b.Volume, _ = r.int()
			default:
				r.skip()
			}
		}
		out = append(out, b)
	}
	return out
}
