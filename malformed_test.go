package marketdata

import (
	"errors"

	"testing"
	"time"

	"github.com/go-fugle/marketdata/messages"
)

// A number outside its Go type's range is a decode error naming the field,
// and the stream goes on.
func TestOutOfRangeNumbersAreDecodeErrors(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, nil)
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	for _, bad := range []struct{ field, payload string }{
		{"price", `{"symbol":"2330","type":"EQUITY","exchange":"TWSE","price":1e309,"time":1,"serial":1}`},
		{"serial", `{"symbol":"2330","type":"EQUITY","exchange":"TWSE","price":1,"time":1,"serial":9223372036854775808}`},
		{"serial", `{"symbol":"2330","type":"EQUITY","exchange":"TWSE","price":1,"time":1,"serial":"9223372036854775808"}`},
	} {
		srv.Publish("trades", "2330", []byte(bad.payload))
		e, _ := nextEvent(t, c, func(e ErrorEvent) bool { return true })
		var de *DecodeError
		var fe *messages.FieldError
		if !errors.As(e.Err, &de) || !errors.As(e.Err, &fe) || fe.Field != bad.field {
			t.Fatalf("%s: event %v, want a DecodeError naming %s", bad.payload, e, bad.field)
		}
	}
	before := time.Now()
	srv.Publish("trades", "2330", tradeJSON("2330", 2))
	v := receive(t, c.Trades())
	if v.Serial != 2 {
		t.Fatalf("the stream did not go on: %v", v.Serial)
	}
	if v.Received.Before(before) || v.Received.After(time.Now()) {
		t.Fatalf("Received %v, outside [%v, now]", v.Received, before)
	}
	if got := c.Stats().Malformed; got != 3 {
		t.Fatalf("Malformed = %d, want 3", got)
	}
}
