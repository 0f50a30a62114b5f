package messages

import (
	"errors"
	"strconv"
	"strings"
)

// The frame being decoded is remembered for error messages; the first error
// met is kept in d.err, and the walk stops there.

func (d *Decoder) begin(f *Frame) {
	d.event = f.Event
	d.channel = f.Channel
	d.err = nil
}

// finish returns the first error of the walk: a recorded FieldError, or a
// SyntaxError when the reader met text it could not read, including text
// after the value it walked.
//
// For a frame whose data Frame left unvalidated it returns errDeferred
// instead of any error: the data may be malformed, or not where Frame
// guessed, and only a full scan of the frame tells which, and which error
// the frame deserves.
func (d *Decoder) finish(r *reader, f *Frame) error {
	err := d.err
	d.err = nil
	if err == nil && !r.bad {
		if j := skipSpace(r.s, r.i); j != len(r.s) {
			r.fail(j)
		}
	}
	if f.deferred && (err != nil || r.bad) {
		return errDeferred
	}
	if err == nil && r.bad {
		err = &SyntaxError{Offset: f.Data.Index + r.i, Msg: "malformed " + d.event + " payload"}
	}
	return err
}

// typeErr records that field holds a value of the wrong type, and returns
// false so that helpers can end with it.
func (d *Decoder) typeErr(field, want, got string) bool {
	if d.err == nil {
		d.err = &FieldError{Event: d.event, Channel: d.channel, Field: field, Want: want, Got: got}
	}
	return false
}

// missing returns the error for a required field that is absent.
func (d *Decoder) missing(field, want string) error {
	return &FieldError{Event: d.event, Channel: d.channel, Field: field, Want: want, Got: "missing"}
}

// nest prefixes the field of a recorded error with the path of its parent,
// for errors met inside nested objects and arrays. idx < 0 means the parent
// is an object member rather than an array.
func (d *Decoder) nest(parent string, idx int) {
	fe, ok := d.err.(*FieldError)
	if !ok {
		return
	}
	p := parent
	if idx >= 0 {
		p += "[" + strconv.Itoa(idx) + "]"
	}
	if fe.Field == "" {
		fe.Field = p
	} else {
		fe.Field = p + "." + fe.Field
	}
}

// payload starts the walk of the "data" object of a data or snapshot frame
// in r, with the scratch of the hooks emptied. It fills the caller's reader
// rather than returning one: copying the reader out costs the small frames
// a few per cent.
func (d *Decoder) payload(f *Frame, r *reader) error {
	d.begin(f)
	d.levels = d.levels[:0] // one statement each: s = s[:0] stores only the length
	d.ticks = d.ticks[:0]
	d.bids, d.asks = levelSpan{}, levelSpan{}
	*r = reader{s: f.Data.Raw, stack: &d.stack}
	if !f.Data.IsObject() {
		got := "missing"
		if f.Data.Exists() {
			got = typeName(r.peek())
		}
		return &FieldError{Event: d.event, Channel: d.channel, Field: "data", Want: "object", Got: got}
	}
	r.ws()
	r.open()
	return nil
}

// meta builds the Meta of a payload from its frame.
func meta(f *Frame) Meta {
	return Meta{ID: f.ID, Channel: f.Channel, Snapshot: f.Kind == KindSnapshot}
}

// The value helpers below read the value the reader is at into dst and
// report whether they stored one. JSON null counts as absent. A value of the
// wrong type records a FieldError and stores nothing.

func (d *Decoder) str(r *reader, field string, dst *string) bool {
	switch c := r.peek(); c {
	case '"':
		if v, ok := r.str(); ok {
			*dst = d.intern(v)
			return true
		}
		return false
	case 'n':
		r.literal("null")
		return false
	default:
		return d.typeErr(field, "string", typeName(c))
	}
}

func (d *Decoder) float(r *reader, field string, dst *float64) bool {
	switch c := r.peek(); {
	case c == '-' || isDigit(c):
		v, ok := r.float()
		if ok {
			*dst = v
			return true
		}
		return d.rangeErr(r, field, "number")
	case c == 'n':
		r.literal("null")
		return false
	default:
		return d.typeErr(field, "number", typeName(c))
	}
}

func (d *Decoder) int(r *reader, field string, dst *int64) bool {
	switch c := r.peek(); {
	case c == '-' || isDigit(c):
		v, ok := r.int()
		if ok {
			*dst = v
			return true
		}
		return d.rangeErr(r, field, "integer")
	case c == 'n':
		r.literal("null")
		return false
	default:
		return d.typeErr(field, "integer", typeName(c))
	}
}

func (d *Decoder) flag(r *reader, field string, dst *bool) bool {
	switch c := r.peek(); c {
	case 't':
		*dst = true
		return r.literal("true")
	case 'f':
		*dst = false
		return r.literal("false")
	case 'n':
		r.literal("null")
		return false
	default:
		return d.typeErr(field, "boolean", typeName(c))
	}
}

// time accepts epoch microseconds as a number or as a numeric string: the
// documentation shows strings where the servers send numbers.
func (d *Decoder) time(r *reader, field string, dst *Timestamp) bool {
	switch c := r.peek(); {
	case c == '-' || isDigit(c):
		v, ok := r.int()
		if ok {
			*dst = Timestamp(v)
			return true
		}
		return d.rangeErr(r, field, "epoch microseconds")
	case c == '"':
		s, ok := r.str()
		if !ok {
			return false
		}
		v, err := parseInt(s)
		if err == nil {
			*dst = Timestamp(v)
			return true
		}
		return d.typeErr(field, "epoch microseconds", stringGot(err))
	case c == 'n':
		r.literal("null")
		return false
	default:
		return d.typeErr(field, "epoch microseconds", typeName(c))
	}
}

// serial accepts a number or a numeric string, as some of the official SDKs
// type it as a string. A non-numeric string is not worth failing a frame
// over: it stores nothing and reports the field absent. A number outside
// int64, in either spelling, is an error: it is a serial, just not one this
// type can hold.
func (d *Decoder) serial(r *reader, field string, dst *int64) bool {
	const want = "integer or numeric string"
	switch c := r.peek(); {
	case c == '-' || isDigit(c):
		v, ok := r.int()
		if ok {
			*dst = v
			return true
		}
		return d.rangeErr(r, field, want)
	case c == '"':
		s, ok := r.str()
		if !ok {
			return false
		}
		v, err := parseInt(s)
		switch {
		case err == nil:
			*dst = v
			return true
		case errors.Is(err, strconv.ErrRange):
			return d.typeErr(field, want, gotRangeString)
		}
		return false
	case c == 'n':
		r.literal("null")
		return false
	default:
		return d.typeErr(field, want, typeName(c))
	}
}

// The Got of a FieldError for a well-formed number that its field's Go type
// cannot hold: a float64 overflowing to ±Inf, an integer outside int64.
const (
	gotRangeNumber = "number out of range"
	gotRangeString = "numeric string out of range"
)

// rangeErr follows a number reader that returned ok false: unless the text
// was malformed, the number did not fit, which is the field's error.
func (d *Decoder) rangeErr(r *reader, field, want string) bool {
	if r.bad {
		return false
	}
	return d.typeErr(field, want, gotRangeNumber)
}

// stringGot names what a string that parseInt refused holds.
func stringGot(err error) string {
	if errors.Is(err, strconv.ErrRange) {
		return gotRangeString
	}
	return "non-numeric string"
}

// object enters the object the reader is at. It returns false for null
// (absent) and records an error for any other type.
func (d *Decoder) object(r *reader, field string) bool {
	switch c := r.peek(); c {
	case '{':
		r.open()
		return true
	case 'n':
		r.literal("null")
		return false
	default:
		return d.typeErr(field, "object", typeName(c))
	}
}

// array enters the array the reader is at, like object.
func (d *Decoder) array(r *reader, field string) bool {
	switch c := r.peek(); c {
	case '[':
		r.open()
		return true
	case 'n':
		r.literal("null")
		return false
	default:
		return d.typeErr(field, "array", typeName(c))
	}
}

// level decodes one {price,size} object. Errors name the member inside the
// level; the caller adds its own path.
func (d *Decoder) level(r *reader, dst *PriceLevel) bool {
	if !d.object(r, "") {
		return false
	}
	*dst = PriceLevel{}
	d.priceLevelMembers(r, dst)
	return d.err == nil && !r.bad
}

// levelSpan locates the levels of one book side in d.levels.
type levelSpan struct{ start, n int }

// levelList appends the levels of a bids or asks array to d.levels and
// returns where they are.
func (d *Decoder) levelList(r *reader, field string) (levelSpan, bool) {
	sp := levelSpan{start: len(d.levels)}
	if !d.array(r, field) {
		return sp, false
	}
	for d.err == nil && r.elem() {
		var lv PriceLevel
		if r.levelFast(&lv) {
			d.levels = append(d.levels, lv)
			sp.n++
			continue
		}
		if r.peek() == 'n' {
			d.typeErr("", "object", "null")
		} else {
			d.level(r, &lv)
		}
		if d.err != nil {
			d.nest(field, sp.n)
			break
		}
		d.levels = append(d.levels, lv)
		sp.n++
	}
	return sp, d.err == nil && !r.bad
}

// maxScratch bounds the scratch slices a Decoder keeps between frames, so
// that one huge frame does not pin its memory for the life of the Decoder.
const maxScratch = 1024

func (d *Decoder) trimScratch() {
	if cap(d.levels) > maxScratch {
		d.levels = nil
	}
	if cap(d.ticks) > maxScratch {
		d.ticks = nil
	}
	if cap(d.stack) > maxScratch {
		d.stack = nil
	}
}

// splitLevels copies the bids and asks gathered in d.levels into one owned
// allocation shared by both slices.
func (d *Decoder) splitLevels() (bids, asks []PriceLevel) {
	defer d.trimScratch()
	b, a := d.bids, d.asks
	if b.n+a.n == 0 {
		return nil, nil
	}
	all := make([]PriceLevel, b.n+a.n)
	copy(all, d.levels[b.start:b.start+b.n])
	copy(all[b.n:], d.levels[a.start:a.start+a.n])
	if b.n > 0 {
		bids = all[:b.n:b.n]
	}
	if a.n > 0 {
		asks = all[b.n:]
	}
	return bids, asks
}

// hasBit looks name up in a field table and tests its bit in mask.
func hasBit(table map[string]uint8, mask uint64, name string) bool {
	i, ok := table[name]
	return ok && mask&(1<<i) != 0
}

// splitPath splits "total.tradeValue" into "total" and "tradeValue".
func splitPath(name string) (head, rest string, ok bool) {
	return strings.Cut(name, ".")
}
