package marketdata

import (
	"bytes"
	"testing"

	"github.com/go-fugle/marketdata/messages"
	"github.com/gorilla/websocket"
)

// FuzzFrameSequence feeds a sequence of inbound frames (separated by
// newlines) through the client's own frame handling: vetting, decoding,
// routing to the typed channels, control frames and Events. Whatever the
// bytes, it must not panic or block, and every frame must be accounted for.
func FuzzFrameSequence(f *testing.F) {
	seeds := []string{
		`{"event":"authenticated","data":{"message":"Authenticated successfully"}}`,
		`{"event":"error","data":{"message":"Invalid authentication credentials"}}`,
		`{"event":"error","code":1003,"data":{"message":"bad"}}`,
		`{"event":"error","message":"top"}`,
		`{"event":"heartbeat","data":{"time":1685338200000000}}`,
		`{"event":"heartbeat","data":{"time":"1685338200000000"}}`,
		`{"event":"pong","data":{"time":1,"state":{"a":[1,2]}}}`,
		`{"event":"pong"}`,
		`{"event":"subscribed","data":{"id":"a","channel":"trades","symbol":"2330"}}`,
		`{"event":"subscribed","data":[{"id":"a","channel":"books","symbol":"2330"},{"id":"b","channel":"books","symbol":"2317","intradayOddLot":true}]}`,
		`{"event":"unsubscribed","data":{"id":"a"}}`,
		`{"event":"data","data":` + sampleStockTrade + `,"id":"x","channel":"trades"}`,
		`{"event":"snapshot","data":` + sampleBook + `,"id":"x","channel":"books"}`,
		`{"event":"data","data":` + sampleCandle + `,"id":"x","channel":"candles"}`,
		`{"event":"data","data":` + sampleAggregate + `,"id":"x","channel":"aggregates"}`,
		`{"event":"data","data":` + sampleIndex + `,"id":"x","channel":"indices"}`,
		`{"event":"data","data":{"symbol":"TXFG4","type":"FUTURE_AH","exchange":"TAIFEX","trades":[{"price":23379,"size":1,"bid":23379,"ask":23380,"serial":"1","isReplaced":true}],"total":{"tradeVolume":12431},"time":1718880340342000,"serial":23143},"id":"x","channel":"trades"}`,
		`{"event":"something-new"}`,
		`{"event":"data","data":{"symbol":`,
		`[1,2,3]`,
		"{\"event\":\"data\",\"data\":{\"symbol\":\"\xff\"}}",
	}
	f.Add([]byte(bytes.Join(func() [][]byte {
		var out [][]byte
		for _, s := range seeds {
			out = append(out, []byte(s))
		}
		return out
	}(), []byte("\n"))))
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := NewWebSocketClient(WebSocketClientOption{APIKey: "k", BufferSize: 4, EventBufferSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		s := &session{l: c.link(), seq: 1, control: make(chan control, 1), quit: make(chan struct{}), pings: map[string]chan struct{}{}}
		close(s.quit) // control frames beyond the buffer are dropped, not waited on
		dec := messages.NewDecoder()
		frames := bytes.Split(data, []byte("\n"))
		for _, frame := range frames {
			s.handle(dec, websocket.TextMessage, frame)
		}
		c.end(nil)
		st := c.Stats()
		values := st.Trades.Received + st.Books.Received + st.Candles.Received + st.Aggregates.Received + st.Indices.Received
		if values+st.Malformed > uint64(len(frames)) {
			t.Fatalf("%d frames produced %d values and %d malformed", len(frames), values, st.Malformed)
		}
	})
}
