package natsbus

import (
	"errors"
	"fmt"

	"github.com/go-fugle/marketdata"
)

// request is what a consumer sends on the control subjects: subscribe and
// unsubscribe as requests, renew (its whole set, to keep its lease) as a
// plain publish.
type request struct {
	Consumer string    `json:"consumer"`
	Keys     []wireKey `json:"keys"`
}

type wireKey struct {
	Product        string             `json:"product"`
	Channel        marketdata.Channel `json:"channel"`
	Symbol         string             `json:"symbol"`
	IntradayOddLot bool               `json:"intradayOddLot,omitempty"`
	AfterHours     bool               `json:"afterHours,omitempty"`
}

func toWire(keys []Key) []wireKey {
	w := make([]wireKey, len(keys))
	for i, k := range keys {
		w[i] = wireKey(k)
	}
	return w
}

// reply answers a subscribe or unsubscribe request.
type reply struct {
	Gateway string     `json:"gateway"`
	Stream  string     `json:"stream"`
	LeaseMS int64      `json:"leaseMs"`
	Error   *wireError `json:"error,omitempty"`
}

type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// The codes of a refused request.
const (
	codeInvalid     = "invalid"     // a key the bus cannot serve
	codePlanFull    = "plan_full"   // no connection of the plan has room
	codeRefused     = "refused"     // Fugle refused the subscription
	codeUnavailable = "unavailable" // the gateway cannot reach Fugle now
	codeBadRequest  = "bad_request" // not a request at all
)

// GatewayError is a gateway's refusal of a Subscribe. It matches
// ErrInvalidKey or marketdata.ErrPlanFull when the gateway said so.
type GatewayError struct {
	Gateway string
	Code    string
	Message string
}

// Error says which gateway refused, and why.
func (e *GatewayError) Error() string {
	return fmt.Sprintf("natsbus: gateway %s refused: %s: %s", e.Gateway, e.Code, e.Message)
}

// Is matches the sentinel of the code.
func (e *GatewayError) Is(target error) bool {
	switch e.Code {
	case codeInvalid, codeBadRequest:
		return target == ErrInvalidKey
	case codePlanFull:
		return target == marketdata.ErrPlanFull
	}
	return false
}

// ErrNoGateway says no gateway answered a request in time.
var ErrNoGateway = errors.New("natsbus: no gateway answered")

// marker is the body of a gap marker.
type marker struct {
	Gateway    string `json:"gateway"`
	Conn       uint64 `json:"conn"`
	Code       int    `json:"code,omitempty"`
	Reason     string `json:"reason,omitempty"`
	DowntimeMS int64  `json:"downtimeMs,omitempty"`
	Time       int64  `json:"time"` // Unix microseconds
}
