package messages

import (
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Frame is a decoded envelope.
//
// Data and Raw alias the bytes given to Decoder.Frame and are valid only as
// long as those bytes are; Event, Channel and ID are owned strings.
type Frame struct {
	Kind    Kind
	Event   string       // the "event" member
	Channel Channel      // the top-level "channel", empty when absent
	ID      string       // the top-level "id" (the subscription id), empty when absent
	Data    gjson.Result // the "data" member; Data.Exists() is false when it is absent
	Raw     []byte       // the whole frame, as given (not copied)
}

const (
	// maxInterned bounds the intern table. A market has a few thousand
	// symbols; past the bound the table is cleared rather than evicted
	// entry by entry, which costs one round of allocations and no bookkeeping.
	maxInterned = 4096
	// maxInternLen keeps long strings (messages, odd payloads) out of the
	// table: they rarely repeat and would crowd out the symbols.
	maxInternLen = 64
	// recentBits sizes the direct-mapped cache in front of the intern
	// table: a hit there costs a hash of a few bytes and one comparison
	// instead of a map lookup.
	recentBits = 8
	recentSize = 1 << recentBits
)

// Decoder decodes frames.
//
// A Decoder is not safe for concurrent use: a client owns one per reader
// goroutine. It interns the short strings that repeat between frames
// (symbols, types, exchanges, markets, names, dates, ids, channel and event
// names) in a table of at most 4096 entries, cleared when full, so that a
// steady stream of the same symbols does not allocate strings again.
//
// The typed methods (Trade, Book, ...) take a Frame returned by Frame and
// overwrite their output entirely. Every string and slice they store is owned
// by the output, never by the frame's bytes, so the caller may reuse its read
// buffer as soon as they return.
type Decoder struct {
	strs     map[string]string
	recent   [recentSize]string
	noIntern bool

	stack  []uint64     // nesting bits for the validator
	levels []PriceLevel // scratch for book levels before their one allocation
	ticks  []TradeTick  // scratch for futopt trade items

	// The frame being decoded, for error messages, and the first error met.
	event   string
	channel Channel
	err     error
}

// NewDecoder returns a Decoder with an empty intern table.
func NewDecoder() *Decoder {
	return &Decoder{strs: make(map[string]string, 256)}
}

// bytesToString views b as a string without copying. Everything derived from
// it is either copied or interned before it leaves the decoder, except the
// documented aliases Frame.Data and Frame.Raw.
func bytesToString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Frame validates raw as one JSON object and decodes its envelope.
//
// The error wraps ErrMalformed: a *SyntaxError when raw is not a single
// well-formed JSON object, a *FieldError when "event" is missing or not a
// string, or when a data or snapshot frame has a "channel" or "id" that is
// not a string. The whole frame, "data" included, is validated here.
func (d *Decoder) Frame(raw []byte) (Frame, error) {
	s := bytesToString(raw)
	env, serr := scanEnvelope(s, &d.stack)
	if cap(d.stack) > maxScratch {
		d.stack = nil
	}
	if serr != nil {
		return Frame{}, serr
	}
	f := Frame{Raw: raw}
	if env.event.start < 0 {
		return Frame{}, &FieldError{Field: "event", Want: "string", Got: "missing"}
	}
	ev, ok := env.event.str(s)
	if !ok {
		return Frame{}, &FieldError{Field: "event", Want: "string", Got: typeName(s[env.event.start])}
	}
	f.Kind = kindOf(ev)
	if f.Kind != KindUnknown {
		f.Event = kindNames[f.Kind] // a constant: no lookup, no copy
	} else {
		f.Event = d.intern(ev)
	}
	// Only data frames are routed by channel and id; elsewhere an odd value
	// must not stop an otherwise usable frame.
	routed := f.Kind == KindData || f.Kind == KindSnapshot
	if sp := env.channel; sp.start >= 0 {
		if v, ok := sp.str(s); ok {
			if c, known := knownChannel(v); known {
				f.Channel = c
			} else {
				f.Channel = Channel(d.intern(v))
			}
		} else if routed && s[sp.start] != 'n' {
			return Frame{}, &FieldError{Event: f.Event, Field: "channel", Want: "string", Got: typeName(s[sp.start])}
		}
	}
	if sp := env.id; sp.start >= 0 {
		if v, ok := sp.str(s); ok {
			f.ID = d.intern(v)
		} else if routed && s[sp.start] != 'n' {
			return Frame{}, &FieldError{Event: f.Event, Channel: f.Channel, Field: "id", Want: "string", Got: typeName(s[sp.start])}
		}
	}
	if sp := env.data; sp.start >= 0 {
		if c := s[sp.start]; c == '{' || c == '[' {
			f.Data = gjson.Result{Type: gjson.JSON, Raw: s[sp.start:sp.end], Index: sp.start}
		} else {
			f.Data = gjson.Parse(s[sp.start:sp.end])
			f.Data.Index = sp.start
		}
	}
	return f, nil
}

// unescapeJSON returns the content of a quoted JSON string that holds
// escapes.
func unescapeJSON(quoted string) string {
	return gjson.Parse(quoted).Str
}

// intern returns an owned copy of s, shared with earlier copies of the same
// text while the table holds it. s may alias a read buffer.
func (d *Decoder) intern(s string) string {
	if s == "" {
		return ""
	}
	if d.noIntern || len(s) > maxInternLen {
		return strings.Clone(s)
	}
	// A hash of the length and four sampled bytes (every byte of a
	// four-character stock symbol) is enough to pick a cache slot.
	n := len(s)
	h := uint32(n) ^ uint32(s[0])<<8 ^ uint32(s[n/3])<<16 ^ uint32(s[2*n/3])<<24 ^ uint32(s[n-1])
	h *= 0x9E3779B1
	slot := &d.recent[h>>(32-recentBits)]
	if *slot == s {
		return *slot
	}
	v, ok := d.strs[s]
	if !ok {
		if d.strs == nil {
			d.strs = make(map[string]string, 256)
		} else if len(d.strs) >= maxInterned {
			clear(d.strs)
		}
		v = strings.Clone(s)
		d.strs[v] = v
	}
	*slot = v
	return v
}
