package messages

// Book is one frame of the books channel: the best five bids and asks.
//
// Futures/options books of endpoint version 1.1 may add IsTrial and a sixth,
// derived level on each side (DerivedBid, DerivedAsk); check
// Has("derivedBid") before reading one.
type Book struct {
	Meta

	Symbol   string    `json:"symbol"`
	Type     string    `json:"type"`
	Exchange string    `json:"exchange"`
	Market   string    `json:"market"`
	Time     Timestamp `json:"time"`
	Serial   int64     `json:"serial"`
	IsTrial  bool      `json:"isTrial,omitempty"`

	Bids []PriceLevel `json:"bids"` // best first
	Asks []PriceLevel `json:"asks"` // best first

	DerivedBid PriceLevel `json:"derivedBid"`
	DerivedAsk PriceLevel `json:"derivedAsk"`

	has uint16
}

// PriceLevel is one price of a book side and the size waiting there.
type PriceLevel struct {
	Price float64 `json:"price"`
	Size  int64   `json:"size"`
}

const (
	bkSymbol = iota
	bkType
	bkExchange
	bkMarket
	bkTime
	bkSerial
	bkIsTrial
	bkBids
	bkAsks
	bkDerivedBid
	bkDerivedAsk
)

var bookFields = fieldIndex([]string{
	bkSymbol:     "symbol",
	bkType:       "type",
	bkExchange:   "exchange",
	bkMarket:     "market",
	bkTime:       "time",
	bkSerial:     "serial",
	bkIsTrial:    "isTrial",
	bkBids:       "bids",
	bkAsks:       "asks",
	bkDerivedBid: "derivedBid",
	bkDerivedAsk: "derivedAsk",
})

// Has reports whether the frame carried the named field with a value. name
// is the JSON name, such as "serial" or "derivedBid".
func (b *Book) Has(name string) bool {
	return hasBit(bookFields, uint64(b.has), name)
}

// Kind returns KindSnapshot for a snapshot frame and KindData otherwise.
func (b *Book) Kind() Kind { return b.Meta.kind() }

// Book decodes the payload of a books frame into out, overwriting it. Bids
// and Asks share one allocation.
func (d *Decoder) Book(f *Frame, out *Book) error {
	err := d.book(f, out)
	if err == errDeferred {
		var g Frame
		if g, err = d.scanFrame(f.Raw); err == nil {
			err = d.book(&g, out)
		}
	}
	return err
}

// book decodes once; for a deferred frame it reports any trouble as
// errDeferred, and Book decodes again after a full scan.
func (d *Decoder) book(f *Frame, out *Book) error {
	r, err := d.payload(f)
	*out = Book{Meta: meta(f)}
	if err != nil {
		return err
	}
	d.levels = d.levels[:0]
	var m uint16
	var bidStart, nBids, askStart, nAsks int
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		switch k {
		case "symbol":
			if d.str(&r, "symbol", &out.Symbol) {
				m |= 1 << bkSymbol
			}
		case "type":
			if d.str(&r, "type", &out.Type) {
				m |= 1 << bkType
			}
		case "exchange":
			if d.str(&r, "exchange", &out.Exchange) {
				m |= 1 << bkExchange
			}
		case "market":
			if d.str(&r, "market", &out.Market) {
				m |= 1 << bkMarket
			}
		case "time":
			if d.time(&r, "time", &out.Time) {
				m |= 1 << bkTime
			}
		case "serial":
			if d.serial(&r, "serial", &out.Serial) {
				m |= 1 << bkSerial
			}
		case "isTrial":
			if d.flag(&r, "isTrial", &out.IsTrial) {
				m |= 1 << bkIsTrial
			}
		case "bids":
			var ok bool
			if bidStart, nBids, ok = d.levelList(&r, "bids"); ok {
				m |= 1 << bkBids
			}
		case "asks":
			var ok bool
			if askStart, nAsks, ok = d.levelList(&r, "asks"); ok {
				m |= 1 << bkAsks
			}
		case "derivedBid":
			if d.level(&r, &out.DerivedBid) {
				m |= 1 << bkDerivedBid
			} else if d.err != nil {
				d.nest("derivedBid", -1)
			}
		case "derivedAsk":
			if d.level(&r, &out.DerivedAsk) {
				m |= 1 << bkDerivedAsk
			} else if d.err != nil {
				d.nest("derivedAsk", -1)
			}
		default:
			r.skip()
		}
	}
	if err := d.finish(&r, f); err != nil {
		return err
	}
	if m&(1<<bkSymbol) == 0 {
		return d.missing("symbol", "string")
	}
	out.Bids, out.Asks = d.splitLevels(bidStart, nBids, askStart, nAsks)
	out.has = m
	return nil
}
