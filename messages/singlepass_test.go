package messages

import (
	"bytes"
	"errors"
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Frame leaves the data of a well-laid-out data frame to the typed method
// (the single pass); these tests hold that path to the full scan's verdicts
// and values.

// checkSinglePass decodes raw the client's way twice: once with Frame
// validating every frame in full, once letting it defer the data. Both must
// accept or reject alike, with the same error, and decode equal values,
// presence bits included.
func checkSinglePass(t *testing.T, raw []byte) {
	t.Helper()
	full := NewDecoder()
	full.noDefer = true
	want, werr := decodeWith(full, raw)
	fast := NewDecoder()
	for round := 0; round < 2; round++ { // the second round reuses the scratch space
		got, gerr := decodeWith(fast, raw)
		switch {
		case (werr == nil) != (gerr == nil):
			t.Fatalf("%q: full scan error %v, single pass error %v", raw, werr, gerr)
		case werr != nil:
			if werr.Error() != gerr.Error() {
				t.Fatalf("%q: full scan error %v, single pass error %v", raw, werr, gerr)
			}
			if !errors.Is(gerr, ErrMalformed) {
				t.Fatalf("%q: %v does not wrap ErrMalformed", raw, gerr)
			}
		default:
			if d := diff(want, got); d != "" {
				t.Fatalf("%q: full scan and single pass disagree:\n%s", raw, d)
			}
		}
	}
	if werr == nil && !utf8.Valid(raw) {
		t.Fatalf("%q: invalid UTF-8 accepted", raw)
	}
	// The Data of a frame whose data was deferred may be malformed; reading
	// it must not panic.
	if f, err := fast.Frame(raw); err == nil && f.deferred {
		_ = f.Data.Get("symbol").String()
		_ = f.Data.Get("bids.#.price").Array()
		f.Data.ForEach(func(_, v gjson.Result) bool { _ = v.Raw; return true })
	}
}

// singlePassSeeds are the protocol samples and mutations of them aimed at
// the seams of the single pass: the envelope match, the data object's end,
// and the strictness of the reader.
func singlePassSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	add := func(s string) { seeds = append(seeds, []byte(s)) }
	for _, name := range dataFiles {
		raw := string(loadSample(tb, name))
		snap := strings.Replace(raw, `"event":"data"`, `"event":"snapshot"`, 1)
		swapped := strings.Replace(raw, `"id":"<CHANNEL_ID>","channel":`, `"channel":`, 1)
		swapped = strings.TrimSuffix(swapped, "}") + `,"id":"<CHANNEL_ID>"}`
		for _, s := range []string{raw, snap, swapped} {
			add(s)
			for _, n := range []int{1, 2, 3, 10, 20, 21, 22, 23, 24, len(s) / 2, len(s) - 40, len(s) - 25, len(s) - 2, len(s) - 1} {
				if n > 0 && n < len(s) {
					add(s[:n])
				}
			}
			for _, tail := range []string{" ", "\n", "x", "}", ",", "\xff", "{}"} {
				add(s + tail)
			}
		}
		data := raw[strings.Index(raw, `"data":`)+len(`"data":`) : strings.LastIndex(raw, `,"id"`)]
		dataEnd := len(raw) - len(raw[strings.LastIndex(raw, `,"id"`):])
		for _, r := range [][2]string{
			{`"id":"<CHANNEL_ID>"`, `"id":"a\"b"`},                                    // escapes in the id
			{`"id":"<CHANNEL_ID>"`, `"id":"\u0041"`},                                  //
			{`"id":"<CHANNEL_ID>"`, `"id":""`},                                        // an empty id
			{`"id":"<CHANNEL_ID>"`, `"id":7`},                                         // an id of the wrong type
			{`"id":"<CHANNEL_ID>"`, "\"id\":\"\xff\""},                                // invalid UTF-8 in the id
			{`"id":"<CHANNEL_ID>"`, "\"id\":\"a\tb\""},                                // a control character in the id
			{`"id":"<CHANNEL_ID>"`, `"id" : "x"`},                                     // spacing
			{`"id":"<CHANNEL_ID>"`, `"id":"x","id":"y"`},                              // a repeated member
			{`"id":"<CHANNEL_ID>"`, `"channel":"x"`},                                  // two channels, no id
			{`"id":"<CHANNEL_ID>"`, `"x":"y"`},                                        // an unknown member
			{`"channel":"`, `"channel":"x`},                                           // an unknown channel
			{`"channel":"`, "\"channel\":\"\xc3\xa9"},                                 // a non-ASCII channel
			{`"event":"data"`, `"event":"heartbeat"`},                                 // another event
			{`"event":"data"`, `"event" :"data"`},                                     //
			{`"symbol"`, `"sym\u0062ol"`},                                             // an escaped key
			{`"symbol":"`, `"symbol":"\"`},                                            // an escaped quote
			{`"symbol":"`, `"symbol":"` + "\x01"},                                     // a control character
			{`"symbol":"`, `"symbol":"` + "\xe5\x8f"},                                 // a truncated UTF-8 sequence
			{`"symbol":"`, `"symbol":"` + "\xed\xa0\x80"},                             // a surrogate
			{`"symbol":"`, `"symbol":"` + "\xc0\xaf"},                                 // an overlong sequence
			{`"symbol":"`, `"symbol":"` + "\xf4\x90\x80\x80"},                         // beyond U+10FFFF
			{`"symbol":"`, `"symbol":"` + "台積電"},                                      // valid multi-byte text
			{`,"type"`, `"type"`},                                                     // a missing comma
			{`"type":`, `"type"`},                                                     // a missing colon
			{`"type":`, `"type"::`},                                                   //
			{`"exchange":`, `"exchange":,`},                                           //
			{`:{"price":`, `:{"price":01,"x":`},                                       // invalid numbers
			{`"price":`, `"price":-`},                                                 //
			{`"price":`, `"price":1.`},                                                //
			{`"price":`, `"price":1e`},                                                //
			{`"price":`, `"price":.5,"x":`},                                           //
			{`"price":`, `"price":1.5e+3,"x":`},                                       //
			{`"price":`, `"price":-0,"x":`},                                           //
			{`"size":`, `"size":0`},                                                   //
			{`"size":`, `"size":1e2,"x":`},                                            //
			{`"time":`, `"time":"1",x:`},                                              //
			{`{"price":`, `{"price":1,"size":2,},{"price":`},                          // a trailing comma
			{`[{"price":`, `[,{"price":`},                                             //
			{`}]`, `},]`},                                                             //
			{`}]`, `}}`},                                                              // a mismatched close
			{`"symbol":`, `"x":[1,{"a":[true,false,null,"s",-1.5e-3]},{}],"symbol":`}, // skipped values
			{`"symbol":`, `"x":[1,{"a":[tru]}],"symbol":`},                            // an invalid skipped value
			{`"symbol":`, `"x":[1 2],"symbol":`},                                      //
			{`"symbol":`, `"x":{"a" 1},"symbol":`},                                    //
			{`"symbol":`, `"symbol":null,"symbol":`},                                  // null, then a repeat
			{`"symbol":`, `"total":null,"symbol":`},                                   //
			{`"symbol":`, `"symbol":5,"x":[1,}],"symbol":`},                           // a type error before a syntax error
			{`"symbol":`, `"price":"x","symbol":`},                                    // a type error alone
		} {
			if strings.Contains(raw, r[0]) {
				add(strings.Replace(raw, r[0], r[1], 1))
			}
		}
		for _, extra := range []string{
			`,"x":{}`, `,"x":[1,2]`, `,"x":{"a":1}`,
			`,"data":{"symbol":"B"}`,      // a later data member wins
			`,"data":5,"y":{}`,            //
			`,"event":"heartbeat","x":{}`, // a later event changes the kind
			`,"event":"snapshot","x":{}`,  //
			`,"\u0065vent":"pong","x":{}`, //
			`,"even\u0074":"pong","x":{}`, //
			`,"\u0065\u0076\u0065\u006e\u0074":"pong","x":{}`,
			`,"even\u0074":"pong","x":[]`,
			`,"event":5,"x":{}`,                 //
			`,"channel":"books","x":{}`,         // an earlier channel loses
			`,"x":{}}`, `,"x":{`, `}`, ` `, `,`, // malformed
		} {
			add(raw[:dataEnd] + extra + raw[dataEnd:])
		}
		add(`{"event":"data","data":` + data + `}`)
		add(`{"event":"data","data":{},"id":"x","channel":"trades"}`)
		add(`{"event":"data","data":{"symbol":"2330"},"id":"x","channel":"trades"}`)
		add(`{"event":"data","data":{"symbol":"2330"}},"id":"x","channel":"trades"}`)
		add(`{"event":"data","data":{"symbol":"2330"},"id":"x","channel":"news"}`)
		add(`{"event":"data","data":{"symbol":"2330","event":"x"},"id":"x","channel":"trades"}`)
		add(`{"event":"data","data":{"symbol":"a\\b"},"id":"x","channel":"trades"}`)
		add(`{"event":"snapshot","data":{"symbol":"2330","data":[{"date":"d","open":1},5,"x",null]},"id":"c","channel":"candles"}`)
		add(`{"event":"data","data":{"symbol":"2330","priceLimits":{"price":{"up":1},"bid":5.5,"ask":"x"}},"id":"c","channel":"aggregates"}`)
	}
	return seeds
}

// TestSinglePassTaken checks that the server's frames do take the single
// pass, in either order of id and channel, and that their decoding is
// unchanged by it.
func TestSinglePassTaken(t *testing.T) {
	for _, name := range dataFiles {
		raw := string(loadSample(t, name))
		swapped := strings.Replace(raw, `"id":"<CHANNEL_ID>","channel":`, `"channel":`, 1)
		swapped = strings.TrimSuffix(swapped, "}") + `,"id":"<CHANNEL_ID>"}`
		for _, s := range []string{raw, strings.Replace(raw, `"event":"data"`, `"event":"snapshot"`, 1), swapped} {
			f, err := NewDecoder().Frame([]byte(s))
			if err != nil || !f.deferred {
				t.Errorf("%s: deferred %v, err %v", s, f.deferred, err)
			}
			checkSinglePass(t, []byte(s))
		}
	}
}

// TestSinglePass runs the seeds, random mutations of them, and the nesting
// bound, through checkSinglePass.
func TestSinglePass(t *testing.T) {
	seeds := singlePassSeeds(t)
	for _, s := range seeds {
		checkSinglePass(t, s)
	}
	rng := rand.New(rand.NewSource(3))
	const alphabet = `{}[]":,0123456789.-eE tfnalsrue\` + "\x00\xff\xc3\xa9"
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := 0; i < n; i++ {
		b := bytes.Clone(seeds[rng.Intn(len(seeds))])
		for k := 1 + rng.Intn(3); k > 0 && len(b) > 0; k-- {
			j := rng.Intn(len(b))
			switch rng.Intn(3) {
			case 0:
				b[j] = alphabet[rng.Intn(len(alphabet))]
			case 1:
				b = append(b[:j], b[j+1:]...)
			default:
				b = append(b[:j], append([]byte{alphabet[rng.Intn(len(alphabet))]}, b[j:]...)...)
			}
		}
		checkSinglePass(t, b)
	}
	// The nesting bound is the same on both paths: the data object and a
	// member nested maxDepth-1 deep reach it, one more level passes it.
	for _, depth := range []int{maxDepth - 2, maxDepth - 1, maxDepth} {
		nested := strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
		for _, key := range []string{"extra", "bids"} {
			raw := `{"event":"data","data":{"symbol":"2330","` + key + `":` + nested + `},"id":"x","channel":"books"}`
			checkSinglePass(t, []byte(raw))
		}
		raw := `{"event":"data","data":{"symbol":"2330","total":{"x":` + nested + `}},"id":"x","channel":"trades"}`
		checkSinglePass(t, []byte(raw))
	}
}

// FuzzSinglePass checks on arbitrary bytes that the single pass and the
// full scan agree, as checkSinglePass does.
func FuzzSinglePass(f *testing.F) {
	for _, s := range singlePassSeeds(f) {
		f.Add(s)
	}
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkSinglePass(t, raw)
	})
}

// TestDeferredControl checks that the control methods, which are not meant
// for data frames, still validate a data frame whose data Frame deferred.
func TestDeferredControl(t *testing.T) {
	for _, raw := range []string{
		`{"event":"data","data":{"a":tru},"id":"x","channel":"trades"}`,
		"{\"event\":\"data\",\"data\":{\"a\":\"\xff\"},\"id\":\"x\",\"channel\":\"trades\"}",
		`{"event":"data","data":{"time":1,"message":"m"},"id":"x","channel":"trades"}`,
	} {
		f, err := NewDecoder().Frame([]byte(raw))
		if err != nil || !f.deferred {
			t.Fatalf("%s: deferred %v, err %v", raw, f.deferred, err)
		}
		full := NewDecoder()
		full.noDefer = true
		g, wantErr := full.Frame([]byte(raw))
		d := NewDecoder()
		var (
			ef, ef2 ErrorFrame
			hb, hb2 Heartbeat
			po, po2 Pong
			au, au2 Authenticated
		)
		for _, c := range []struct {
			name      string
			got, want func(*Frame) error
			a, b      any
		}{
			{"Error", func(f *Frame) error { return d.Error(f, &ef) }, func(f *Frame) error { return d.Error(f, &ef2) }, &ef, &ef2},
			{"Heartbeat", func(f *Frame) error { return d.Heartbeat(f, &hb) }, func(f *Frame) error { return d.Heartbeat(f, &hb2) }, &hb, &hb2},
			{"Pong", func(f *Frame) error { return d.Pong(f, &po) }, func(f *Frame) error { return d.Pong(f, &po2) }, &po, &po2},
			{"Authenticated", func(f *Frame) error { return d.Authenticated(f, &au) }, func(f *Frame) error { return d.Authenticated(f, &au2) }, &au, &au2},
			{"Acks", func(f *Frame) error { _, err := d.Acks(f, nil); return err }, func(f *Frame) error { _, err := d.Acks(f, nil); return err }, nil, nil},
		} {
			err := c.got(&f)
			if wantErr != nil {
				var se *SyntaxError
				if !errors.As(err, &se) || err.Error() != wantErr.Error() {
					t.Errorf("%s on %q: %v, want %v", c.name, raw, err, wantErr)
				}
				continue
			}
			err2 := c.want(&g)
			if (err == nil) != (err2 == nil) || diff(c.a, c.b) != "" {
				t.Errorf("%s on %q: %v %+v, full scan %v %+v", c.name, raw, err, c.a, err2, c.b)
			}
		}
	}
}
