package messages

import (
	"errors"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// wantMalformed decodes raw through Decode and the Decoder path and expects
// an error wrapping ErrMalformed from both.
func wantMalformed(t *testing.T, raw string) error {
	t.Helper()
	m, err := Decode([]byte(raw))
	if err == nil {
		t.Errorf("Decode(%q) = %T %+v, want an error", raw, m, m)
		return nil
	}
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("Decode(%q): %v does not wrap ErrMalformed", raw, err)
	}
	if _, err2 := decodeWith(NewDecoder(), []byte(raw)); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("Decoder(%q) = %v, Decode = %v", raw, err2, err)
	}
	return err
}

func TestInvalidJSON(t *testing.T) {
	for _, raw := range []string{
		``, ` `, `{`, `}`, `{"event"`, `{"event":}`, `{"event":"data",}`, `{"event":"data" "x":1}`,
		`{'event':'data'}`, `{event:"data"}`, `{"event":"data"}x`, `{"event":"data"}{}`, `{"event":"data"},`,
		`{"event":"data","data":{"price":01}}`, `{"event":"data","data":{"price":1.}}`, `{"event":"data","data":{"price":.5}}`,
		`{"event":"data","data":{"price":-}}`, `{"event":"data","data":{"price":1e}}`, `{"event":"data","data":{"price":+1}}`,
		`{"event":"data","data":{"price":NaN}}`, `{"event":"data","data":{"price":Infinity}}`, `{"event":"data","data":{"price":0x10}}`,
		`{"event":"data","data":[1,]}`, `{"event":"data","data":[,1]}`, `{"event":"data","data":{,}}`, `{"event":"data","data":{"a"}}`,
		`{"event":"data","data":{"a":1,}}`, `{"event":"data","data":tru}`, `{"event":"data","data":nul}`, `{"event":"data","data":True}`,
		"{\"event\":\"da\x01ta\"}", "{\"event\":\"data\",\"data\":\"tab\there\"}", `{"event":"\x"}`, `{"event":"\u12"}`, `{"event":"\u12G4"}`,
		`{"event":"data"]`, `{"event":"data","data":[}`, `{"event":"data","data":{]}`, "\xef\xbb\xbf{\"event\":\"data\"}",
		`{"event":"data","data":{"symbol":"2330"}} trailing`, `{"event":"data","data":"unterminated}`,
		`{"event":"data","data":{...payload...},"id":"ID","channel":"trades"}`, // the envelope template of protocol.md §4
	} {
		err := wantMalformed(t, raw)
		var se *SyntaxError
		if err != nil && !errors.As(err, &se) {
			t.Errorf("%q: %v is not a *SyntaxError", raw, err)
		}
	}
}

func TestTruncated(t *testing.T) {
	var frames []string
	for _, name := range dataFiles {
		frames = append(frames, string(loadSample(t, name)))
	}
	for _, c := range goldenControl {
		frames = append(frames, c.raw)
	}
	for _, raw := range frames {
		raw = strings.TrimSpace(raw)
		for n := 0; n < len(raw); n++ {
			if _, err := Decode([]byte(raw[:n])); err == nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%q) = %v, want ErrMalformed", raw[:n], err)
			}
		}
	}
}

func TestNotAnObject(t *testing.T) {
	for _, raw := range []string{`[]`, `"event"`, `1`, `-2.5e3`, `null`, `true`, `false`, `[{"event":"data"}]`, ` [ ] `} {
		err := wantMalformed(t, raw)
		var se *SyntaxError
		if err != nil && (!errors.As(err, &se) || !strings.Contains(se.Msg, "not a JSON object")) {
			t.Errorf("%q: %v", raw, err)
		}
	}
}

func TestMissingOrBadEvent(t *testing.T) {
	for raw, got := range map[string]string{
		`{}`:                            "missing",
		`{"data":{"symbol":"2330"}}`:    "missing",
		`{"Event":"data"}`:              "missing",
		`{"event":1}`:                   "number",
		`{"event":null}`:                "null",
		`{"event":{"name":"data"}}`:     "object",
		`{"event":["data"]}`:            "array",
		`{"event":true}`:                "boolean",
		`{"event":"data","event":null}`: "null", // the last of duplicate members counts
	} {
		err := wantMalformed(t, raw)
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field != "event" || fe.Got != got) {
			t.Errorf("%s: %v, want event %s", raw, err, got)
		}
	}
}

func TestRoutingMembers(t *testing.T) {
	// A data frame is routed by channel and id, so they must be strings.
	for raw, field := range map[string]string{
		`{"event":"data","channel":1,"data":{"symbol":"2330"}}`:                  "channel",
		`{"event":"snapshot","channel":["trades"],"data":{"symbol":"2330"}}`:     "channel",
		`{"event":"data","channel":"trades","id":7,"data":{"symbol":"2330"}}`:    "id",
		`{"event":"data","channel":"trades","id":{},"data":{"symbol":"2330"}}`:   "id",
		`{"event":"data","channel":"trades","id":true,"data":{"symbol":"2330"}}`: "id",
	} {
		err := wantMalformed(t, raw)
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field != field) {
			t.Errorf("%s: %v, want field %s", raw, err, field)
		}
	}
	// Elsewhere they do not matter.
	for _, raw := range []string{
		`{"event":"heartbeat","channel":1,"id":[],"data":{"time":1}}`,
		`{"event":"error","id":5,"message":"x"}`,
		`{"event":"data","channel":"trades","id":null,"data":{"symbol":"2330"}}`,
	} {
		if _, err := Decode([]byte(raw)); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

func TestWrongTypes(t *testing.T) {
	for _, c := range []struct {
		channel, data, field, want, got string
	}{
		{"trades", `{"symbol":"2330","price":"abc"}`, "price", "number", "string"},
		{"trades", `{"symbol":"2330","price":{}}`, "price", "number", "object"},
		{"trades", `{"symbol":"2330","bid":[1]}`, "bid", "number", "array"},
		{"trades", `{"symbol":"2330","size":"1"}`, "size", "integer", "string"},
		{"trades", `{"symbol":"2330","volume":true}`, "volume", "integer", "boolean"},
		{"trades", `{"symbol":"2330","time":{}}`, "time", "epoch microseconds", "object"},
		{"trades", `{"symbol":"2330","time":"soon"}`, "time", "epoch microseconds", "non-numeric string"},
		{"trades", `{"symbol":"2330","serial":{}}`, "serial", "integer or numeric string", "object"},
		{"trades", `{"symbol":"2330","isClose":1}`, "isClose", "boolean", "number"},
		{"trades", `{"symbol":"2330","isTrial":"true"}`, "isTrial", "boolean", "string"},
		{"trades", `{"symbol":2330}`, "symbol", "string", "number"},
		{"trades", `{"symbol":"2330","type":[]}`, "type", "string", "array"},
		{"trades", `{"symbol":"2330","exchange":false}`, "exchange", "string", "boolean"},
		{"trades", `{"symbol":"2330","market":1}`, "market", "string", "number"},
		{"trades", `{"symbol":"2330","trades":5}`, "trades", "array", "number"},
		{"trades", `{"symbol":"2330","trades":{}}`, "trades", "array", "object"},
		{"trades", `{"symbol":"2330","trades":[5]}`, "trades[0]", "object", "number"},
		{"trades", `{"symbol":"2330","trades":[{},null]}`, "trades[1]", "object", "null"},
		{"trades", `{"symbol":"2330","trades":[{"price":1},{"price":"x"}]}`, "trades[1].price", "number", "string"},
		{"trades", `{"symbol":"2330","trades":[{"isReplaced":"y"}]}`, "trades[0].isReplaced", "boolean", "string"},
		{"trades", `{"symbol":"2330","trades":[{"serial":[]}]}`, "trades[0].serial", "integer or numeric string", "array"},
		{"trades", `{"symbol":"2330","total":[]}`, "total", "object", "array"},
		{"trades", `{"symbol":"2330","total":{"tradeVolume":"1"}}`, "total.tradeVolume", "integer", "string"},
		{"trades", `{"symbol":"2330","total":{"time":false}}`, "total.time", "epoch microseconds", "boolean"},
		{"books", `{"symbol":"2330","bids":5}`, "bids", "array", "number"},
		{"books", `{"symbol":"2330","asks":"none"}`, "asks", "array", "string"},
		{"books", `{"symbol":"2330","bids":[null]}`, "bids[0]", "object", "null"},
		{"books", `{"symbol":"2330","bids":[[567,87]]}`, "bids[0]", "object", "array"},
		{"books", `{"symbol":"2330","asks":[{"price":1,"size":2},{"size":true}]}`, "asks[1].size", "integer", "boolean"},
		{"books", `{"symbol":"2330","derivedBid":5}`, "derivedBid", "object", "number"},
		{"books", `{"symbol":"2330","derivedAsk":{"price":"x"}}`, "derivedAsk.price", "number", "string"},
		{"books", `{"symbol":"2330","isTrial":0}`, "isTrial", "boolean", "number"},
		{"aggregates", `{"symbol":"2330","lastTrade":[]}`, "lastTrade", "object", "array"},
		{"aggregates", `{"symbol":"2330","lastTrial":{"time":true}}`, "lastTrial.time", "epoch microseconds", "boolean"},
		{"aggregates", `{"symbol":"2330","tradingHalt":{"isHalted":"yes"}}`, "tradingHalt.isHalted", "boolean", "string"},
		{"aggregates", `{"symbol":"2330","tradingHalt":true}`, "tradingHalt", "object", "boolean"},
		{"aggregates", `{"symbol":"2330","priceLimits":5}`, "priceLimits", "object", "number"},
		{"aggregates", `{"symbol":"2330","changePercnet":"x"}`, "changePercnet", "number", "string"},
		{"aggregates", `{"symbol":"2330","name":1}`, "name", "string", "number"},
		{"aggregates", `{"symbol":"2330","openTime":[]}`, "openTime", "epoch microseconds", "array"},
		{"aggregates", `{"symbol":"2330","bids":[{"price":{}}]}`, "bids[0].price", "number", "object"},
		{"aggregates", `{"symbol":"2330","total":{"tradeValue":"31019803000"}}`, "total.tradeValue", "integer", "string"},
		{"candles", `{"symbol":"2330","open":"568"}`, "open", "number", "string"},
		{"candles", `{"symbol":"2330","date":5}`, "date", "string", "number"},
		{"candles", `{"symbol":"2330","timeframe":{}}`, "timeframe", "integer or numeric string", "object"},
		{"indices", `{"symbol":"IR0001","index":"35276.44"}`, "index", "number", "string"},
		{"indices", `{"symbol":"IR0001","time":[1]}`, "time", "epoch microseconds", "array"},
		{"trades", `[]`, "data", "object", "array"},
		{"books", `5`, "data", "object", "number"},
		{"candles", `null`, "data", "object", "null"},
		{"aggregates", `"x"`, "data", "object", "string"},
		{"indices", ``, "data", "object", "missing"},
		{"trades", `{"price":1}`, "symbol", "string", "missing"},
		{"books", `{"symbol":null}`, "symbol", "string", "missing"},
	} {
		raw := `{"event":"data","channel":"` + c.channel + `","data":` + c.data + `}`
		if c.data == "" {
			raw = `{"event":"data","channel":"` + c.channel + `"}`
		}
		err := wantMalformed(t, raw)
		want := FieldError{Event: "data", Channel: Channel(c.channel), Field: c.field, Want: c.want, Got: c.got}
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || *fe != want) {
			t.Errorf("%s:\n got %v\nwant %v", raw, err, &want)
		}
	}
}

func TestControlWrongTypes(t *testing.T) {
	for raw, field := range map[string]string{
		`{"event":"heartbeat","data":5}`:                           "data",
		`{"event":"heartbeat","data":{"time":true}}`:               "time",
		`{"event":"heartbeat","data":{"time":"noon"}}`:             "time",
		`{"event":"pong","data":[]}`:                               "data",
		`{"event":"pong","data":{"time":{}}}`:                      "time",
		`{"event":"authenticated","data":"ok"}`:                    "data",
		`{"event":"authenticated","data":{"message":5}}`:           "message",
		`{"event":"subscribed","data":5}`:                          "data",
		`{"event":"subscribed","data":"ok"}`:                       "data",
		`{"event":"subscribed","data":[5]}`:                        "data[0]",
		`{"event":"subscribed","data":[{"id":"a"},null]}`:          "data[1]",
		`{"event":"subscribed","data":{"id":5}}`:                   "id",
		`{"event":"unsubscribed","data":[{"id":"a","channel":1}]}`: "data[0].channel",
		`{"event":"subscribed","data":{"afterHours":"yes"}}`:       "afterHours",
		`{"event":"subscribed","data":{"intradayOddLot":1}}`:       "intradayOddLot",
		`{"event":"subscribed","data":{"symbol":["2330"]}}`:        "symbol",
	} {
		err := wantMalformed(t, raw)
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field != field) {
			t.Errorf("%s: %v, want field %s", raw, err, field)
		}
	}
}

func TestDeepNesting(t *testing.T) {
	const n = 100000
	deep := strings.Repeat("[", n) + strings.Repeat("]", n)
	deepObj := strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n)
	for _, raw := range []string{
		`{"event":"data","channel":"trades","data":` + deep + `}`,
		`{"event":"data","channel":"trades","data":{"symbol":"2330","extra":` + deep + `}}`,
		`{"event":"whatever","data":` + deepObj + `}`,
		`{"event":"pong","data":{"state":` + deep + `}}`,
		`{"event":"data","data":` + strings.Repeat("[", n), // truncated as well
	} {
		start := time.Now()
		err := wantMalformed(t, raw)
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("nested input took %v", el)
		}
		var se *SyntaxError
		if err != nil && (!errors.As(err, &se) || (se.Msg != "nesting too deep" && se.Msg != "unexpected end of input")) {
			t.Errorf("nested input: %v", err)
		}
	}
	// Nesting below the bound passes through.
	ok := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	for _, raw := range []string{
		`{"event":"whatever","data":` + ok + `}`,
		`{"event":"data","channel":"trades","data":{"symbol":"2330","extra":` + ok + `}}`,
		`{"event":"pong","data":{"state":` + ok + `}}`,
	} {
		if _, err := Decode([]byte(raw)); err != nil {
			t.Errorf("5000 levels: %v", err)
		}
	}
}

// TestInvalidUTF8 checks that a frame whose bytes are not UTF-8 is
// rejected wherever the bad bytes are, on both of Frame's paths, and that
// valid multi-byte text passes.
func TestInvalidUTF8(t *testing.T) {
	trade := string(loadSample(t, "stock_trades"))
	aggregate := string(loadSample(t, "stock_aggregates"))
	bad := []string{"\xff", "\xfe", "\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe5\x8f", "\x80"}
	var frames []string
	for _, b := range bad {
		frames = append(frames,
			strings.Replace(trade, `"2330"`, `"23`+b+`30"`, 1),                                    // a value the reader keeps
			strings.Replace(trade, `"2330"`, `"2330`+b+`"`, 1),                                    // at the end of a string
			strings.Replace(trade, `"isClose"`, `"is`+b+`Close"`, 1),                              // a member name
			strings.Replace(trade, `"<CHANNEL_ID>"`, `"<CHANNEL`+b+`ID>"`, 1),                     // the id
			strings.Replace(aggregate, "台積電", "台"+b+"電", 1),                                       // among valid multi-byte text
			strings.Replace(aggregate, `"isClose":true`, `"isClose":true,"x":[{"y":"`+b+`"}]`, 1), // a skipped value
			"{\"event\":\"data\",\"channel\":\"trades\",\"data\":{\"symbol\":\"2330\",\"type\":\""+b+"\"}}",
			"{\"event\":\""+b+"\",\"data\":{}}",
			"{\"event\":\"heartbeat\",\"data\":{\"time\":1,\"note\":\""+b+"\"}}",
			"{\"event\":\"data\",\"data\":{\"symbol\":\"2330\"}"+b+",\"id\":\"x\",\"channel\":\"trades\"}",
			"{\"event\":\"data\",\"data\":{\"symbol\":\"2330\",\"price\":1"+b+"},\"id\":\"x\",\"channel\":\"trades\"}",
		)
	}
	for _, raw := range frames {
		for _, noDefer := range []bool{false, true} {
			d := NewDecoder()
			d.noDefer = noDefer
			_, err := decodeWith(d, []byte(raw))
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrMalformed) {
				t.Errorf("%q (noDefer %v): %v, want a *SyntaxError", raw, noDefer, err)
			}
		}
		wantMalformed(t, raw)
	}
	// Valid multi-byte text passes, U+FFFD written out included, and so does
	// an escaped lone surrogate, which decodes to U+FFFD.
	for raw, symbol := range map[string]string{
		`{"event":"data","data":{"symbol":"台積電"},"id":"x","channel":"trades"}`:                                      "台積電",
		`{"event":"data","channel":"trades","data":{"symbol":"\ud800\udc00\ud800x"}}`:                               "\U00010000\uFFFDx",
		"{\"event\":\"data\",\"data\":{\"symbol\":\"\xef\xbf\xbd\U0010FFFF\"},\"id\":\"x\",\"channel\":\"trades\"}": "\uFFFD\U0010FFFF",
	} {
		if tr := mustDecode[*Trade](t, raw); tr.Symbol != symbol {
			t.Errorf("%s: symbol %q, want %q", raw, tr.Symbol, symbol)
		}
	}
}

// TestHandMadeFrames feeds the typed methods frames that did not come from
// Frame: their Data may be anything, and the methods must fail cleanly.
func TestHandMadeFrames(t *testing.T) {
	var inputs []string
	for _, name := range dataFiles {
		data := gjson.GetBytes(loadSample(t, name), "data").Raw
		for n := 0; n <= len(data); n++ {
			inputs = append(inputs, data[:n])
		}
	}
	rng := rand.New(rand.NewSource(1))
	const alphabet = `{}[]":,0123456789.-eE tfnalsrue\` + "\x00\xff"
	for i := 0; i < 2000; i++ {
		b := make([]byte, 1+rng.Intn(40))
		b[0] = '{'
		for j := 1; j < len(b); j++ {
			b[j] = alphabet[rng.Intn(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	d := NewDecoder()
	for _, in := range inputs {
		for _, data := range []gjson.Result{
			{Type: gjson.JSON, Raw: in},
			gjson.Parse(in),
		} {
			f := Frame{Kind: KindData, Event: "data", Channel: ChannelTrades, Data: data}
			var (
				tr Trade
				ca Candle
				bk Book
				ag Aggregate
				ix Index
				ef ErrorFrame
				hb Heartbeat
				po Pong
				au Authenticated
			)
			_ = d.Trade(&f, &tr)
			_ = d.Candle(&f, &ca)
			_ = d.Book(&f, &bk)
			_ = d.Aggregate(&f, &ag)
			_ = d.Index(&f, &ix)
			_ = d.Error(&f, &ef)
			_ = d.Heartbeat(&f, &hb)
			_ = d.Pong(&f, &po)
			_ = d.Authenticated(&f, &au)
			_, _ = d.Acks(&f, nil)
			f.Raw = []byte(in)
			_ = d.Error(&f, &ef)
		}
	}
}

// TestNumbers checks the number reader against strconv on many spellings.
func TestNumbers(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	cases := []string{"0", "-0", "1", "-1", "0.35", "568.77", "35276.44", "23176.58", "31019803000",
		"9007199254740993", "123456789012345678", "1234567890123456789", "99999999999999999999", "1e22", "1e23",
		"1.7976931348623157e308", "1e309", "-1e309", "5e-324", "1e-400", "0.1", "0.30000000000000004",
		"123456789012345.6", "1234567890123456.7", "0.000000000000000000001", "1E2", "1e+2", "1e-2", "1685338200000000"}
	for i := 0; i < 20000; i++ {
		intPart := strconv.FormatInt(rng.Int63n(1<<uint(rng.Intn(62)+1)), 10)
		s := intPart
		if rng.Intn(2) == 0 {
			frac := strconv.FormatInt(rng.Int63n(1<<uint(rng.Intn(60)+1)), 10)
			s += "." + frac
		}
		if rng.Intn(4) == 0 {
			s += "e" + strconv.Itoa(rng.Intn(40)-20)
		}
		if rng.Intn(3) == 0 {
			s = "-" + s
		}
		cases = append(cases, s)
	}
	for _, s := range cases {
		// A float that overflows and an integer outside int64 are errors of
		// their field; see TestOutOfRange.
		want, ferr := strconv.ParseFloat(s, 64)
		wantInt, ierr := strconv.ParseInt(s, 10, 64)
		intFits := ierr == nil
		if errors.Is(ierr, strconv.ErrSyntax) && ferr == nil { // a fraction or an exponent: truncated
			intFits = want >= -1<<63 && want < 1<<63
			wantInt = int64(want)
		}
		raw := `{"event":"data","channel":"indices","data":{"symbol":"X","index":` + s + `}}`
		m, err := Decode([]byte(raw))
		if ferr != nil {
			if err == nil {
				t.Errorf("%s: float %v, want an error", s, m.(*Index).Index)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", s, err)
		} else if x := m.(*Index); x.Index != want {
			t.Errorf("%s: float %v, want %v", s, x.Index, want)
		}
		raw = `{"event":"data","channel":"indices","data":{"symbol":"X","time":` + s + `}}`
		m, err = Decode([]byte(raw))
		if !intFits {
			if err == nil {
				t.Errorf("%s: integer %d, want an error", s, m.(*Index).Time)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", s, err)
		} else if x := m.(*Index); int64(x.Time) != wantInt {
			t.Errorf("%s: integer %d, want %d", s, x.Time, wantInt)
		}
	}
}

// TestOutOfRange checks that a number its field's Go type cannot hold is an
// error naming the field, of each kind of field, and that the next frame on
// the same Decoder decodes.
func TestOutOfRange(t *testing.T) {
	const (
		num = "number out of range"
		str = "numeric string out of range"
		big = "9223372036854775808" // 2^63
	)
	for _, c := range []struct {
		channel, data, field, want, got string
	}{
		{"trades", `{"symbol":"2330","price":1e309}`, "price", "number", num},
		{"trades", `{"symbol":"2330","bid":-1e309}`, "bid", "number", num},
		{"trades", `{"symbol":"2330","size":` + big + `}`, "size", "integer", num},
		{"trades", `{"symbol":"2330","volume":-9223372036854775809}`, "volume", "integer", num},
		{"trades", `{"symbol":"2330","volume":1e19}`, "volume", "integer", num},
		{"trades", `{"symbol":"2330","size":1e309}`, "size", "integer", num},
		{"trades", `{"symbol":"2330","serial":` + big + `}`, "serial", "integer or numeric string", num},
		{"trades", `{"symbol":"2330","serial":"` + big + `"}`, "serial", "integer or numeric string", str},
		{"trades", `{"symbol":"2330","serial":-1e309}`, "serial", "integer or numeric string", num},
		{"trades", `{"symbol":"2330","time":` + big + `}`, "time", "epoch microseconds", num},
		{"trades", `{"symbol":"2330","time":"` + big + `"}`, "time", "epoch microseconds", str},
		{"trades", `{"symbol":"2330","time":1e309}`, "time", "epoch microseconds", num},
		{"trades", `{"symbol":"2330","trades":[{"price":1},{"price":1e309}]}`, "trades[1].price", "number", num},
		{"trades", `{"symbol":"2330","trades":[{"serial":"` + big + `"}]}`, "trades[0].serial", "integer or numeric string", str},
		{"trades", `{"symbol":"2330","trades":[{"size":` + big + `}]}`, "trades[0].size", "integer", num},
		{"trades", `{"symbol":"2330","total":{"tradeValue":` + big + `}}`, "total.tradeValue", "integer", num},
		{"trades", `{"symbol":"2330","total":{"time":"` + big + `"}}`, "total.time", "epoch microseconds", str},
		{"books", `{"symbol":"2330","bids":[{"price":1e309,"size":1}]}`, "bids[0].price", "number", num},
		{"books", `{"symbol":"2330","asks":[{"price":1,"size":` + big + `}]}`, "asks[0].size", "integer", num},
		{"books", `{"symbol":"2330","derivedBid":{"price":-1e309}}`, "derivedBid.price", "number", num},
		{"books", `{"symbol":"2330","serial":"` + big + `"}`, "serial", "integer or numeric string", str},
		{"aggregates", `{"symbol":"2330","changePercnet":1e309}`, "changePercnet", "number", num},
		{"aggregates", `{"symbol":"2330","lastSize":` + big + `}`, "lastSize", "integer", num},
		{"aggregates", `{"symbol":"2330","openTime":-1e309}`, "openTime", "epoch microseconds", num},
		{"aggregates", `{"symbol":"2330","lastTrade":{"serial":` + big + `}}`, "lastTrade.serial", "integer or numeric string", num},
		{"aggregates", `{"symbol":"2330","lastTrial":{"serial":"` + big + `"}}`, "lastTrial.serial", "integer or numeric string", str},
		{"aggregates", `{"symbol":"2330","tradingHalt":{"time":` + big + `}}`, "tradingHalt.time", "epoch microseconds", num},
		{"aggregates", `{"symbol":"2330","total":{"transaction":1e309}}`, "total.transaction", "integer", num},
		{"candles", `{"symbol":"2330","high":1e309}`, "high", "number", num},
		{"candles", `{"symbol":"2330","volume":` + big + `}`, "volume", "integer", num},
		{"candles", `{"symbol":"2330","timeframe":` + big + `}`, "timeframe", "integer or numeric string", num},
		{"candles", `{"symbol":"2330","timeframe":"` + big + `"}`, "timeframe", "integer or numeric string", str},
		{"indices", `{"symbol":"IR0001","index":-1e309}`, "index", "number", num},
		{"indices", `{"symbol":"IR0001","time":"-9223372036854775809"}`, "time", "epoch microseconds", str},
	} {
		raw := `{"event":"data","channel":"` + c.channel + `","data":` + c.data + `}`
		err := wantMalformed(t, raw)
		want := FieldError{Event: "data", Channel: Channel(c.channel), Field: c.field, Want: c.want, Got: c.got}
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || *fe != want) {
			t.Errorf("%s:\n got %v\nwant %v", raw, err, &want)
		}
		// The same in the server's layout, which takes the single pass.
		raw = `{"event":"data","data":` + c.data + `,"id":"x","channel":"` + c.channel + `"}`
		d := NewDecoder()
		if _, err := decodeWith(d, []byte(raw)); !errors.As(err, &fe) || *fe != want {
			t.Errorf("%s:\n got %v\nwant %v", raw, err, &want)
		}
		next := `{"event":"data","data":{"symbol":"2330"},"id":"x","channel":"` + c.channel + `"}`
		if _, err := decodeWith(d, []byte(next)); err != nil {
			t.Errorf("after %s: %v", raw, err)
		}
	}
}

// TestOutOfRangeElsewhere covers the control frames, the largest values
// that still fit, and the members that are lenient about types.
func TestOutOfRangeElsewhere(t *testing.T) {
	const big = "9223372036854775808" // 2^63
	for raw, field := range map[string]string{
		`{"event":"heartbeat","data":{"time":` + big + `}}`:   "time",
		`{"event":"heartbeat","data":{"time":"` + big + `"}}`: "time",
		`{"event":"pong","data":{"time":1e309}}`:              "time",
	} {
		err := wantMalformed(t, raw)
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field != field || !strings.Contains(fe.Got, "out of range")) {
			t.Errorf("%s: %v, want field %s out of range", raw, err, field)
		}
	}
	// The largest values that fit still decode.
	for raw, check := range map[string]func(Message) bool{
		`{"event":"data","channel":"trades","data":{"symbol":"2330","price":1.7976931348623157e308,"size":9223372036854775807,"serial":"-9223372036854775808","time":-9223372036854775808}}`: func(m Message) bool {
			tr := m.(*Trade)
			return tr.Price == 1.7976931348623157e308 && tr.Size == 1<<63-1 && tr.Serial == -1<<63 && tr.Time == -1<<63
		},
		`{"event":"data","channel":"indices","data":{"symbol":"X","index":1e-400,"time":-9.223372036854775808e18}}`: func(m Message) bool {
			x := m.(*Index)
			return x.Index == 0 && x.Time == -1<<63
		},
	} {
		if m := decodeBoth(t, []byte(raw)); !check(m) {
			t.Errorf("%s: decoded %+v", raw, m)
		}
	}
	// Where a mistyped value is skipped, so is one out of range.
	m := decodeBoth(t, []byte(`{"event":"data","channel":"aggregates","data":{"symbol":"2330","priceLimits":{"price":1e309,"bid":5.5}}}`)).(*Aggregate)
	if m.PriceLimits.Has("price") || !m.PriceLimits.Has("bid") || m.PriceLimits.Bid != 5.5 {
		t.Errorf("priceLimits = %+v", m.PriceLimits)
	}
	c := decodeBoth(t, []byte(`{"event":"snapshot","channel":"candles","data":{"symbol":"2330","data":[{"open":1e309,"volume":`+big+`,"close":5}]}}`)).(*Candle)
	if len(c.Bars) != 1 || c.Bars[0].Open != 0 || c.Bars[0].Volume != 0 || c.Bars[0].Close != 5 {
		t.Errorf("bars = %+v", c.Bars)
	}
}
