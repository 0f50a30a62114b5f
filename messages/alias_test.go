package messages

import (
	"testing"
)

// aliasFrames are frames whose every string and byte slice the decoder must
// copy out: the golden samples, and variants that exercise the other paths
// (escaped strings, raw payloads, bars, pong states, acks, errors).
func aliasFrames(t *testing.T) []string {
	frames := []string{
		`{"event":"data","channel":"trades","id":"\u0069d-1","data":{"symbol":"\u0032330","type":"EQ\"UITY","exchange":"TWSE"}}`,
		`{"event":"snapshot","channel":"candles","id":"c","data":{"symbol":"2330","date":"2023-05-29","data":[{"date":"2023-05-29T09:00:00.000+08:00","open":1}]}}`,
		`{"event":"data","channel":"aggregates","id":"a","data":{"symbol":"TXFG4","name":"臺股期貨074","priceLimits":{"price":1,"curb":{"x":"y"}}}}`,
		`{"event":"pong","data":{"time":1,"state":{"nested":["state",1]}}}`,
		`{"event":"subscribed","data":[{"id":"s1","channel":"books","symbol":"MXFA6/C6","afterHours":true},{"id":"s2","channel":"odd","symbol":"2330"}]}`,
		`{"event":"error","code":1003,"data":{"message":"Invalid symbol: 2330X"}}`,
		`{"event":"error","data":"plain text"}`,
		`{"event":"authenticated","data":{"message":"Authenticated successfully"}}`,
		`{"event":"news","data":{"headline":"unknown events are copied"}}`,
		`{"event":"data","channel":"weather","id":"w","data":{}}`,
	}
	for _, name := range dataFiles {
		frames = append(frames, string(loadSample(t, name)))
	}
	for _, c := range goldenControl {
		frames = append(frames, c.raw)
	}
	return frames
}

// TestNoAliasing decodes each frame from a buffer the way the client reads,
// then overwrites the buffer, as the client's next read would, and checks
// that the decoded value did not change and holds no pointer into it.
func TestNoAliasing(t *testing.T) {
	d := NewDecoder()
	for _, raw := range aliasFrames(t) {
		want, err := Decode([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		// Twice: the second time the strings come from the intern table.
		for round := 0; round < 2; round++ {
			buf := []byte(raw)
			got, err := decodeWith(d, buf)
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			assertNoAlias(t, got, buf)
			for i := range buf {
				buf[i] = 'X'
			}
			if diff := diff(want, got); diff != "" {
				t.Errorf("%s: overwriting the buffer changed the value:\n%s", raw, diff)
			}
		}
		buf := []byte(raw)
		got, _ := Decode(buf)
		assertNoAlias(t, got, buf)
	}
}

// TestNoAliasingErrors checks that errors do not keep the buffer either.
func TestNoAliasingErrors(t *testing.T) {
	for _, raw := range []string{
		`{"event":"data","channel":"books","id":"i","data":{"symbol":"2330","bids":[{"price":"x"}]}}`,
		`{"event":"data","channel":"trades","data":{"symbol":"2330","trades":[{},{"serial":{}}]}}`,
		`{"event":"subscribed","data":[{"id":5}]}`,
		`{"event":"custom-event","channel":"x","data":{"symbol":5}}`,
		`{"event":"data","channel":"custom","id":[1],"data":{}}`,
	} {
		buf := []byte(raw)
		_, err := decodeWith(NewDecoder(), buf)
		if err != nil {
			assertNoAlias(t, err, buf)
		}
	}
}
