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
type Trade struct {
	Meta

	Symbol   string    `json:"symbol"`
	Type     string    `json:"type"`     // e.g. "EQUITY", "ODDLOT", "FUTURE", "FUTURE_AH"
	Exchange string    `json:"exchange"` // e.g. "TWSE", "TPEx", "TAIFEX"
	Market   string    `json:"market"`   // e.g. "TSE", "OTC"; may be absent
	Time     Timestamp `json:"time"`
	Serial   int64     `json:"serial"`

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

	Trades []TradeTick `json:"trades,omitempty"` // futures/options only
	Total  TradeTotal  `json:"total"`            // futures/options only

	has uint32
}

// TradeTick is one match inside a futures/options trades frame.
type TradeTick struct {
	Price      float64 `json:"price"`
	Size       int64   `json:"size"`
	Bid        float64 `json:"bid"`
	Ask        float64 `json:"ask"`
	Serial     int64   `json:"serial"`
	IsReplaced bool    `json:"isReplaced,omitempty"`

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

	has uint16
}

const (
	trSymbol = iota
	trType
	trExchange
	trMarket
	trTime
	trSerial
	trBid
	trAsk
	trPrice
	trSize
	trVolume
	trIsLimitDownPrice
	trIsLimitUpPrice
	trIsLimitDownBid
	trIsLimitUpBid
	trIsLimitDownAsk
	trIsLimitUpAsk
	trIsLimitDownHalt
	trIsLimitUpHalt
	trIsTrial
	trIsDelayedOpen
	trIsDelayedClose
	trIsContinuous
	trIsOpen
	trIsClose
	trTrades
	trTotal
)

var tradeFields = fieldIndex([]string{
	trSymbol:           "symbol",
	trType:             "type",
	trExchange:         "exchange",
	trMarket:           "market",
	trTime:             "time",
	trSerial:           "serial",
	trBid:              "bid",
	trAsk:              "ask",
	trPrice:            "price",
	trSize:             "size",
	trVolume:           "volume",
	trIsLimitDownPrice: "isLimitDownPrice",
	trIsLimitUpPrice:   "isLimitUpPrice",
	trIsLimitDownBid:   "isLimitDownBid",
	trIsLimitUpBid:     "isLimitUpBid",
	trIsLimitDownAsk:   "isLimitDownAsk",
	trIsLimitUpAsk:     "isLimitUpAsk",
	trIsLimitDownHalt:  "isLimitDownHalt",
	trIsLimitUpHalt:    "isLimitUpHalt",
	trIsTrial:          "isTrial",
	trIsDelayedOpen:    "isDelayedOpen",
	trIsDelayedClose:   "isDelayedClose",
	trIsContinuous:     "isContinuous",
	trIsOpen:           "isOpen",
	trIsClose:          "isClose",
	trTrades:           "trades",
	trTotal:            "total",
})

const (
	tkPrice = iota
	tkSize
	tkBid
	tkAsk
	tkSerial
	tkIsReplaced
)

var tickFields = fieldIndex([]string{
	tkPrice:      "price",
	tkSize:       "size",
	tkBid:        "bid",
	tkAsk:        "ask",
	tkSerial:     "serial",
	tkIsReplaced: "isReplaced",
})

const (
	ttTradeVolume = iota
	ttTotalBidMatch
	ttTotalAskMatch
	ttBidOrders
	ttAskOrders
	ttBidVolume
	ttAskVolume
	ttTradeValue
	ttTradeVolumeAtBid
	ttTradeVolumeAtAsk
	ttTransaction
	ttTime
)

var tradeTotalFields = fieldIndex([]string{
	ttTradeVolume:      "tradeVolume",
	ttTotalBidMatch:    "totalBidMatch",
	ttTotalAskMatch:    "totalAskMatch",
	ttBidOrders:        "bidOrders",
	ttAskOrders:        "askOrders",
	ttBidVolume:        "bidVolume",
	ttAskVolume:        "askVolume",
	ttTradeValue:       "tradeValue",
	ttTradeVolumeAtBid: "tradeVolumeAtBid",
	ttTradeVolumeAtAsk: "tradeVolumeAtAsk",
	ttTransaction:      "transaction",
	ttTime:             "time",
})

// Has reports whether the frame carried the named field with a value (JSON
// null and a non-numeric serial count as absent). name is the JSON name, such
// as "volume" or "isClose"; "total.tradeValue" and the like look inside
// Total.
func (t *Trade) Has(name string) bool {
	if head, rest, ok := splitPath(name); ok {
		return head == "total" && t.Total.Has(rest)
	}
	return hasBit(tradeFields, uint64(t.has), name)
}

// Has reports whether the match carried the named field ("price", "size",
// "bid", "ask", "serial", "isReplaced").
func (t *TradeTick) Has(name string) bool {
	return hasBit(tickFields, uint64(t.has), name)
}

// Has reports whether the totals carried the named field, such as
// "tradeValue".
func (t *TradeTotal) Has(name string) bool {
	return hasBit(tradeTotalFields, uint64(t.has), name)
}

// Kind returns KindSnapshot for a snapshot frame and KindData otherwise.
func (t *Trade) Kind() Kind { return t.Meta.kind() }

// Trade decodes the payload of a trades frame into out, overwriting it.
func (d *Decoder) Trade(f *Frame, out *Trade) error {
	err := d.trade(f, out)
	if err == errDeferred {
		var g Frame
		if g, err = d.scanFrame(f.Raw); err == nil {
			err = d.trade(&g, out)
		}
	}
	return err
}

// trade decodes once; for a deferred frame it reports any trouble as
// errDeferred, and Trade decodes again after a full scan.
func (d *Decoder) trade(f *Frame, out *Trade) error {
	r, err := d.payload(f)
	*out = Trade{Meta: meta(f)}
	if err != nil {
		return err
	}
	d.ticks = d.ticks[:0]
	var m uint32
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		switch k {
		case "symbol":
			if d.str(&r, "symbol", &out.Symbol) {
				m |= 1 << trSymbol
			}
		case "type":
			if d.str(&r, "type", &out.Type) {
				m |= 1 << trType
			}
		case "exchange":
			if d.str(&r, "exchange", &out.Exchange) {
				m |= 1 << trExchange
			}
		case "market":
			if d.str(&r, "market", &out.Market) {
				m |= 1 << trMarket
			}
		case "time":
			if d.time(&r, "time", &out.Time) {
				m |= 1 << trTime
			}
		case "serial":
			if d.serial(&r, "serial", &out.Serial) {
				m |= 1 << trSerial
			}
		case "bid":
			if d.float(&r, "bid", &out.Bid) {
				m |= 1 << trBid
			}
		case "ask":
			if d.float(&r, "ask", &out.Ask) {
				m |= 1 << trAsk
			}
		case "price":
			if d.float(&r, "price", &out.Price) {
				m |= 1 << trPrice
			}
		case "size":
			if d.int(&r, "size", &out.Size) {
				m |= 1 << trSize
			}
		case "volume":
			if d.int(&r, "volume", &out.Volume) {
				m |= 1 << trVolume
			}
		case "isLimitDownPrice":
			if d.flag(&r, "isLimitDownPrice", &out.IsLimitDownPrice) {
				m |= 1 << trIsLimitDownPrice
			}
		case "isLimitUpPrice":
			if d.flag(&r, "isLimitUpPrice", &out.IsLimitUpPrice) {
				m |= 1 << trIsLimitUpPrice
			}
		case "isLimitDownBid":
			if d.flag(&r, "isLimitDownBid", &out.IsLimitDownBid) {
				m |= 1 << trIsLimitDownBid
			}
		case "isLimitUpBid":
			if d.flag(&r, "isLimitUpBid", &out.IsLimitUpBid) {
				m |= 1 << trIsLimitUpBid
			}
		case "isLimitDownAsk":
			if d.flag(&r, "isLimitDownAsk", &out.IsLimitDownAsk) {
				m |= 1 << trIsLimitDownAsk
			}
		case "isLimitUpAsk":
			if d.flag(&r, "isLimitUpAsk", &out.IsLimitUpAsk) {
				m |= 1 << trIsLimitUpAsk
			}
		case "isLimitDownHalt":
			if d.flag(&r, "isLimitDownHalt", &out.IsLimitDownHalt) {
				m |= 1 << trIsLimitDownHalt
			}
		case "isLimitUpHalt":
			if d.flag(&r, "isLimitUpHalt", &out.IsLimitUpHalt) {
				m |= 1 << trIsLimitUpHalt
			}
		case "isTrial":
			if d.flag(&r, "isTrial", &out.IsTrial) {
				m |= 1 << trIsTrial
			}
		case "isDelayedOpen":
			if d.flag(&r, "isDelayedOpen", &out.IsDelayedOpen) {
				m |= 1 << trIsDelayedOpen
			}
		case "isDelayedClose":
			if d.flag(&r, "isDelayedClose", &out.IsDelayedClose) {
				m |= 1 << trIsDelayedClose
			}
		case "isContinuous":
			if d.flag(&r, "isContinuous", &out.IsContinuous) {
				m |= 1 << trIsContinuous
			}
		case "isOpen":
			if d.flag(&r, "isOpen", &out.IsOpen) {
				m |= 1 << trIsOpen
			}
		case "isClose":
			if d.flag(&r, "isClose", &out.IsClose) {
				m |= 1 << trIsClose
			}
		case "trades":
			if d.tradeTicks(&r) {
				m |= 1 << trTrades
			}
		case "total":
			if d.tradeTotal(&r, &out.Total) {
				m |= 1 << trTotal
			}
		default:
			r.skip()
		}
	}
	if err := d.finish(&r, f); err != nil {
		return err
	}
	if m&(1<<trSymbol) == 0 {
		return d.missing("symbol", "string")
	}
	if m&(1<<trTrades) != 0 && len(d.ticks) > 0 {
		out.Trades = make([]TradeTick, len(d.ticks))
		copy(out.Trades, d.ticks)
		d.trimScratch()
	}
	out.has = m
	return nil
}

// tradeTicks decodes a futopt "trades" array into d.ticks.
func (d *Decoder) tradeTicks(r *reader) bool {
	d.ticks = d.ticks[:0]
	if !d.array(r, "trades") {
		return false
	}
	for n := 0; d.err == nil && r.elem(); n++ {
		var t TradeTick
		if r.peek() == 'n' {
			d.typeErr("", "object", "null")
		} else if d.object(r, "") {
			d.tradeTick(r, &t)
		}
		if d.err != nil {
			d.nest("trades", n)
			break
		}
		d.ticks = append(d.ticks, t)
	}
	return d.err == nil && !r.bad
}

// tradeTick decodes the members of one futopt trade item; the caller has
// entered the object.
func (d *Decoder) tradeTick(r *reader, t *TradeTick) {
	var m uint8
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		switch k {
		case "price":
			if d.float(r, "price", &t.Price) {
				m |= 1 << tkPrice
			}
		case "size":
			if d.int(r, "size", &t.Size) {
				m |= 1 << tkSize
			}
		case "bid":
			if d.float(r, "bid", &t.Bid) {
				m |= 1 << tkBid
			}
		case "ask":
			if d.float(r, "ask", &t.Ask) {
				m |= 1 << tkAsk
			}
		case "serial":
			if d.serial(r, "serial", &t.Serial) {
				m |= 1 << tkSerial
			}
		case "isReplaced":
			if d.flag(r, "isReplaced", &t.IsReplaced) {
				m |= 1 << tkIsReplaced
			}
		default:
			r.skip()
		}
	}
	t.has = m
}

func (d *Decoder) tradeTotal(r *reader, t *TradeTotal) bool {
	if !d.object(r, "total") {
		return false
	}
	*t = TradeTotal{}
	var m uint16
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		switch k {
		case "tradeVolume":
			if d.int(r, "tradeVolume", &t.TradeVolume) {
				m |= 1 << ttTradeVolume
			}
		case "totalBidMatch":
			if d.int(r, "totalBidMatch", &t.TotalBidMatch) {
				m |= 1 << ttTotalBidMatch
			}
		case "totalAskMatch":
			if d.int(r, "totalAskMatch", &t.TotalAskMatch) {
				m |= 1 << ttTotalAskMatch
			}
		case "bidOrders":
			if d.int(r, "bidOrders", &t.BidOrders) {
				m |= 1 << ttBidOrders
			}
		case "askOrders":
			if d.int(r, "askOrders", &t.AskOrders) {
				m |= 1 << ttAskOrders
			}
		case "bidVolume":
			if d.int(r, "bidVolume", &t.BidVolume) {
				m |= 1 << ttBidVolume
			}
		case "askVolume":
			if d.int(r, "askVolume", &t.AskVolume) {
				m |= 1 << ttAskVolume
			}
		case "tradeValue":
			if d.int(r, "tradeValue", &t.TradeValue) {
				m |= 1 << ttTradeValue
			}
		case "tradeVolumeAtBid":
			if d.int(r, "tradeVolumeAtBid", &t.TradeVolumeAtBid) {
				m |= 1 << ttTradeVolumeAtBid
			}
		case "tradeVolumeAtAsk":
			if d.int(r, "tradeVolumeAtAsk", &t.TradeVolumeAtAsk) {
				m |= 1 << ttTradeVolumeAtAsk
			}
		case "transaction":
			if d.int(r, "transaction", &t.Transaction) {
				m |= 1 << ttTransaction
			}
		case "time":
			if d.time(r, "time", &t.Time) {
				m |= 1 << ttTime
			}
		default:
			r.skip()
		}
	}
	t.has = m
	if d.err != nil {
		d.nest("total", -1)
		return false
	}
	return true
}
