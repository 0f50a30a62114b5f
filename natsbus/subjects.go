package natsbus

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-fugle/marketdata"
)

// The products a gateway serves, as they appear in subjects.
const (
	Stock  = "stock"
	FutOpt = "futopt"
)

// Defaults shared by the gateway and the consumer.
const (
	DefaultPrefix = "fugle"
	DefaultStream = "FUGLE"
)

// Key is one subscription as the bus names it: a product, a channel, a
// symbol and its modifiers.
type Key struct {
	Product        string
	Channel        marketdata.Channel
	Symbol         string
	IntradayOddLot bool
	AfterHours     bool
}

// String is the key's subject under the default prefix.
func (k Key) String() string { return k.Subject(DefaultPrefix) }

// Subscription is the key as the SDK names it, without the product.
func (k Key) Subscription() marketdata.Subscription {
	return marketdata.Subscription{Channel: k.Channel, Symbol: k.Symbol, IntradayOddLot: k.IntradayOddLot, AfterHours: k.AfterHours}
}

// Subject is where the key's frames and gap markers are published:
// prefix.product.channel.symbol, then "oddlot" or "afterhours" as a last
// token when the modifier is set. So fugle.stock.trades.* is every board
// lot trade, and fugle.stock.trades.*.oddlot every odd-lot one.
func (k Key) Subject(prefix string) string {
	s := prefix + "." + k.Product + "." + string(k.Channel) + "." + k.Symbol
	if k.IntradayOddLot {
		s += ".oddlot"
	}
	if k.AfterHours {
		s += ".afterhours"
	}
	return s
}

// ErrInvalidKey says a subscription cannot be served: an unknown product or
// channel, a modifier of the other product, or a symbol a subject cannot
// carry.
var ErrInvalidKey = errors.New("natsbus: invalid subscription")

// check validates k for the bus.
func (k Key) check() error {
	var channels string
	switch k.Product {
	case Stock:
		channels = "trades candles books aggregates indices"
		if k.AfterHours {
			return fmt.Errorf("%w: afterHours is a futopt modifier", ErrInvalidKey)
		}
	case FutOpt:
		channels = "trades candles books aggregates"
		if k.IntradayOddLot {
			return fmt.Errorf("%w: intradayOddLot is a stock modifier", ErrInvalidKey)
		}
	default:
		return fmt.Errorf("%w: unknown product %q", ErrInvalidKey, k.Product)
	}
	if k.Channel == "" || !strings.Contains(" "+channels+" ", " "+string(k.Channel)+" ") {
		return fmt.Errorf("%w: %s has no channel %q", ErrInvalidKey, k.Product, k.Channel)
	}
	// A subject token cannot hold these; "/" (futures spreads) it can.
	if k.Symbol == "" || strings.ContainsAny(k.Symbol, ".*> \t\r\n") || len(k.Symbol) > 64 {
		return fmt.Errorf("%w: symbol %q", ErrInvalidKey, k.Symbol)
	}
	return nil
}

// parseSubject reads a key back from a feed subject.
func parseSubject(prefix, subject string) (Key, bool) {
	rest, ok := strings.CutPrefix(subject, prefix+".")
	if !ok {
		return Key{}, false
	}
	t := strings.Split(rest, ".")
	if len(t) < 3 || len(t) > 4 {
		return Key{}, false
	}
	k := Key{Product: t[0], Channel: marketdata.Channel(t[1]), Symbol: t[2]}
	if len(t) == 4 {
		switch t[3] {
		case "oddlot":
			k.IntradayOddLot = true
		case "afterhours":
			k.AfterHours = true
		default:
			return Key{}, false
		}
	}
	return k, k.check() == nil
}

// keysOf splits a request into keys of product.
func keysOf(product string, req marketdata.SubscribeRequest) ([]Key, error) {
	if len(req.Symbols) == 0 {
		return nil, fmt.Errorf("%w: no symbols", ErrInvalidKey)
	}
	keys := make([]Key, 0, len(req.Symbols))
	for _, s := range req.Symbols {
		k := Key{Product: product, Channel: req.Channel, Symbol: s, IntradayOddLot: req.IntradayOddLot, AfterHours: req.AfterHours}
		if err := k.check(); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Control subjects, below the prefix.
const (
	subjSubscribe   = "control.subscribe"
	subjUnsubscribe = "control.unsubscribe"
	subjRenew       = "control.renew"
)

// Headers on the feed subjects. Data frames carry only the message id and
// the time the gateway read them; gap markers carry a marker header and a
// JSON body.
const (
	headerMarker   = "Fugle-Marker"   // "gap-start" or "gap-end"
	headerReceived = "Fugle-Received" // Unix nanoseconds, when the gateway read the frame
	headerGateway  = "Fugle-Gateway"

	markerGapStart = "gap-start"
	markerGapEnd   = "gap-end"
)
