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
type Aggregate struct {
	Meta

	Date     string `json:"date"` // YYYY-MM-DD
	Type     string `json:"type"`
	Exchange string `json:"exchange"`
	Market   string `json:"market"`
	Symbol   string `json:"symbol"`
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
	ChangePercent  float64   `json:"changePercent"`
	Amplitude      float64   `json:"amplitude"`
	LastPrice      float64   `json:"lastPrice"`
	LastSize       int64     `json:"lastSize"`

	Bids []PriceLevel `json:"bids"` // best first
	Asks []PriceLevel `json:"asks"` // best first

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

	Serial      int64       `json:"serial"`
	LastUpdated Timestamp   `json:"lastUpdated"`
	TradingHalt TradingHalt `json:"tradingHalt"`
	PriceLimits PriceLimits `json:"priceLimits"`

	has uint64
}

// AggregateTotal holds the day's running totals of an aggregate.
type AggregateTotal struct {
	TradeValue       int64     `json:"tradeValue"`
	TradeVolume      int64     `json:"tradeVolume"`
	TradeVolumeAtBid int64     `json:"tradeVolumeAtBid"`
	TradeVolumeAtAsk int64     `json:"tradeVolumeAtAsk"`
	Transaction      int64     `json:"transaction"`
	TotalBidMatch    int64     `json:"totalBidMatch"`
	TotalAskMatch    int64     `json:"totalAskMatch"`
	Time             Timestamp `json:"time"`

	has uint8
}

// LastTick is the last trade, or the last trial match, of an aggregate.
type LastTick struct {
	Bid    float64   `json:"bid"`
	Ask    float64   `json:"ask"`
	Price  float64   `json:"price"`
	Size   int64     `json:"size"`
	Time   Timestamp `json:"time"`
	Serial int64     `json:"serial"`

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

	has uint8
}

const (
	agDate = iota
	agType
	agExchange
	agMarket
	agSymbol
	agName
	agReferencePrice
	agPreviousClose
	agOpenPrice
	agOpenTime
	agHighPrice
	agHighTime
	agLowPrice
	agLowTime
	agClosePrice
	agCloseTime
	agAvgPrice
	agChange
	agChangePercent
	agAmplitude
	agLastPrice
	agLastSize
	agBids
	agAsks
	agTotal
	agLastTrade
	agLastTrial
	agIsLimitDownPrice
	agIsLimitUpPrice
	agIsLimitDownBid
	agIsLimitUpBid
	agIsLimitDownAsk
	agIsLimitUpAsk
	agIsLimitDownHalt
	agIsLimitUpHalt
	agIsTrial
	agIsDelayedOpen
	agIsDelayedClose
	agIsContinuous
	agIsOpen
	agIsClose
	agSerial
	agLastUpdated
	agTradingHalt
	agPriceLimits
)

var aggregateFields = func() map[string]uint8 {
	m := fieldIndex([]string{
		agDate:             "date",
		agType:             "type",
		agExchange:         "exchange",
		agMarket:           "market",
		agSymbol:           "symbol",
		agName:             "name",
		agReferencePrice:   "referencePrice",
		agPreviousClose:    "previousClose",
		agOpenPrice:        "openPrice",
		agOpenTime:         "openTime",
		agHighPrice:        "highPrice",
		agHighTime:         "highTime",
		agLowPrice:         "lowPrice",
		agLowTime:          "lowTime",
		agClosePrice:       "closePrice",
		agCloseTime:        "closeTime",
		agAvgPrice:         "avgPrice",
		agChange:           "change",
		agChangePercent:    "changePercent",
		agAmplitude:        "amplitude",
		agLastPrice:        "lastPrice",
		agLastSize:         "lastSize",
		agBids:             "bids",
		agAsks:             "asks",
		agTotal:            "total",
		agLastTrade:        "lastTrade",
		agLastTrial:        "lastTrial",
		agIsLimitDownPrice: "isLimitDownPrice",
		agIsLimitUpPrice:   "isLimitUpPrice",
		agIsLimitDownBid:   "isLimitDownBid",
		agIsLimitUpBid:     "isLimitUpBid",
		agIsLimitDownAsk:   "isLimitDownAsk",
		agIsLimitUpAsk:     "isLimitUpAsk",
		agIsLimitDownHalt:  "isLimitDownHalt",
		agIsLimitUpHalt:    "isLimitUpHalt",
		agIsTrial:          "isTrial",
		agIsDelayedOpen:    "isDelayedOpen",
		agIsDelayedClose:   "isDelayedClose",
		agIsContinuous:     "isContinuous",
		agIsOpen:           "isOpen",
		agIsClose:          "isClose",
		agSerial:           "serial",
		agLastUpdated:      "lastUpdated",
		agTradingHalt:      "tradingHalt",
		agPriceLimits:      "priceLimits",
	})
	m["changePercnet"] = agChangePercent
	return m
}()

const (
	atTradeValue = iota
	atTradeVolume
	atTradeVolumeAtBid
	atTradeVolumeAtAsk
	atTransaction
	atTotalBidMatch
	atTotalAskMatch
	atTime
)

var aggregateTotalFields = fieldIndex([]string{
	atTradeValue:       "tradeValue",
	atTradeVolume:      "tradeVolume",
	atTradeVolumeAtBid: "tradeVolumeAtBid",
	atTradeVolumeAtAsk: "tradeVolumeAtAsk",
	atTransaction:      "transaction",
	atTotalBidMatch:    "totalBidMatch",
	atTotalAskMatch:    "totalAskMatch",
	atTime:             "time",
})

const (
	ltBid = iota
	ltAsk
	ltPrice
	ltSize
	ltTime
	ltSerial
)

var lastTickFields = fieldIndex([]string{
	ltBid:    "bid",
	ltAsk:    "ask",
	ltPrice:  "price",
	ltSize:   "size",
	ltTime:   "time",
	ltSerial: "serial",
})

const (
	plPrice = iota
	plBid
	plAsk
	plCurb
)

var priceLimitsFields = fieldIndex([]string{
	plPrice: "price",
	plBid:   "bid",
	plAsk:   "ask",
	plCurb:  "curb",
})

// Has reports whether the frame carried the named field with a value. name
// is the JSON name, such as "changePercent" (or its misspelling
// "changePercnet") or "lastTrial"; a dotted name such as "total.tradeValue"
// or "lastTrade.serial" looks inside Total, LastTrade, LastTrial or
// PriceLimits.
func (a *Aggregate) Has(name string) bool {
	if head, rest, ok := splitPath(name); ok {
		switch head {
		case "total":
			return a.Total.Has(rest)
		case "lastTrade":
			return a.LastTrade.Has(rest)
		case "lastTrial":
			return a.LastTrial.Has(rest)
		case "priceLimits":
			return a.PriceLimits.Has(rest)
		}
		return false
	}
	return hasBit(aggregateFields, a.has, name)
}

// Has reports whether the totals carried the named field, such as
// "tradeValue".
func (t *AggregateTotal) Has(name string) bool {
	return hasBit(aggregateTotalFields, uint64(t.has), name)
}

// Has reports whether the tick carried the named field ("bid", "ask",
// "price", "size", "time", "serial").
func (t *LastTick) Has(name string) bool {
	return hasBit(lastTickFields, uint64(t.has), name)
}

// Has reports whether the named member ("price", "bid", "ask", "curb") was
// present as a number.
func (p *PriceLimits) Has(name string) bool {
	return hasBit(priceLimitsFields, uint64(p.has), name)
}

// Kind returns KindSnapshot for a snapshot frame and KindData otherwise.
func (a *Aggregate) Kind() Kind { return a.Meta.kind() }

// Aggregate decodes the payload of an aggregates frame into out,
// overwriting it. Bids and Asks share one allocation.
func (d *Decoder) Aggregate(f *Frame, out *Aggregate) error {
	err := d.aggregate(f, out)
	if err == errDeferred {
		var g Frame
		if g, err = d.scanFrame(f.Raw); err == nil {
			err = d.aggregate(&g, out)
		}
	}
	return err
}

// aggregate decodes once; for a deferred frame it reports any trouble as
// errDeferred, and Aggregate decodes again after a full scan.
func (d *Decoder) aggregate(f *Frame, out *Aggregate) error {
	r, err := d.payload(f)
	*out = Aggregate{Meta: meta(f)}
	if err != nil {
		return err
	}
	d.levels = d.levels[:0]
	var m uint64
	var bidStart, nBids, askStart, nAsks int
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		switch k {
		case "date":
			if d.str(&r, "date", &out.Date) {
				m |= 1 << agDate
			}
		case "type":
			if d.str(&r, "type", &out.Type) {
				m |= 1 << agType
			}
		case "exchange":
			if d.str(&r, "exchange", &out.Exchange) {
				m |= 1 << agExchange
			}
		case "market":
			if d.str(&r, "market", &out.Market) {
				m |= 1 << agMarket
			}
		case "symbol":
			if d.str(&r, "symbol", &out.Symbol) {
				m |= 1 << agSymbol
			}
		case "name":
			if d.str(&r, "name", &out.Name) {
				m |= 1 << agName
			}
		case "referencePrice":
			if d.float(&r, "referencePrice", &out.ReferencePrice) {
				m |= 1 << agReferencePrice
			}
		case "previousClose":
			if d.float(&r, "previousClose", &out.PreviousClose) {
				m |= 1 << agPreviousClose
			}
		case "openPrice":
			if d.float(&r, "openPrice", &out.OpenPrice) {
				m |= 1 << agOpenPrice
			}
		case "openTime":
			if d.time(&r, "openTime", &out.OpenTime) {
				m |= 1 << agOpenTime
			}
		case "highPrice":
			if d.float(&r, "highPrice", &out.HighPrice) {
				m |= 1 << agHighPrice
			}
		case "highTime":
			if d.time(&r, "highTime", &out.HighTime) {
				m |= 1 << agHighTime
			}
		case "lowPrice":
			if d.float(&r, "lowPrice", &out.LowPrice) {
				m |= 1 << agLowPrice
			}
		case "lowTime":
			if d.time(&r, "lowTime", &out.LowTime) {
				m |= 1 << agLowTime
			}
		case "closePrice":
			if d.float(&r, "closePrice", &out.ClosePrice) {
				m |= 1 << agClosePrice
			}
		case "closeTime":
			if d.time(&r, "closeTime", &out.CloseTime) {
				m |= 1 << agCloseTime
			}
		case "avgPrice":
			if d.float(&r, "avgPrice", &out.AvgPrice) {
				m |= 1 << agAvgPrice
			}
		case "change":
			if d.float(&r, "change", &out.Change) {
				m |= 1 << agChange
			}
		case "changePercent":
			if d.float(&r, "changePercent", &out.ChangePercent) {
				m |= 1 << agChangePercent
			}
		case "changePercnet":
			if d.float(&r, "changePercnet", &out.ChangePercent) {
				m |= 1 << agChangePercent
			}
		case "amplitude":
			if d.float(&r, "amplitude", &out.Amplitude) {
				m |= 1 << agAmplitude
			}
		case "lastPrice":
			if d.float(&r, "lastPrice", &out.LastPrice) {
				m |= 1 << agLastPrice
			}
		case "lastSize":
			if d.int(&r, "lastSize", &out.LastSize) {
				m |= 1 << agLastSize
			}
		case "bids":
			var ok bool
			if bidStart, nBids, ok = d.levelList(&r, "bids"); ok {
				m |= 1 << agBids
			}
		case "asks":
			var ok bool
			if askStart, nAsks, ok = d.levelList(&r, "asks"); ok {
				m |= 1 << agAsks
			}
		case "total":
			if d.aggregateTotal(&r, &out.Total) {
				m |= 1 << agTotal
			}
		case "lastTrade":
			if d.lastTick(&r, "lastTrade", &out.LastTrade) {
				m |= 1 << agLastTrade
			}
		case "lastTrial":
			if d.lastTick(&r, "lastTrial", &out.LastTrial) {
				m |= 1 << agLastTrial
			}
		case "isLimitDownPrice":
			if d.flag(&r, "isLimitDownPrice", &out.IsLimitDownPrice) {
				m |= 1 << agIsLimitDownPrice
			}
		case "isLimitUpPrice":
			if d.flag(&r, "isLimitUpPrice", &out.IsLimitUpPrice) {
				m |= 1 << agIsLimitUpPrice
			}
		case "isLimitDownBid":
			if d.flag(&r, "isLimitDownBid", &out.IsLimitDownBid) {
				m |= 1 << agIsLimitDownBid
			}
		case "isLimitUpBid":
			if d.flag(&r, "isLimitUpBid", &out.IsLimitUpBid) {
				m |= 1 << agIsLimitUpBid
			}
		case "isLimitDownAsk":
			if d.flag(&r, "isLimitDownAsk", &out.IsLimitDownAsk) {
				m |= 1 << agIsLimitDownAsk
			}
		case "isLimitUpAsk":
			if d.flag(&r, "isLimitUpAsk", &out.IsLimitUpAsk) {
				m |= 1 << agIsLimitUpAsk
			}
		case "isLimitDownHalt":
			if d.flag(&r, "isLimitDownHalt", &out.IsLimitDownHalt) {
				m |= 1 << agIsLimitDownHalt
			}
		case "isLimitUpHalt":
			if d.flag(&r, "isLimitUpHalt", &out.IsLimitUpHalt) {
				m |= 1 << agIsLimitUpHalt
			}
		case "isTrial":
			if d.flag(&r, "isTrial", &out.IsTrial) {
				m |= 1 << agIsTrial
			}
		case "isDelayedOpen":
			if d.flag(&r, "isDelayedOpen", &out.IsDelayedOpen) {
				m |= 1 << agIsDelayedOpen
			}
		case "isDelayedClose":
			if d.flag(&r, "isDelayedClose", &out.IsDelayedClose) {
				m |= 1 << agIsDelayedClose
			}
		case "isContinuous":
			if d.flag(&r, "isContinuous", &out.IsContinuous) {
				m |= 1 << agIsContinuous
			}
		case "isOpen":
			if d.flag(&r, "isOpen", &out.IsOpen) {
				m |= 1 << agIsOpen
			}
		case "isClose":
			if d.flag(&r, "isClose", &out.IsClose) {
				m |= 1 << agIsClose
			}
		case "serial":
			if d.serial(&r, "serial", &out.Serial) {
				m |= 1 << agSerial
			}
		case "lastUpdated":
			if d.time(&r, "lastUpdated", &out.LastUpdated) {
				m |= 1 << agLastUpdated
			}
		case "tradingHalt":
			if d.tradingHalt(&r, &out.TradingHalt) {
				m |= 1 << agTradingHalt
			}
		case "priceLimits":
			if d.priceLimits(&r, &out.PriceLimits) {
				m |= 1 << agPriceLimits
			}
		default:
			r.skip()
		}
	}
	if err := d.finish(&r, f); err != nil {
		return err
	}
	if m&(1<<agSymbol) == 0 {
		return d.missing("symbol", "string")
	}
	out.Bids, out.Asks = d.splitLevels(bidStart, nBids, askStart, nAsks)
	out.has = m
	return nil
}

func (d *Decoder) aggregateTotal(r *reader, t *AggregateTotal) bool {
	if !d.object(r, "total") {
		return false
	}
	*t = AggregateTotal{}
	var m uint8
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		switch k {
		case "tradeValue":
			if d.int(r, "tradeValue", &t.TradeValue) {
				m |= 1 << atTradeValue
			}
		case "tradeVolume":
			if d.int(r, "tradeVolume", &t.TradeVolume) {
				m |= 1 << atTradeVolume
			}
		case "tradeVolumeAtBid":
			if d.int(r, "tradeVolumeAtBid", &t.TradeVolumeAtBid) {
				m |= 1 << atTradeVolumeAtBid
			}
		case "tradeVolumeAtAsk":
			if d.int(r, "tradeVolumeAtAsk", &t.TradeVolumeAtAsk) {
				m |= 1 << atTradeVolumeAtAsk
			}
		case "transaction":
			if d.int(r, "transaction", &t.Transaction) {
				m |= 1 << atTransaction
			}
		case "totalBidMatch":
			if d.int(r, "totalBidMatch", &t.TotalBidMatch) {
				m |= 1 << atTotalBidMatch
			}
		case "totalAskMatch":
			if d.int(r, "totalAskMatch", &t.TotalAskMatch) {
				m |= 1 << atTotalAskMatch
			}
		case "time":
			if d.time(r, "time", &t.Time) {
				m |= 1 << atTime
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

func (d *Decoder) lastTick(r *reader, field string, t *LastTick) bool {
	if !d.object(r, field) {
		return false
	}
	*t = LastTick{}
	var m uint8
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		switch k {
		case "bid":
			if d.float(r, "bid", &t.Bid) {
				m |= 1 << ltBid
			}
		case "ask":
			if d.float(r, "ask", &t.Ask) {
				m |= 1 << ltAsk
			}
		case "price":
			if d.float(r, "price", &t.Price) {
				m |= 1 << ltPrice
			}
		case "size":
			if d.int(r, "size", &t.Size) {
				m |= 1 << ltSize
			}
		case "time":
			if d.time(r, "time", &t.Time) {
				m |= 1 << ltTime
			}
		case "serial":
			if d.serial(r, "serial", &t.Serial) {
				m |= 1 << ltSerial
			}
		default:
			r.skip()
		}
	}
	t.has = m
	if d.err != nil {
		d.nest(field, -1)
		return false
	}
	return true
}

func (d *Decoder) tradingHalt(r *reader, t *TradingHalt) bool {
	if !d.object(r, "tradingHalt") {
		return false
	}
	*t = TradingHalt{}
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		switch k {
		case "isHalted":
			d.flag(r, "isHalted", &t.IsHalted)
		case "time":
			d.time(r, "time", &t.Time)
		default:
			r.skip()
		}
	}
	if d.err != nil {
		d.nest("tradingHalt", -1)
		return false
	}
	return true
}

func (d *Decoder) priceLimits(r *reader, p *PriceLimits) bool {
	start := r.i
	if !d.object(r, "priceLimits") {
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
			dst, bit = &p.Price, 1<<plPrice
		case "bid":
			dst, bit = &p.Bid, 1<<plBid
		case "ask":
			dst, bit = &p.Ask, 1<<plAsk
		case "curb":
			dst, bit = &p.Curb, 1<<plCurb
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
