package messages

// Book is one frame of the books channel: the best five bids and asks.
//
// Futures/options books of endpoint version 1.1 may add IsTrial and a sixth,
// derived level on each side (DerivedBid, DerivedAsk); check
// Has("derivedBid") before reading one.
//
//fugle:decode channel=books finish=finishBook
//fugle:doc Bids and Asks share one allocation.
type Book struct {
	Meta

	Symbol   string    `json:"symbol" fugle:"required"`
	Type     string    `json:"type"`
	Exchange string    `json:"exchange"`
	Market   string    `json:"market"`
	Time     Timestamp `json:"time"`
	Serial   int64     `json:"serial" fugle:"serial"`
	IsTrial  bool      `json:"isTrial,omitempty"`

	Bids []PriceLevel `json:"bids" fugle:"hook=bidLevels"` // best first
	Asks []PriceLevel `json:"asks" fugle:"hook=askLevels"` // best first

	DerivedBid PriceLevel `json:"derivedBid" fugle:"hook=derivedLevel"`
	DerivedAsk PriceLevel `json:"derivedAsk" fugle:"hook=derivedLevel"`

	// Has reports whether the frame carried the named field with a value. name
	// is the JSON name, such as "serial" or "derivedBid".
	has uint16
}

// PriceLevel is one price of a book side and the size waiting there.
//
//fugle:decode members
type PriceLevel struct {
	Price float64 `json:"price"`
	Size  int64   `json:"size"`
}

// bidLevels and askLevels are the hooks of the book sides, of books and
// aggregates alike: they gather the levels in d.levels, and the payload's
// finish hook copies both sides into one allocation with splitLevels.
func (d *Decoder) bidLevels(r *reader, field string, _ *[]PriceLevel) bool {
	var ok bool
	d.bids, ok = d.levelList(r, field)
	return ok
}

func (d *Decoder) askLevels(r *reader, field string, _ *[]PriceLevel) bool {
	var ok bool
	d.asks, ok = d.levelList(r, field)
	return ok
}

// derivedLevel is the hook of the sixth level of a futopt book.
func (d *Decoder) derivedLevel(r *reader, field string, dst *PriceLevel) bool {
	if d.level(r, dst) {
		return true
	}
	if d.err != nil {
		d.nest(field, -1)
	}
	return false
}

func (d *Decoder) finishBook(_ *Frame, out *Book) {
	out.Bids, out.Asks = d.splitLevels()
}
