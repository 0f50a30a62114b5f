package marketdata

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-fugle/marketdata/messages"
)

// outlets are the consumer-facing channels of a client, or of every
// connection of a pool: one drop policy, one set of counters.
type outlets struct {
	trades     *outlet[messages.Trade]
	candles    *outlet[messages.Candle]
	books      *outlet[messages.Book]
	aggregates *outlet[messages.Aggregate]
	indices    *outlet[messages.Index]
	events     *outlet[Event]
	messages   *outlet[Message] // the ordered stream, fed instead of the others when ordered

	ordered bool
	logger  *slog.Logger
}

// newOutlets builds the outlets for opt; stop ends Block's waits.
func newOutlets(opt WebSocketClientOption, stop <-chan struct{}) *outlets {
	o := &outlets{ordered: opt.Ordered, logger: opt.Logger}
	report := func(d Dropped) { o.emit(d) }
	o.events = newOutlet[Event]("events", opt.EventBufferSize, opt.DropPolicy, opt.BlockTimeout, stop, nil)
	o.trades = newOutlet[messages.Trade]("trades", opt.BufferSize, opt.DropPolicy, opt.BlockTimeout, stop, report)
	o.candles = newOutlet[messages.Candle]("candles", opt.BufferSize, opt.DropPolicy, opt.BlockTimeout, stop, report)
	o.books = newOutlet[messages.Book]("books", opt.BufferSize, opt.DropPolicy, opt.BlockTimeout, stop, report)
	o.aggregates = newOutlet[messages.Aggregate]("aggregates", opt.BufferSize, opt.DropPolicy, opt.BlockTimeout, stop, report)
	o.indices = newOutlet[messages.Index]("indices", opt.BufferSize, opt.DropPolicy, opt.BlockTimeout, stop, report)
	o.trades.handler, o.candles.handler, o.books.handler = opt.Handlers.Trade, opt.Handlers.Candle, opt.Handlers.Book
	o.aggregates.handler, o.indices.handler = opt.Handlers.Aggregate, opt.Handlers.Index
	if opt.Ordered {
		o.messages = newOutlet[Message]("messages", opt.BufferSize, opt.DropPolicy, opt.BlockTimeout, stop, report)
	} else {
		// Never fed: the channel needs no room.
		o.messages = newOutlet[Message]("messages", 0, opt.DropPolicy, opt.BlockTimeout, stop, nil)
	}
	return o
}

// emit delivers a lifecycle event. It never waits for the consumer: the
// goroutines that emit them (Connect's caller, the supervisor) must stay
// responsive, so under Block a full channel drops the event.
func (o *outlets) emit(e Event) {
	logEvent(o.logger, e)
	if o.ordered {
		o.messages.offer(e)
		return
	}
	o.events.offer(e)
}

// event delivers an event read from the wire, on the reader goroutine:
// under Block it waits for room, as values do.
func (o *outlets) event(e Event) {
	logEvent(o.logger, e)
	if o.ordered {
		o.messages.send(e)
		return
	}
	o.events.send(e)
}

// route hands a value to its handler, its typed outlet, or the ordered
// stream.
func route[T any](o *outlets, typed *outlet[T], v T) {
	if typed.handler != nil {
		typed.handler(v)
		typed.received.Add(1)
		return
	}
	if o.ordered {
		o.messages.send(v)
		return
	}
	typed.send(v)
}

// close reports the drop episodes still open and closes every channel
// exactly once. Callers guarantee no sender is left.
func (o *outlets) close() {
	o.trades.flush()
	o.candles.flush()
	o.books.flush()
	o.aggregates.flush()
	o.indices.flush()
	o.messages.flush()
	close(o.trades.ch)
	close(o.candles.ch)
	close(o.books.ch)
	close(o.aggregates.ch)
	close(o.indices.ch)
	close(o.events.ch)
	close(o.messages.ch)
}

// stats fills the channels' counters.
func (o *outlets) stats(st *Stats) {
	st.Trades, st.Candles, st.Books = o.trades.stats(), o.candles.stats(), o.books.stats()
	st.Aggregates, st.Indices = o.aggregates.stats(), o.indices.stats()
	st.Events, st.Messages = o.events.stats(), o.messages.stats()
}

// episodeMax bounds a drop episode, so that a consumer that never catches
// up still hears of its losses at this pace rather than once at the end.
const episodeMax = 10 * time.Second

// outlet is one consumer-facing channel with its drop policy and counters.
// The reader goroutine of the live connection is its main sender; lifecycle
// events come from Connect and the supervisor too, so everything here is
// safe for several senders.
type outlet[T any] struct {
	name    string
	ch      chan T
	policy  DropPolicy
	timeout time.Duration
	stop    <-chan struct{} // closed when Close starts: Block stops waiting
	report  func(Dropped)   // nil for the events outlet itself
	handler func(T)         // takes the values instead of ch, when set

	received atomic.Uint64
	dropped  atomic.Uint64
	dropping atomic.Bool // inside a drop episode; read on every send

	epMu    sync.Mutex // guards the episode below; taken only on drops and their end
	epCount uint64
	epStart time.Time
}

func newOutlet[T any](name string, size int, policy DropPolicy, timeout time.Duration, stop <-chan struct{}, report func(Dropped)) *outlet[T] {
	return &outlet[T]{name: name, ch: make(chan T, size), policy: policy, timeout: timeout, stop: stop, report: report}
}

// send hands v to the consumer under the policy. Under Block it waits up to
// the Block timeout for room, and not at all once Close has begun. Only the
// reader goroutine calls it: a wait there holds back the socket, never a
// caller of the public API.
func (o *outlet[T]) send(v T) { o.deliver(v, o.policy == Block) }

// offer hands v to the consumer without ever waiting: under Block a full
// channel drops v (the newest), as DropNewest would. Lifecycle events take
// this path, so that Connect, Subscribe and the supervisor never wait on a
// consumer.
func (o *outlet[T]) offer(v T) { o.deliver(v, false) }

func (o *outlet[T]) deliver(v T, wait bool) {
	// Counted once handled, so that Received never runs ahead of Dropped.
	defer o.received.Add(1)
	select {
	case o.ch <- v:
		if o.dropping.Load() {
			o.delivered()
		}
		return
	default:
	}
	switch {
	case wait:
		var expired <-chan time.Time
		if o.timeout > 0 { // zero: no limit
			t := time.NewTimer(o.timeout)
			defer t.Stop()
			expired = t.C
		}
		select {
		case o.ch <- v:
			if o.dropping.Load() {
				o.delivered()
			}
			return
		case <-expired:
		case <-o.stop:
		}
		o.drop()
	case o.policy == DropOldest:
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
	default:
		o.drop()
	}
}

// drop counts one discarded value in the current episode, starting one if
// needed.
func (o *outlet[T]) drop() {
	o.dropped.Add(1)
	now := time.Now()
	o.epMu.Lock()
	var ended Dropped
	if o.epCount > 0 && now.Sub(o.epStart) >= episodeMax {
		ended = o.endEpisodeLocked(now)
	}
	if o.epCount == 0 {
		o.epStart = now
		o.dropping.Store(true)
	}
	o.epCount++
	o.epMu.Unlock()
	o.publish(ended)
}

// delivered ends the episode once the consumer has caught up: a value went
// through and the channel is at most half full. The slack keeps a consumer
// that runs just behind the feed from turning one episode into one report
// per value.
func (o *outlet[T]) delivered() {
	if len(o.ch) > cap(o.ch)/2 {
		return
	}
	o.epMu.Lock()
	ended := o.endEpisodeLocked(time.Now())
	o.epMu.Unlock()
	o.publish(ended)
}

// flush reports an episode still open when the client ends.
func (o *outlet[T]) flush() {
	o.epMu.Lock()
	ended := o.endEpisodeLocked(time.Now())
	o.epMu.Unlock()
	o.publish(ended)
}

func (o *outlet[T]) endEpisodeLocked(now time.Time) Dropped {
	if o.epCount == 0 {
		return Dropped{}
	}
	d := Dropped{Channel: o.name, Policy: o.policy, Count: o.epCount, Total: o.dropped.Load(), Since: o.epStart, Duration: now.Sub(o.epStart)}
	o.epCount = 0
	o.dropping.Store(false)
	return d
}

func (o *outlet[T]) publish(d Dropped) {
	if d.Count > 0 && o.report != nil {
		o.report(d)
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
	// Messages counts the ordered stream, which carries everything instead
	// of the channels above when the client was built with Ordered.
	Messages ChannelStats
	// Malformed counts frames that could not be decoded.
	Malformed uint64
	// Connections counts connections that authenticated.
	Connections uint64
	// Reconnects counts reconnections after a lost connection.
	Reconnects uint64
	// Duplicates counts live values not delivered because a backfill had
	// already delivered them, or because they were held for a key that was
	// then not restored.
	Duplicates uint64
}
