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
//
//fugle:decode channel=candles finish=finishCandle
type Candle struct {
	Meta

	Symbol    string  `json:"symbol" fugle:"required"`
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
	Timeframe int     `json:"timeframe" fugle:"hook=timeframe"` // minutes per bar when the server says so; 0 when absent

	Bars []Bar  `json:"bars,omitempty" fugle:"wire=data,hook=bars"` // the day of bars of a snapshot, when it carries them
	Raw  []byte `json:"-"`

	// Has reports whether the frame carried the named field with a value. name
	// is the JSON name, such as "volume" or "timeframe"; "data" reports the
	// day-of-bars array.
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

// timeframe accepts a number or a string such as "1". A string that is not
// a whole number of minutes (the REST API also knows "D", "W", "M") stores
// nothing rather than failing the frame; a number too big for an int, in
// either spelling, fails it.
func (d *Decoder) timeframe(r *reader, field string, dst *int) bool {
	const want = "integer or numeric string"
	switch c := r.peek(); {
	case c == '-' || isDigit(c):
		v, ok := r.int()
		if ok && int64(int(v)) == v {
			*dst = int(v)
			return true
		}
		if ok || !r.bad {
			return d.typeErr(field, want, gotRangeNumber)
		}
		return false
	case c == '"':
		s, ok := r.str()
		if !ok {
			return false
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if errors.Is(err, strconv.ErrRange) {
			return d.typeErr(field, want, gotRangeString)
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
		return d.typeErr(field, want, typeName(c))
	}
}

// bars is the hook of the day-of-bars array of a candles snapshot. The shape
// is documented only loosely, so this is lenient: a "data" that is not an
// array, items that are not objects and members of unexpected types are
// skipped, and the snapshot keeps its raw payload for anything else.
func (d *Decoder) bars(r *reader, _ string, dst *[]Bar) bool {
	if r.peek() != '[' {
		r.skip()
		return false
	}
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
	*dst = out
	return true
}

func (d *Decoder) finishCandle(f *Frame, out *Candle) {
	if out.Snapshot {
		out.Raw = []byte(f.Data.Raw)
	}
}
