package marketdata

import (
	"fmt"
	"time"

	"github.com/go-fugle/marketdata/messages"
)

// Event is anything delivered on Events(): lifecycle changes, heartbeats,
// server errors, frames that could not be decoded and events this client
// does not know. Switch on the concrete type.
//
// Every event that comes from a connection carries its connection number
// (Conn), the same number stamped on market data in Meta.Conn. The number
// grows with every connection (an attempt that fails to authenticate uses
// one up too) and never repeats, so a consumer that reads only a typed
// channel knows a gap may lie before the first event whose Conn differs
// from the previous one's; a Disconnected event with the old number
// and a Reconnected event with the new one bracket that gap on Events().
type Event interface {
	fmt.Stringer
	event()
}

// Connected: the WebSocket upgrade succeeded; authentication follows.
type Connected struct {
	Conn uint64
	URL  string
}

// Authenticated: the server accepted the credential; the connection is live.
type Authenticated struct {
	Conn    uint64
	Message string
}

// Disconnected: a connection ended. It is reported exactly once per
// connection that authenticated, including the last one when the client is
// closed (then Err is nil and WillReconnect false).
type Disconnected struct {
	Conn   uint64
	Code   int    // the close code received, or 1006 when none arrived; 1000 after Close
	Reason string // the peer's close reason, if any
	// Err is why the connection ended; nil after the user's Close.
	Err error
	// WillReconnect is false when the client ends here.
	WillReconnect bool
	// Uptime is how long the connection was authenticated.
	Uptime time.Duration
}

// Reconnecting: a reconnect attempt will start after Delay.
type Reconnecting struct {
	Attempt int
	Delay   time.Duration
	Err     error // why the connection or the previous attempt failed
}

// Reconnected: a new connection authenticated after an outage. Data may
// be missing between Downtime's start and now.
type Reconnected struct {
	Conn     uint64
	Attempts int
	Downtime time.Duration
}

// Resubscribed: after a reconnect, every wanted subscription was sent again
// and answered. Failed lists those the server refused; they are no longer
// wanted. Unconfirmed lists those its acks left out: still wanted, not
// active, requested again on the next connection.
type Resubscribed struct {
	Conn        uint64
	Restored    []Subscription
	Failed      []SubscriptionFailure
	Unconfirmed []Subscription
}

// SubscriptionFailure is a subscription the server refused.
type SubscriptionFailure struct {
	Subscription Subscription
	Err          error
}

// Heartbeat is the server's liveness frame, sent every 30 s.
type Heartbeat struct {
	Conn uint64
	Time messages.Timestamp
}

// Pong answers a ping that was not sent by Ping (for example a probe).
type Pong struct {
	Conn  uint64
	Time  messages.Timestamp
	State []byte
}

// ErrorEvent reports an error that does not end the client: an error frame
// the server sent outside any request, a frame that could not be decoded
// (*DecodeError), a binary frame, or why a connection was lost.
type ErrorEvent struct {
	Conn uint64
	Err  error
}

// Unknown is a frame whose event this client does not know, passed through
// with its bytes. The "subscriptions" listing arrives this way too.
type Unknown struct {
	Conn  uint64
	Event string
	Raw   []byte
}

// Gap marks, in its place in one subscription's values, where values may
// be missing. Sources that relay the feed deliver it (natsbus.Client, from
// the gateway's markers): Start where the relay lost the connection that
// carried the subscription, then an end where the relay has it again.
// Between the two the subscription's values may be missing; values on
// either side are complete.
type Gap struct {
	// Source names the relay that saw the gap (a gateway's name). With two
	// relays publishing the same keys, a gap at one is covered by the other
	// while the other's connection is up.
	Source       string
	Subscription Subscription
	// Start is true at the gap's start, false at its end.
	Start bool
	// Conn is the relay's connection that was lost (start) or that carries
	// the subscription again (end).
	Conn uint64
	// Code and Reason are the lost connection's close code and reason
	// (start only).
	Code   int
	Reason string
	// Downtime is how long the subscription was away (end only).
	Downtime time.Duration
}

// Dropped reports one drop episode on one channel: the consumer fell
// behind and values were discarded under the drop policy. An episode begins
// with the first drop and ends when the consumer has caught up (a value is
// delivered while the channel is at most half full), when it has lasted
// 10 s, or when the client ends. It is reported once, when it ends, so a
// steadily slow consumer sees one report per episode, not one per value.
// The Counts of all reports for a channel add up to its Stats Dropped.
type Dropped struct {
	Channel string
	Policy  DropPolicy
	// Count is the number of values dropped in this episode.
	Count uint64
	// Total is the channel's drop count so far, this episode included.
	Total uint64
	// Since is when the episode began; Duration how long it lasted.
	Since    time.Time
	Duration time.Duration
}

func (Connected) event()     {}
func (Authenticated) event() {}
func (Disconnected) event()  {}
func (Reconnecting) event()  {}
func (Reconnected) event()   {}
func (Resubscribed) event()  {}
func (Heartbeat) event()     {}
func (Pong) event()          {}
func (ErrorEvent) event()    {}
func (Unknown) event()       {}
func (Dropped) event()       {}
func (Gap) event()           {}

func (e Connected) String() string { return fmt.Sprintf("connected #%d to %s", e.Conn, e.URL) }
func (e Authenticated) String() string {
	return fmt.Sprintf("authenticated #%d", e.Conn)
}
func (e Disconnected) String() string {
	s := fmt.Sprintf("disconnected #%d (code %d", e.Conn, e.Code)
	if e.Reason != "" {
		s += " " + e.Reason
	}
	s += ")"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.WillReconnect {
		s += "; reconnecting"
	}
	return s
}
func (e Reconnecting) String() string {
	s := fmt.Sprintf("reconnecting: attempt %d in %v", e.Attempt, e.Delay.Round(time.Millisecond))
	if e.Err != nil {
		s += " after: " + e.Err.Error()
	}
	return s
}
func (e Reconnected) String() string {
	return fmt.Sprintf("reconnected #%d after %d attempt(s), down %v", e.Conn, e.Attempts, e.Downtime.Round(time.Millisecond))
}
func (e Resubscribed) String() string {
	return fmt.Sprintf("resubscribed #%d: %d restored, %d failed, %d unconfirmed", e.Conn, len(e.Restored), len(e.Failed), len(e.Unconfirmed))
}
func (e Heartbeat) String() string { return fmt.Sprintf("heartbeat #%d %d", e.Conn, e.Time) }
func (e Pong) String() string      { return fmt.Sprintf("pong #%d %d", e.Conn, e.Time) }
func (e ErrorEvent) String() string {
	return fmt.Sprintf("error #%d: %v", e.Conn, e.Err)
}
func (e Unknown) String() string { return fmt.Sprintf("unknown event %q #%d", e.Event, e.Conn) }
func (e Gap) String() string {
	if e.Start {
		return fmt.Sprintf("gap starts: %s at %s (connection #%d lost, %d %s)", e.Subscription, e.Source, e.Conn, e.Code, e.Reason)
	}
	return fmt.Sprintf("gap ends: %s at %s (connection #%d, after %s)", e.Subscription, e.Source, e.Conn, e.Downtime)
}

func (e Dropped) String() string {
	return fmt.Sprintf("dropped %d on %s (%v) over %v, %d dropped so far", e.Count, e.Channel, e.Policy, e.Duration.Round(time.Millisecond), e.Total)
}
