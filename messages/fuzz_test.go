package messages

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// fuzzSeeds are the protocol samples and the variants of the other tests.
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, name := range dataFiles {
		raw := loadSample(f, name)
		seeds = append(seeds, raw, bytes.Replace(raw, []byte(`"event":"data"`), []byte(`"event":"snapshot"`), 1))
	}
	for _, c := range goldenControl {
		seeds = append(seeds, []byte(c.raw))
	}
	for _, raw := range []string{
		`{"event":"error","code":1001,"data":{"message":"Maximum number of connections reached"}}`,
		`{"event":"error","data":{"code":1003,"message":"Invalid channel"}}`,
		`{"event":"error","code":"1004","message":"Authentication timeout"}`,
		`{"event":"heartbeat","data":{"time":"1685338200000000"}}`,
		`{"event":"pong"}`,
		`{"event":"pong","data":{"state":{"seq":7,"tags":["a","b"]}}}`,
		`{"event":"subscribed","data":[{"id":"b1","channel":"aggregates","symbol":"TXFG4","afterHours":true},{"id":"b2","channel":"candles","symbol":"MXFA6/C6","intradayOddLot":true}]}`,
		`{"event":"unsubscribed","data":{"id":"a1","channel":"trades","symbol":"2330"}}`,
		`{"event":"data","channel":"trades","data":{"symbol":"2330","serial":"abc","price":null,"isClose":false}}`,
		`{"event":"snapshot","data":{"symbol":"2330","date":"2023-05-29","timeframe":"1","data":[{"date":"2023-05-29T09:00:00.000+08:00","open":574,"high":574,"low":572,"close":573,"volume":5678,"average":573.45}]},"id":"c","channel":"candles"}`,
		`{"event":"data","data":{"symbol":"TXFG4","isTrial":true,"bids":[{"price":23187,"size":13}],"asks":[],"derivedBid":{"price":23180,"size":3},"derivedAsk":{"size":4,"price":23195.5},"serial":"99"},"id":"b","channel":"books"}`,
		`{"event":"data","data":{"symbol":"TXFG4","trades":[{"price":23379,"size":1,"serial":"100"},{"price":23380,"size":2,"serial":101,"isReplaced":true}],"total":{"tradeValue":290653600000,"time":"1718880340342000"}},"channel":"trades"}`,
		`{"event":"data","channel":"aggregates","data":{"symbol":"2330","changePercnet":-1.25,"tradingHalt":{"isHalted":true},"priceLimits":{"price":{"up":1},"bid":5.5}}}`,
		`{"event":"maintenance","data":{"at":"tonight"}}`,
		`{"event":"data","channel":"news","data":{"symbol":"2330"}}`,
		"{\"event\":\"data\",\"channel\":\"trades\",\"data\":{\"symbol\":\"\xff\xfe23\",\"\\u0070rice\":1e3}}",
		`{"event":"data","channel":"trades","data":{"symbol":"2330","price":"abc"}}`,
		`{"event":"data","channel":"books","data":{"symbol":"2330","bids":[null]}}`,
		`[[[[[[[[[[]]]]]]]]]]`, `{"event":5}`, `{}`, `{"event":"data"`, ``,
		`null`, ` null `, `true`, `0`, `"event"`, `[]`,
	} {
		seeds = append(seeds, []byte(raw))
	}
	return seeds
}

// FuzzDecode checks, on arbitrary bytes, that decoding never panics, that
// it accepts exactly the JSON that encoding/json accepts, that Decode and a
// long-lived Decoder agree, and that nothing decoded aliases the input.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Decode(raw)
		checkValidity(t, raw, err)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if _, err2 := decodeWith(NewDecoder(), raw); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("Decoder error %v, Decode error %v", err2, err)
			}
			return
		}
		d := NewDecoder()
		for round := 0; round < 2; round++ { // the second round reads interned strings
			buf := append([]byte(nil), raw...)
			got, err := decodeWith(d, buf)
			if err != nil {
				t.Fatalf("Decoder failed where Decode did not: %v", err)
			}
			assertNoAlias(t, got, buf)
			for i := range buf {
				buf[i] = 0xAA
			}
			if diff := diff(m, got); diff != "" {
				t.Fatalf("Decode and Decoder disagree (round %d):\n%s", round, diff)
			}
		}
		f, err := d.Frame(raw)
		if err != nil {
			t.Fatal(err)
		}
		wantKind := f.Kind
		if _, ok := m.(*Unknown); ok && f.Kind != KindSubscriptions {
			wantKind = KindUnknown
		}
		if m.Kind() != wantKind {
			t.Fatalf("Kind() = %v, frame kind %v", m.Kind(), f.Kind)
		}
		// Data is checked on a fully validated frame: a deferred one may hold
		// more than the data member until a typed method has read it.
		full := NewDecoder()
		full.noDefer = true
		if f, err = full.Frame(raw); err != nil {
			t.Fatal(err)
		}
		if f.Data.Exists() && f.Data.Raw != gjson.GetBytes(raw, "data").Raw && !hasDuplicateKeys(raw) {
			t.Fatalf("Data.Raw = %q, gjson finds %q", f.Data.Raw, gjson.GetBytes(raw, "data").Raw)
		}
	})
}

// checkValidity compares the decoder's verdict on the JSON syntax with
// encoding/json's.
func checkValidity(t *testing.T, raw []byte, err error) {
	t.Helper()
	if bytes.Count(raw, []byte("["))+bytes.Count(raw, []byte("{")) > maxDepth-10 {
		return // the two count nesting from different levels
	}
	var se *SyntaxError
	isSyntax := errors.As(err, &se)
	if !utf8.Valid(raw) { // encoding/json lets invalid UTF-8 through; the decoder must not
		if !isSyntax {
			t.Fatalf("invalid UTF-8 accepted: err = %v", err)
		}
		return
	}
	valid := json.Valid(raw)
	// encoding/json unmarshals null into a map without error, leaving it
	// nil: only a non-nil map means the input was an object.
	var obj map[string]json.RawMessage
	isObject := valid && json.Unmarshal(raw, &obj) == nil && obj != nil
	switch {
	case !valid && !isSyntax:
		t.Fatalf("invalid JSON accepted: err = %v", err)
	case isObject && isSyntax:
		t.Fatalf("valid JSON object refused: %v", err)
	case valid && !isObject && !isSyntax:
		t.Fatalf("JSON that is not an object accepted: err = %v", err)
	}
}

// hasDuplicateKeys reports a top-level object with a repeated member, where
// gjson takes the first and the decoder, like encoding/json, the last.
func hasDuplicateKeys(raw []byte) bool {
	seen := map[string]bool{}
	dup := false
	gjson.ParseBytes(raw).ForEach(func(k, _ gjson.Result) bool {
		if seen[k.Str] {
			dup = true
		}
		seen[k.Str] = true
		return true
	})
	return dup
}

// FuzzPayload feeds arbitrary bytes to the typed methods as the data of a
// hand-made Frame, which skips Frame's validation: they must fail cleanly.
func FuzzPayload(f *testing.F) {
	for _, name := range dataFiles {
		f.Add([]byte(gjson.GetBytes(loadSample(f, name), "data").Raw))
	}
	f.Add([]byte(`{"symbol":"2330","bids":[{"price":1,"size":2}`))
	f.Add([]byte(`{"symbol":"\`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder()
		f := Frame{Kind: KindData, Event: "data", Data: gjson.Result{Type: gjson.JSON, Raw: string(data)}, Raw: data}
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
		for _, err := range []error{d.Trade(&f, &tr), d.Candle(&f, &ca), d.Book(&f, &bk), d.Aggregate(&f, &ag),
			d.Index(&f, &ix), d.Error(&f, &ef), d.Heartbeat(&f, &hb), d.Pong(&f, &po), d.Authenticated(&f, &au)} {
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		}
		if _, err := d.Acks(&f, nil); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
	})
}
