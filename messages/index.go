package messages

// Index is one frame of the indices channel (stock only): the value of a
// market index such as IR0001.
type Index struct {
	Meta

	Symbol   string    `json:"symbol"`
	Type     string    `json:"type"` // "INDEX"
	Exchange string    `json:"exchange"`
	Index    float64   `json:"index"`
	Time     Timestamp `json:"time"`

	has uint8
}

const (
	ixSymbol = iota
	ixType
	ixExchange
	ixIndex
	ixTime
)

var indexFields = fieldIndex([]string{
	ixSymbol:   "symbol",
	ixType:     "type",
	ixExchange: "exchange",
	ixIndex:    "index",
	ixTime:     "time",
})

// Has reports whether the frame carried the named field with a value. name
// is the JSON name, such as "index".
func (x *Index) Has(name string) bool {
	return hasBit(indexFields, uint64(x.has), name)
}

// Kind returns KindSnapshot for a snapshot frame and KindData otherwise.
func (x *Index) Kind() Kind { return x.Meta.kind() }

// Index decodes the payload of an indices frame into out, overwriting it.
func (d *Decoder) Index(f *Frame, out *Index) error {
	err := d.index(f, out)
	if err == errDeferred {
		var g Frame
		if g, err = d.scanFrame(f.Raw); err == nil {
			err = d.index(&g, out)
		}
	}
	return err
}

// index decodes once; for a deferred frame it reports any trouble as
// errDeferred, and Index decodes again after a full scan.
func (d *Decoder) index(f *Frame, out *Index) error {
	r, err := d.payload(f)
	*out = Index{Meta: meta(f)}
	if err != nil {
		return err
	}
	var m uint8
	for d.err == nil {
		k, ok := r.key()
		if !ok {
			break
		}
		switch k {
		case "symbol":
			if d.str(&r, "symbol", &out.Symbol) {
				m |= 1 << ixSymbol
			}
		case "type":
			if d.str(&r, "type", &out.Type) {
				m |= 1 << ixType
			}
		case "exchange":
			if d.str(&r, "exchange", &out.Exchange) {
				m |= 1 << ixExchange
			}
		case "index":
			if d.float(&r, "index", &out.Index) {
				m |= 1 << ixIndex
			}
		case "time":
			if d.time(&r, "time", &out.Time) {
				m |= 1 << ixTime
			}
		default:
			r.skip()
		}
	}
	if err := d.finish(&r, f); err != nil {
		return err
	}
	if m&(1<<ixSymbol) == 0 {
		return d.missing("symbol", "string")
	}
	out.has = m
	return nil
}
