package messages

import (
	"errors"
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

	// deferred is set when Frame left "data" unvalidated, for the typed
	// method to validate as it reads.
	deferred bool
}

// errDeferred tells a typed method that the data of a deferred frame did
// not read cleanly, so the frame must be scanned in full and decoded again.
// It never leaves the package.
var errDeferred = errors.New("messages: deferred frame needs a full scan")

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
// The typed methods (Trade, Book, ...) take a Frame returned by Frame,
// validate the data that Frame left to them, and overwrite their output
// entirely. Every string and slice they store is owned by the output, never
// by the frame's bytes, so the caller may reuse its read buffer as soon as
// they return.
type Decoder struct {
	strs     map[string]string
	recent   [recentSize]string
	noIntern bool
	noDefer  bool // for tests: validate every frame in full in Frame

	stack      []uint64     // nesting bits for the validator
	levels     []PriceLevel // scratch for book levels before their one allocation
	bids, asks levelSpan    // where the book sides lie in levels
	ticks      []TradeTick  // scratch for futopt trade items

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
// well-formed JSON object, or when its bytes are not valid UTF-8; a
// *FieldError when "event" is missing or not a string, or when a data or
// snapshot frame has a "channel" or "id" that is not a string.
//
// A frame whose bytes are not valid UTF-8 is rejected.
//
// Frame validates the whole frame, with one exception that spares the
// reader goroutine a second pass over the payload: a data or snapshot frame
// of a known channel, laid out the way the server writes it
// ({"event":"data","data":{...},"id":"...","channel":"trades"}, or with id
// and channel swapped), has its envelope checked here and its "data" left to
// the typed method of its channel (Trade, Candle, Book, Aggregate or Index).
// That method validates the data as it decodes it, UTF-8 included, and
// returns the same error a full validation by Frame would have. So Frame may
// return no error for such a frame whose data is malformed: a frame is
// accepted only once Frame and the typed method for its channel have both
// accepted it. Until then Data may hold malformed JSON, or more than the
// data member; gjson does not panic on such input, but what it reads from it
// is unspecified.
func (d *Decoder) Frame(raw []byte) (Frame, error) {
	if !d.noDefer {
		if f, ok := d.quickFrame(raw); ok {
			return f, nil
		}
	}
	return d.scanFrame(raw)
}

// scanFrame is Frame validating the whole frame.
func (d *Decoder) scanFrame(raw []byte) (Frame, error) {
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

// quickFrame decodes the envelope of a data or snapshot frame written
// exactly as the server writes it, leaving "data" unvalidated; ok is false
// for any other frame. The envelope is matched from both ends: the event and
// the opening of "data" from the front, and the id and channel, plain
// strings, from the back.
//
// What lies between is taken for the data object. That holds when it is one
// well-formed object, which the typed method checks as it reads. If it is
// not, either the frame is malformed or more members stand between "data"
// and "id"; the typed method then has the frame scanned in full and
// decodes it again. Those members cannot change the id or the channel,
// which come last and so win, but another "event" could change the kind the
// frame is routed by, so a frame that might hold one (any "event" key, or
// any escape) is scanned in full here.
func (d *Decoder) quickFrame(raw []byte) (f Frame, ok bool) {
	const (
		dataPrefix     = `{"event":"data","data":{`
		snapshotPrefix = `{"event":"snapshot","data":{`
	)
	s := bytesToString(raw)
	var start int // the data object's '{'
	switch {
	case strings.HasPrefix(s, dataPrefix):
		f.Kind, start = KindData, len(dataPrefix)-1
	case strings.HasPrefix(s, snapshotPrefix):
		f.Kind, start = KindSnapshot, len(snapshotPrefix)-1
	default:
		return f, false
	}
	if s[len(s)-1] != '}' {
		return f, false
	}
	end := len(s) - 1
	var id, channel string
	var haveID, haveChannel bool
	for range 2 {
		name, value, at := tailMember(s, end)
		switch {
		case at <= start:
			return f, false
		case name == "id" && !haveID:
			id, haveID = value, true
		case name == "channel" && !haveChannel:
			channel, haveChannel = value, true
		default:
			return f, false
		}
		end = at
	}
	ch, known := knownChannel(channel)
	data := s[start:end]
	if !known || data[len(data)-1] != '}' ||
		strings.IndexByte(data, '\\') >= 0 || strings.Contains(data, `vent"`) {
		return f, false
	}
	f.Event = kindNames[f.Kind]
	f.Channel = ch
	f.ID = d.intern(id)
	f.Data = gjson.Result{Type: gjson.JSON, Raw: data, Index: start}
	f.Raw = raw
	f.deferred = true
	return f, true
}

// tailMember matches a member `,"id":"value"` or `,"channel":"value"` that
// ends just before s[end], with a value of plain printable ASCII (no
// escapes, no quotes). It returns the index of the comma, or -1 when there
// is no such member.
func tailMember(s string, end int) (name, value string, at int) {
	i := end - 2
	if i < 0 || s[end-1] != '"' {
		return "", "", -1
	}
	for i >= 0 && plainASCII[s[i]] {
		i--
	}
	if i < 0 || s[i] != '"' {
		return "", "", -1
	}
	value = s[i+1 : end-1]
	switch head := s[:i]; {
	case strings.HasSuffix(head, `,"id":`):
		return "id", value, i - len(`,"id":`)
	case strings.HasSuffix(head, `,"channel":`):
		return "channel", value, i - len(`,"channel":`)
	}
	return "", "", -1
}

// plainASCII marks the printable ASCII bytes other than '"' and '\\'.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

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
