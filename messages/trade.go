package messages

// Trade is one frame of the trades channel, stock or futures/options.
//
// One type serves both markets because they share the channel, the envelope
// and the identifying fields, and a client subscribed to both reads a single
// stream; the markets differ only in which fields they fill, and Has tells
// which ones a frame carried:
//
//   - A stock frame is one trade, flat: Bid, Ask, Price, Size, Volume (the
//     day's cumulative volume), Serial, Time and the flags that are true.
//     Trades and Total stay empty. Trial matches (IsTrial) are streamed too:
//     their prices are not fills.
//   - A futures/options frame carries the matches since the previous frame
//     in Trades, and running totals in Total; Time and Serial describe the
//     frame. The flat Bid, Ask, Price, Size and Volume stay unset. Version
//     1.1 of the futopt endpoint marks trial matches with IsTrial.
//
//fugle:decode channel=trades finish=finishTrade
type Trade struct {
	Meta

	Symbol   string    `json:"symbol" fugle:"required"`
	Type     string    `json:"type"`     // e.g. "EQUITY", "ODDLOT", "FUTURE", "FUTURE_AH"
	Exchange string    `json:"exchange"` // e.g. "TWSE", "TPEx", "TAIFEX"
	Market   string    `json:"market"`   // e.g. "TSE", "OTC"; may be absent
	Time     Timestamp `json:"time"`
	Serial   int64     `json:"serial" fugle:"serial"`

	Bid    float64 `json:"bid"`
	Ask    float64 `json:"ask"`
	Price  float64 `json:"price"`
	Size   int64   `json:"size"`
	Volume int64   `json:"volume"`

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

	Trades []TradeTick `json:"trades,omitempty" fugle:"hook=fills"` // futures/options only
	Total  TradeTotal  `json:"total"`                               // futures/options only

	// Has reports whether the frame carried the named field with a value (JSON
	// null and a non-numeric serial count as absent). name is the JSON name, such
	// as "volume" or "isClose"; "total.tradeValue" and the like look inside
	// Total.
	has uint32
}

// TradeTick is one match inside a futures/options trades frame.
//
//fugle:decode table=tickFields members
type TradeTick struct {
	Price      float64 `json:"price"`
	Size       int64   `json:"size"`
	Bid        float64 `json:"bid"`
	Ask        float64 `json:"ask"`
	Serial     int64   `json:"serial" fugle:"serial"`
	IsReplaced bool    `json:"isReplaced,omitempty"`

	// Has reports whether the match carried the named field ("price", "size",
	// "bid", "ask", "serial", "isReplaced").
	has uint8
}

// TradeTotal holds the running totals of a futures/options trades frame.
type TradeTotal struct {
	TradeVolume      int64     `json:"tradeVolume"`
	TotalBidMatch    int64     `json:"totalBidMatch"`
	TotalAskMatch    int64     `json:"totalAskMatch"`
	BidOrders        int64     `json:"bidOrders"`
	AskOrders        int64     `json:"askOrders"`
	BidVolume        int64     `json:"bidVolume"`
	AskVolume        int64     `json:"askVolume"`
	TradeValue       int64     `json:"tradeValue"`
	TradeVolumeAtBid int64     `json:"tradeVolumeAtBid"`
	TradeVolumeAtAsk int64     `json:"tradeVolumeAtAsk"`
	Transaction      int64     `json:"transaction"`
	Time             Timestamp `json:"time"`

	// Has reports whether the totals carried the named field, such as
	// "tradeValue".
	has uint16
}

// fills is the hook of a futopt "trades" array: it gathers the matches in
// d.ticks, and finishTrade gives the frame its own copy, in one allocation.
func (d *Decoder) fills(r *reader, field string, _ *[]TradeTick) bool {
	d.ticks = d.ticks[:0]
	if !d.array(r, field) {
		return false
	}
	for n := 0; d.err == nil && r.elem(); n++ {
		var t TradeTick
		if r.peek() == 'n' {
			d.typeErr("", "object", "null")
		} else if d.object(r, "") {
			d.tradeTickMembers(r, &t)
		}
		if d.err != nil {
			d.nest(field, n)
			break
		}
		d.ticks = append(d.ticks, t)
	}
	return d.err == nil && !r.bad
}

func (d *Decoder) finishTrade(_ *Frame, out *Trade) {
	if len(d.ticks) > 0 {
		out.Trades = make([]TradeTick, len(d.ticks))
		copy(out.Trades, d.ticks)
		d.trimScratch()
	}
}
