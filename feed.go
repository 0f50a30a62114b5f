package marketdata

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-fugle/marketdata/messages"
)

// Feed is the consumer half of a Stream, for sources other than the
// WebSocket client: its owner hands it frames in the Fugle wire format
// (from a message bus, a file, anything), and it decodes them with the
// same decoder and delivers them on the same channels, under the same drop
// policy and counters, as the client does. A source type embeds a *Feed
// and adds Connect, Subscribe, Unsubscribe and Close to satisfy Stream;
// natsbus.Client is one.
//
// Deliver and Emit may be called from any goroutine; frames handed to
// Deliver from one goroutine are delivered in that order. End closes every
// channel; Deliver and Emit do nothing after it.
type Feed struct {
	out  *outlets
	stop chan struct{} // closed by End: Block stops waiting

	mu  sync.Mutex // serialises the decoder
	dec *messages.Decoder

	// life guards the channels' closing: Deliver and Emit hold it shared,
	// End exclusively, so nothing is sent on a closed channel.
	life  sync.RWMutex
	ended bool

	malformed atomic.Uint64
	endOnce   sync.Once
	done      chan struct{}
	errMu     sync.Mutex
	err       error
}

// FeedOption configures a Feed: the delivery options of
// WebSocketClientOption, with the same defaults and the same rule (zero
// selects the default, a negative BlockTimeout waits without limit).
type FeedOption struct {
	// BufferSize is the capacity of each typed channel, or of Messages when
	// Ordered. Default 4096.
	BufferSize int
	// EventBufferSize is the capacity of Events. Default 1024.
	EventBufferSize int
	// DropPolicy applies to every channel when it is full. Default
	// DropOldest.
	DropPolicy DropPolicy
	// BlockTimeout is how long Block waits for room. Default 1 s; negative:
	// no limit (until End).
	BlockTimeout time.Duration
	// Ordered delivers everything on Messages instead of the typed
	// channels and Events. Default false.
	Ordered bool
	// Logger receives a record per lifecycle event and drop episode.
	// Default nil: silent.
	Logger *slog.Logger
}

// FrameInfo is what the owner knows of a frame it hands to Deliver.
type FrameInfo struct {
	// Conn is stamped on the value (Meta.Conn) and on the events the frame
	// produces. Default 0.
	Conn uint64
	// Received is stamped on the value (Meta.Received). Default: the time
	// of the call.
	Received time.Time
	// Channel and Symbol, when set, are what the frame must carry: a data
	// frame of another channel or symbol is refused as malformed rather
	// than delivered, so that a frame published on the wrong subject of a
	// bus cannot reach a consumer of another key.
	Channel Channel
	Symbol  string
}

// ErrWrongKey says a frame carried another channel or symbol than its
// source said it would.
var ErrWrongKey = errors.New("marketdata: frame for another channel or symbol")

// NewFeed returns a Feed with opt's delivery options.
func NewFeed(opt FeedOption) (*Feed, error) {
	o := WebSocketClientOption{
		BufferSize: opt.BufferSize, EventBufferSize: opt.EventBufferSize,
		DropPolicy: opt.DropPolicy, BlockTimeout: opt.BlockTimeout,
		Ordered: opt.Ordered, Logger: opt.Logger,
	}
	if err := o.fillDefaults(); err != nil {
		return nil, err
	}
	f := &Feed{stop: make(chan struct{}), dec: messages.NewDecoder(), done: make(chan struct{})}
	f.out = newOutlets(o, f.stop)
	return f, nil
}

// Deliver decodes one frame and delivers what it holds: a data or
// snapshot frame's value on its channel, a heartbeat as a Heartbeat event,
// an error frame as an ErrorEvent, any other frame as Unknown. A frame
// that cannot be decoded, or that fails info's check, is counted in
// Stats().Malformed and reported as an ErrorEvent holding a *DecodeError,
// which Deliver also returns; the stream goes on. Under Block, Deliver
// waits for room as the client's reader does. frame may be reused once
// Deliver returns.
func (f *Feed) Deliver(frame []byte, info FrameInfo) error {
	if info.Received.IsZero() {
		info.Received = time.Now()
	}
	f.life.RLock()
	defer f.life.RUnlock()
	if f.ended {
		return ErrClosed
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fr, err := f.dec.Frame(frame)
	if err != nil {
		return f.refuse(err, frame, info.Conn)
	}
	switch fr.Kind {
	case messages.KindData, messages.KindSnapshot:
		err = f.value(&fr, info)
	case messages.KindHeartbeat:
		var v messages.Heartbeat
		if err = f.dec.Heartbeat(&fr, &v); err == nil {
			f.out.event(Heartbeat{Conn: info.Conn, Time: v.Time})
		}
	case messages.KindError:
		var v messages.ErrorFrame
		if err = f.dec.Error(&fr, &v); err == nil {
			f.out.event(ErrorEvent{Conn: info.Conn, Err: &ServerError{Code: v.Code, Message: v.Message}})
		}
	default:
		f.out.event(Unknown{Conn: info.Conn, Event: fr.Event, Raw: clone(frame)})
	}
	if err != nil {
		return f.refuse(err, frame, info.Conn)
	}
	return nil
}

// value decodes and routes a data frame's payload.
func (f *Feed) value(fr *messages.Frame, info FrameInfo) error {
	if info.Channel != "" && fr.Channel != info.Channel {
		return fmt.Errorf("%w: channel %q, want %q", ErrWrongKey, fr.Channel, info.Channel)
	}
	switch fr.Channel {
	case messages.ChannelTrades:
		return deliverValue(f, fr, info, f.dec.Trade, f.out.trades, func(v *messages.Trade) (*messages.Meta, string) { return &v.Meta, v.Symbol })
	case messages.ChannelCandles:
		return deliverValue(f, fr, info, f.dec.Candle, f.out.candles, func(v *messages.Candle) (*messages.Meta, string) { return &v.Meta, v.Symbol })
	case messages.ChannelBooks:
		return deliverValue(f, fr, info, f.dec.Book, f.out.books, func(v *messages.Book) (*messages.Meta, string) { return &v.Meta, v.Symbol })
	case messages.ChannelAggregates:
		return deliverValue(f, fr, info, f.dec.Aggregate, f.out.aggregates, func(v *messages.Aggregate) (*messages.Meta, string) { return &v.Meta, v.Symbol })
	case messages.ChannelIndices:
		return deliverValue(f, fr, info, f.dec.Index, f.out.indices, func(v *messages.Index) (*messages.Meta, string) { return &v.Meta, v.Symbol })
	}
	f.out.event(Unknown{Conn: info.Conn, Event: fr.Event, Raw: clone(fr.Raw)})
	return nil
}

func deliverValue[T any](f *Feed, fr *messages.Frame, info FrameInfo, decode func(*messages.Frame, *T) error, typed *outlet[T], meta func(*T) (*messages.Meta, string)) error {
	var v T
	if err := decode(fr, &v); err != nil {
		return err
	}
	m, symbol := meta(&v)
	if info.Symbol != "" && symbol != info.Symbol {
		return fmt.Errorf("%w: symbol %q, want %q", ErrWrongKey, symbol, info.Symbol)
	}
	m.Conn, m.Received = info.Conn, info.Received
	route(f.out, typed, v)
	return nil
}

func (f *Feed) refuse(err error, frame []byte, conn uint64) error {
	f.malformed.Add(1)
	de := newDecodeError(err, frame)
	f.out.event(ErrorEvent{Conn: conn, Err: de})
	return de
}

// Emit delivers an event, in its place among the values when Ordered. It
// never waits: under Block a full channel drops it (counted), as the
// client does with lifecycle events.
func (f *Feed) Emit(e Event) {
	f.life.RLock()
	defer f.life.RUnlock()
	if !f.ended {
		f.out.emit(e)
	}
}

// Send delivers an event as one read from the wire would be, in its place
// among the values: under Block it waits for room, as Deliver does. Use
// it on the goroutine that calls Deliver; Emit is for everything else.
func (f *Feed) Send(e Event) {
	f.life.RLock()
	defer f.life.RUnlock()
	if !f.ended {
		f.out.event(e)
	}
}

// End ends the feed: Done is closed, Err returns err, and every channel is
// closed (values already in them can still be read). Later calls do
// nothing.
func (f *Feed) End(err error) {
	f.endOnce.Do(func() {
		f.errMu.Lock()
		f.err = err
		f.errMu.Unlock()
		close(f.stop) // a Deliver waiting under Block gives up
		f.life.Lock()
		f.ended = true
		f.out.close()
		f.life.Unlock()
		close(f.done)
	})
}

// Trades delivers trades.
func (f *Feed) Trades() <-chan Trade { return f.out.trades.ch }

// Candles delivers candles.
func (f *Feed) Candles() <-chan Candle { return f.out.candles.ch }

// Books delivers order books.
func (f *Feed) Books() <-chan Book { return f.out.books.ch }

// Aggregates delivers aggregates.
func (f *Feed) Aggregates() <-chan Aggregate { return f.out.aggregates.ch }

// Indices delivers index values.
func (f *Feed) Indices() <-chan Index { return f.out.indices.ch }

// Events delivers events.
func (f *Feed) Events() <-chan Event { return f.out.events.ch }

// Messages is the ordered stream, fed instead of the others when Ordered.
func (f *Feed) Messages() <-chan Message { return f.out.messages.ch }

// Next returns the next message of the ordered stream, as
// WebSocketClient.Next does.
func (f *Feed) Next(ctx context.Context) (Message, error) {
	if !f.out.ordered {
		return nil, ErrNotOrdered
	}
	return nextMessage(ctx, f.out.messages.ch, f.Err)
}

// All iterates over the ordered stream until the feed ends.
func (f *Feed) All() iter.Seq[Message] {
	if !f.out.ordered {
		return func(func(Message) bool) {}
	}
	return allMessages(f.out.messages.ch)
}

// Stats returns the channels' counters and Malformed; the connection
// counters are the owner's to fill.
func (f *Feed) Stats() Stats {
	st := Stats{Malformed: f.malformed.Load()}
	f.out.stats(&st)
	return st
}

// Done is closed when the feed has ended.
func (f *Feed) Done() <-chan struct{} { return f.done }

// Err is what End was given.
func (f *Feed) Err() error {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	return f.err
}
