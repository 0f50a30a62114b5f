package marketdata

import (
	"encoding/json"

	"github.com/go-fugle/marketdata/messages"
)

// Outbound frames. They are built off the hot path, so encoding/json is fine.

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// pingFrame takes the state already JSON-encoded.
func pingFrame(state string) []byte {
	return []byte(`{"event":"ping","data":{"state":` + state + `}}`)
}

type subscribeData struct {
	Channel        messages.Channel `json:"channel"`
	Symbol         string           `json:"symbol,omitempty"`
	Symbols        []string         `json:"symbols,omitempty"`
	IntradayOddLot bool             `json:"intradayOddLot,omitempty"`
	AfterHours     bool             `json:"afterHours,omitempty"`
}

// subscribeFrame sends one symbol as "symbol" and several as "symbols",
// as the server answers an object for the first and an array for the second.
func subscribeFrame(g group, symbols []string) []byte {
	d := subscribeData{Channel: g.channel, IntradayOddLot: g.oddLot, AfterHours: g.afterHours}
	if len(symbols) == 1 {
		d.Symbol = symbols[0]
	} else {
		d.Symbols = symbols
	}
	b, _ := json.Marshal(struct {
		Event string        `json:"event"`
		Data  subscribeData `json:"data"`
	}{"subscribe", d})
	return b
}

func unsubscribeFrame(ids []string) []byte {
	var data any
	if len(ids) == 1 {
		data = struct {
			ID string `json:"id"`
		}{ids[0]}
	} else {
		data = struct {
			IDs []string `json:"ids"`
		}{ids}
	}
	b, _ := json.Marshal(struct {
		Event string `json:"event"`
		Data  any    `json:"data"`
	}{"unsubscribe", data})
	return b
}

var subscriptionsFrame = []byte(`{"event":"subscriptions"}`)
