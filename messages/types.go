package messages

import (
	"strconv"
	"time"
)

// Channel names a stream of the API.
type Channel string

// The channels of the API. Futures and options have no indices.
const (
	ChannelTrades     Channel = "trades"
	ChannelCandles    Channel = "candles"
	ChannelBooks      Channel = "books"
	ChannelAggregates Channel = "aggregates"
	ChannelIndices    Channel = "indices"
)

// Kind classifies an inbound frame by its "event".
type Kind uint8

// The kinds of inbound frames.
const (
	KindUnknown       Kind = iota // any event not listed below; it passes through
	KindAuthenticated             // "authenticated"
	KindError                     // "error"
	KindHeartbeat                 // "heartbeat"
	KindPong                      // "pong"
	KindSubscribed                // "subscribed"
	KindUnsubscribed              // "unsubscribed"
	KindData                      // "data"
	KindSnapshot                  // "snapshot": a data payload sent right after subscribing
	KindSubscriptions             // reply to {"event":"subscriptions"}; its shape is undocumented, so it stays raw
)

var kindNames = [...]string{
	KindUnknown:       "unknown",
	KindAuthenticated: "authenticated",
	KindError:         "error",
	KindHeartbeat:     "heartbeat",
	KindPong:          "pong",
	KindSubscribed:    "subscribed",
	KindUnsubscribed:  "unsubscribed",
	KindData:          "data",
	KindSnapshot:      "snapshot",
	KindSubscriptions: "subscriptions",
}

// String returns the event name of k ("unknown" for KindUnknown).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// kindOf maps an event name to its Kind without a map lookup.
func kindOf(event string) Kind {
	switch event {
	case "data":
		return KindData
	case "heartbeat":
		return KindHeartbeat
	case "snapshot":
		return KindSnapshot
	case "pong":
		return KindPong
	case "subscribed":
		return KindSubscribed
	case "unsubscribed":
		return KindUnsubscribed
	case "authenticated":
		return KindAuthenticated
	case "error":
		return KindError
	case "subscriptions":
		return KindSubscriptions
	}
	return KindUnknown
}

// knownChannel returns the constant for a channel name, so that the common
// names cost no intern lookup.
func knownChannel(name string) (Channel, bool) {
	switch name {
	case "trades":
		return ChannelTrades, true
	case "books":
		return ChannelBooks, true
	case "candles":
		return ChannelCandles, true
	case "aggregates":
		return ChannelAggregates, true
	case "indices":
		return ChannelIndices, true
	}
	return "", false
}

// Timestamp is a point in time in epoch microseconds, as the server sends it.
type Timestamp int64

// Time converts t to a time.Time; it returns the zero time.Time when t is 0,
// so that an absent timestamp stays recognisably absent.
func (t Timestamp) Time() time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.UnixMicro(int64(t))
}

// IsZero reports whether t is 0, which is how an absent timestamp decodes.
func (t Timestamp) IsZero() bool { return t == 0 }

// Meta is the routing information of a data or snapshot frame. It is
// embedded in every payload type.
type Meta struct {
	// ID is the server's subscription id (the envelope's "id"). Ids are not
	// unique per channel and symbol: an alias and the contract it resolves
	// to can share one.
	ID string `json:"id"`
	// Channel is the envelope's "channel".
	Channel Channel `json:"channel"`
	// Snapshot is true when the frame's event was "snapshot": the current
	// state sent right after subscribing rather than a new market event.
	Snapshot bool `json:"snapshot"`
	// Conn is set by the client, not by the decoder: the number of the
	// connection the event arrived on (1 for the first). A change between
	// two events means a gap may lie between them.
	Conn uint64 `json:"conn"`
	// Received is set by the client, not by the decoder: when the frame was
	// read from the socket. Its distance from the payload's own time is the
	// feed's lag.
	Received time.Time `json:"received"`
	// Backfill is set by the client, not by the decoder: the value was
	// fetched over REST after a reconnect, to fill what the stream missed
	// while it was away, rather than read from the stream.
	Backfill bool `json:"backfill,omitempty"`
}

func (m *Meta) kind() Kind {
	if m.Snapshot {
		return KindSnapshot
	}
	return KindData
}
