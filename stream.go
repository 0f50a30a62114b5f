package marketdata

import (
	"context"
	"iter"
	"strconv"
	"time"
)

// Stream is the consumer contract: what a bot needs from a source of market
// data. The WebSocket client satisfies it, and so does every other source
// the SDK offers, so that code written against Stream runs unchanged on
// live data, a replayed recording or a test's mock.
//
// Values arrive either on the typed channels and Events, or, when the
// source was built for an ordered stream, on Messages (and through Next and
// All) in the order they were produced. The channels of the mode not chosen
// are never fed; every channel is closed when the source ends.
type Stream interface {
	// Connect returns once the source is live (for the WebSocket client:
	// authenticated).
	Connect(ctx context.Context) error
	// Subscribe returns once the subscription is confirmed.
	Subscribe(ctx context.Context, req SubscribeRequest) error
	// Unsubscribe drops subscriptions.
	Unsubscribe(ctx context.Context, req SubscribeRequest) error

	Trades() <-chan Trade
	Candles() <-chan Candle
	Books() <-chan Book
	Aggregates() <-chan Aggregate
	Indices() <-chan Index
	Events() <-chan Event

	// Messages is the ordered stream: every value and event in the order
	// the source produced it.
	Messages() <-chan Message
	// Next returns the next message of the ordered stream, waiting until
	// one arrives, ctx ends, or the source ends.
	Next(ctx context.Context) (Message, error)
	// All iterates over the ordered stream until the source ends.
	All() iter.Seq[Message]

	// Stats returns the source's counters.
	Stats() Stats
	// Done is closed when the source has ended; Err then says why (nil
	// after Close).
	Done() <-chan struct{}
	Err() error
	// Close ends the source and closes every channel.
	Close() error
}

var _ Stream = (*WebSocketClient)(nil)

// Message is one item of the ordered stream: a market-data value (Trade,
// Candle, Book, Aggregate or Index, as values) or an Event. Switch on its
// type:
//
//	switch m := m.(type) {
//	case marketdata.Trade:
//	case marketdata.Disconnected:
//	case marketdata.Event: // any other event
//	}
type Message any

// Messages delivers every value and event in the order the client produced
// them (wire order within a connection, lifecycle events in their place),
// when the client was built with Ordered set; otherwise it is never fed.
// The drop policy and its accounting (Stats().Messages) apply as to the
// typed channels. It is closed when the client ends.
func (c *WebSocketClient) Messages() <-chan Message { return c.messages.ch }

// Next returns the next message of the ordered stream. It waits until one
// arrives or ctx ends (returning ctx.Err()). Once the client has ended and
// the stream is drained it returns ErrClosed, wrapping the client's final
// error when there is one. Without Ordered it returns ErrNotOrdered.
func (c *WebSocketClient) Next(ctx context.Context) (Message, error) {
	if !c.opt.Ordered {
		return nil, ErrNotOrdered
	}
	return nextMessage(ctx, c.messages.ch, c.Err)
}

// All iterates over the ordered stream until the client ends:
//
//	for m := range client.All() { ... }
//
// Breaking out of the loop leaves the client running. Without Ordered it
// yields nothing and returns at once.
func (c *WebSocketClient) All() iter.Seq[Message] {
	if !c.opt.Ordered {
		return func(func(Message) bool) {}
	}
	return allMessages(c.messages.ch)
}

// nextMessage implements Next for any source's ordered channel.
func nextMessage(ctx context.Context, ch <-chan Message, final func() error) (Message, error) {
	select {
	case m, ok := <-ch:
		if ok {
			return m, nil
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := final(); err != nil {
		return nil, &endedError{err}
	}
	return nil, ErrClosed
}

// endedError says the source has ended, and why.
type endedError struct{ cause error }

func (e *endedError) Error() string { return ErrClosed.Error() + ": " + e.cause.Error() }

// Is matches ErrClosed.
func (e *endedError) Is(target error) bool { return target == ErrClosed }

func (e *endedError) Unwrap() error { return e.cause }

// allMessages implements All for any source's ordered channel.
func allMessages(ch <-chan Message) iter.Seq[Message] {
	return func(yield func(Message) bool) {
		for m := range ch {
			if !yield(m) {
				return
			}
		}
	}
}

// FrameDirection says which way a tapped frame went.
type FrameDirection uint8

// The directions of a tapped frame.
const (
	FrameIn  FrameDirection = iota + 1 // read from the server
	FrameOut                           // written to the server
)

func (d FrameDirection) String() string {
	switch d {
	case FrameIn:
		return "in"
	case FrameOut:
		return "out"
	}
	return "FrameDirection(" + strconv.Itoa(int(d)) + ")"
}

// FrameTap observes every connection's frames, for recording or inspection
// (the record package's Writer is one). Its methods run on the client's
// reader, writer and supervisor goroutines: they must return quickly and
// never block, and frame is valid only during the call (copy what you
// keep). The auth frame is never shown, nor the upgrade's headers.
type FrameTap interface {
	// Frame sees one frame read (FrameIn) or written (FrameOut) on
	// connection conn at time at.
	Frame(dir FrameDirection, conn uint64, at time.Time, frame []byte)
	// Opened: connection conn was upgraded at time at; url holds no
	// credential.
	Opened(conn uint64, at time.Time, url string)
	// Closed: connection conn ended, with the close code received (1006
	// when none arrived, 1000 after Close) and its reason.
	Closed(conn uint64, at time.Time, code int, reason string)
}
