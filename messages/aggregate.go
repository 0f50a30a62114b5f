package messages

// Aggregate is one frame of the aggregates channel: a running quote of the
// day for one symbol.
//
// Stock aggregates fill most fields. Futures/options aggregates lack the
// stock-only ones (ReferencePrice, Market, the book sides and some totals
// are usually absent) and may carry PriceLimits, LastTrial, TradingHalt and
// IsTrial. The futopt documentation spells changePercent "changePercnet";
// both spellings land in ChangePercent.
//
// LastPrice and LastSize include trial matches; LastTrade does not.
//
//fugle:decode channel=aggregates finish=finishAggregate
//fugle:doc Bids and Asks share one allocation.
type Aggregate struct {
	Meta

	Date     string `json:"date"` // YYYY-MM-DD
	Type     string `json:"type"`
	Exchange string `json:"exchange"`
	Market   string `json:"market"`
	Symbol   string `json:"symbol" fugle:"required"`
	Name     string `json:"name"`

	ReferencePrice float64   `json:"referencePrice"`
	PreviousClose  float64   `json:"previousClose"`
	OpenPrice      float64   `json:"openPrice"`
	OpenTime       Timestamp `json:"openTime"`
	HighPrice      float64   `json:"highPrice"`
	HighTime       Timestamp `json:"highTime"`
	LowPrice       float64   `json:"lowPrice"`
	LowTime        Timestamp `json:"lowTime"`
	ClosePrice     float64   `json:"closePrice"`
	CloseTime      Timestamp `json:"closeTime"`
	AvgPrice       float64   `json:"avgPrice"`
	Change         float64   `json:"change"`
	ChangePercent  float64   `json:"changePercent" fugle:"alt=changePercnet"`
	Amplitude      float64   `json:"amplitude"`
	LastPrice      float64   `json:"lastPrice"`
	LastSize       int64     `json:"lastSize"`

	Bids []PriceLevel `json:"bids" fugle:"hook=bidLevels"` // best first
	Asks []PriceLevel `json:"asks" fugle:"hook=askLevels"` // best first

	Total     AggregateTotal `json:"total"`
	LastTrade LastTick       `json:"lastTrade"`
	LastTrial LastTick       `json:"lastTrial"`

	// Flags are sent only when true.
	IsLimitDownPrice bool `json:"isLimitDownPrice,omitempty"`
	IsLimitUpPrice   bool `json:"isLimitUpPrice,omitempty"`
	IsLimitDownBid   bool `json:"isLimitDownBid,omitempty"`
	IsLimitUpBid     bool `json:"isLimitUpBid,omitempty"`
	IsLimitDownAsk   bool `json:"isLimitDownAsk,omitempty"`
	IsLimitUpAsk     bool `json:"isLimitUpAsk,omitempty"`
	IsLimitDownHalt  bool `json:"isLimitDownHalt,omitempty"`
	IsLimitUpHalt    bool `json:"isLimitUpHalt,omitempty"`
	IsTrial          bool `json:"isTrial,omitempty"`
	IsDelayedOpen    bool `json:"isDelayedOpen,omitempty"`
	IsDelayedClose   bool `json:"isDelayedClose,omitempty"`
	IsContinuous     bool `json:"isContinuous,omitempty"`
	IsOpen           bool `json:"isOpen,omitempty"`
	IsClose          bool `json:"isClose,omitempty"`

	Serial      int64       `json:"serial" fugle:"serial"`
	LastUpdated Timestamp   `json:"lastUpdated"`
	TradingHalt TradingHalt `json:"tradingHalt"`
	PriceLimits PriceLimits `json:"priceLimits" fugle:"hook=priceLimits"`

	// Has reports whether the frame carried the named field with a value. name
	// is the JSON name, such as "changePercent" (or its misspelling
	// "changePercnet") or "lastTrial"; a dotted name such as "total.tradeValue"
	// or "lastTrade.serial" looks inside Total, LastTrade, LastTrial or
	// PriceLimits.
	has uint64
}

// AggregateTotal holds the day's running totals of an aggregate.
//
//fugle:decode recv=t
type AggregateTotal struct {
	TradeValue       int64     `json:"tradeValue"`
	TradeVolume      int64     `json:"tradeVolume"`
	TradeVolumeAtBid int64     `json:"tradeVolumeAtBid"`
	TradeVolumeAtAsk int64     `json:"tradeVolumeAtAsk"`
	Transaction      int64     `json:"transaction"`
	TotalBidMatch    int64     `json:"totalBidMatch"`
	TotalAskMatch    int64     `json:"totalAskMatch"`
	Time             Timestamp `json:"time"`

	// Has reports whether the totals carried the named field, such as
	// "tradeValue".
	has uint8
}

// LastTick is the last trade, or the last trial match, of an aggregate.
//
//fugle:decode recv=t
type LastTick struct {
	Bid    float64   `json:"bid"`
	Ask    float64   `json:"ask"`
	Price  float64   `json:"price"`
	Size   int64     `json:"size"`
	Time   Timestamp `json:"time"`
	Serial int64     `json:"serial" fugle:"serial"`

	// Has reports whether the tick carried the named field ("bid", "ask",
	// "price", "size", "time", "serial").
	has uint8
}

// TradingHalt reports a trading halt in an aggregate.
type TradingHalt struct {
	IsHalted bool      `json:"isHalted,omitempty"`
	Time     Timestamp `json:"time"`
}

// PriceLimits is the "priceLimits" object of a futures/options aggregate.
//
// Its members are documented by name only, not by type. The decoder stores
// each member that is a number and skips any other value rather than failing
// the frame; Raw keeps a copy of the whole object so that a value of another
// shape is not lost.
type PriceLimits struct {
	Price float64 `json:"price"`
	Bid   float64 `json:"bid"`
	Ask   float64 `json:"ask"`
	Curb  float64 `json:"curb"`
	Raw   []byte  `json:"-"`

	// Has reports whether the named member ("price", "bid", "ask", "curb") was
	// present as a number.
	has uint8
}

func (d *Decoder) finishAggregate(_ *Frame, out *Aggregate) {
	out.Bids, out.Asks = d.splitLevels()
}

// priceLimits is the hook of "priceLimits", whose members are documented by
// name only: it stores the members that are numbers and skips the rest.
func (d *Decoder) priceLimits(r *reader, field string, p *PriceLimits) bool {
	start := r.i
	if !d.object(r, field) {
		return false
	}
	*p = PriceLimits{}
	var m uint8
	for {
		k, ok := r.key()
		if !ok {
			break
		}
		if c := r.peek(); c != '-' && !isDigit(c) {
			r.skip()
			continue
		}
		var dst *float64
		var bit uint8
		switch k {
		case "price":
			dst, bit = &p.Price, 1<<bitPriceLimitsPrice
		case "bid":
			dst, bit = &p.Bid, 1<<bitPriceLimitsBid
		case "ask":
			dst, bit = &p.Ask, 1<<bitPriceLimitsAsk
		case "curb":
			dst, bit = &p.Curb, 1<<bitPriceLimitsCurb
		default:
			r.skip()
			continue
		}
		if v, ok := r.float(); ok {
			*dst, m = v, m|bit
		}
	}
	if r.bad {
		return false
	}
	p.Raw = []byte(r.s[start:r.i])
	p.has = m
	return true
}
