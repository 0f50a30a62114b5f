package marketdata

import (
	"sync/atomic"
	"time"
)

// outlet is one consumer-facing channel with its drop policy and counters.
// The reader goroutine of the live connection is its main sender; the
// supervisor sends lifecycle events too, so everything here is safe for
// several senders.
type outlet[T any] struct {
	name    string
	ch      chan T
	policy  DropPolicy
	timeout time.Duration
	stop    <-chan struct{} // closed when Close starts: Block stops waiting
	report  func(Dropped)   // nil for the events outlet itself

	received atomic.Uint64
	dropped  atomic.Uint64
	dropping atomic.Bool // inside a drop episode
}

func newOutlet[T any](name string, size int, policy DropPolicy, timeout time.Duration, stop <-chan struct{}, report func(Dropped)) *outlet[T] {
	return &outlet[T]{name: name, ch: make(chan T, size), policy: policy, timeout: timeout, stop: stop, report: report}
}

// send hands v to the consumer under the policy. It never blocks for longer
// than the Block timeout, and not at all once Close has begun.
func (o *outlet[T]) send(v T) {
	// Counted once handled, so that Received never runs ahead of Dropped.
	defer o.received.Add(1)
	select {
	case o.ch <- v:
		o.dropping.Store(false)
		return
	default:
	}
	switch o.policy {
	case DropNewest:
		o.drop()
	case DropOldest:
		// Two rounds: another sender may refill the slot we freed.
		for i := 0; i < 2; i++ {
			select {
			case <-o.ch:
				o.drop()
			default:
			}
			select {
			case o.ch <- v:
				return
			default:
			}
		}
		o.drop()
	case Block:
		t := time.NewTimer(o.timeout)
		select {
		case o.ch <- v:
			o.dropping.Store(false)
		case <-t.C:
			o.drop()
		case <-o.stop:
			o.drop()
		}
		t.Stop()
	}
}

func (o *outlet[T]) drop() {
	total := o.dropped.Add(1)
	if o.dropping.CompareAndSwap(false, true) && o.report != nil {
		o.report(Dropped{Channel: o.name, Policy: o.policy, Total: total})
	}
}

func (o *outlet[T]) stats() ChannelStats {
	return ChannelStats{Received: o.received.Load(), Dropped: o.dropped.Load()}
}

// ChannelStats counts what one channel carried. Once the consumer has
// drained the channel, it has seen exactly Received - Dropped events.
type ChannelStats struct {
	// Received counts events handed to the channel.
	Received uint64
	// Dropped counts events discarded under the drop policy.
	Dropped uint64
}

// Stats is a snapshot of the client's counters.
type Stats struct {
	Trades, Candles, Books, Aggregates, Indices, Events ChannelStats
	// Malformed counts frames that could not be decoded.
	Malformed uint64
	// Connections counts connections that authenticated.
	Connections uint64
	// Reconnects counts reconnections after a lost connection.
	Reconnects uint64
}
