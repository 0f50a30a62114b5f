package natsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// ClientOption configures a consumer. Zero selects a field's default.
type ClientOption struct {
	// Product is what the client subscribes to: Stock or FutOpt. A client
	// serves one product, as a WebSocket client does. Default Stock.
	Product string
	// Prefix and Stream must match the gateway's. Defaults "fugle" and
	// "FUGLE".
	Prefix, Stream string
	// Durable, when set, names a JetStream consumer that outlives the
	// process: a client started again with the same name resumes after the
	// last value the previous one delivered, without loss or duplicates
	// within the stream's retention, and subscribes again what that one
	// held. What is published while it is away reaches the stream while
	// the gateway holds its keys: for the lease after Close, or as long as
	// another consumer holds them. Default "": live, only what arrives
	// from Connect on.
	Durable string
	// RequestTimeout bounds the wait for a gateway's answer. Default 5 s.
	RequestTimeout time.Duration
	// FeedOption holds the delivery options (buffers, drop policy,
	// Ordered, Logger), with the WebSocket client's defaults.
	marketdata.FeedOption
}

// DefaultRequestTimeout is ClientOption.RequestTimeout's default.
const DefaultRequestTimeout = 5 * time.Second

// Client consumes the feed a Gateway publishes, and satisfies
// marketdata.Stream: Subscribe asks the gateway for the keys and binds the
// client's JetStream consumer to their subjects, and the frames are
// decoded by the SDK's decoder onto the same channels, under the same drop
// policy, as the WebSocket client's. Gap markers arrive as marketdata.Gap
// events in their place. Values carry Meta.Conn 0 (no connection of this
// client read them) and Meta.Received when the client took them from NATS.
//
// Backpressure is JetStream's: the client pulls only as fast as its
// consumer reads (or its drop policy discards), and a slow client never
// slows the gateway or another client.
type Client struct {
	*marketdata.Feed

	opt ClientOption
	nc  *nats.Conn
	js  jetstream.JetStream
	id  string
	log *slog.Logger

	mu        sync.Mutex
	keys      map[Key]bool
	lease     time.Duration
	leaseSet  chan struct{} // a reply changed lease: renew waits anew
	cons      jetstream.Consumer
	iter      jetstream.MessagesContext
	startSeq  uint64 // live: where the consumer began
	live      string // live: the consumer's name
	rebinds   int
	lastSeq   atomic.Uint64 // the stream sequence of the last message handled
	closing   atomic.Bool   // c.closed, for the reader
	connected bool
	closed    bool

	subjects map[string]Key // reader only: subject -> key
	stop     chan struct{}
	wg       sync.WaitGroup
}

var _ marketdata.Stream = (*Client)(nil)

// NewClient returns a consumer on nc, which it uses but never closes.
func NewClient(nc *nats.Conn, opt ClientOption) (*Client, error) {
	if nc == nil {
		return nil, errors.New("natsbus: NewClient needs a NATS connection")
	}
	if opt.Product == "" {
		opt.Product = Stock
	}
	if opt.Product != Stock && opt.Product != FutOpt {
		return nil, fmt.Errorf("%w: unknown product %q", ErrInvalidKey, opt.Product)
	}
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix
	}
	if opt.Stream == "" {
		opt.Stream = DefaultStream
	}
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = DefaultRequestTimeout
	}
	if opt.Durable != "" && strings.ContainsAny(opt.Durable, ".*> \t\r\n") {
		return nil, fmt.Errorf("natsbus: durable name %q", opt.Durable)
	}
	feed, err := marketdata.NewFeed(opt.FeedOption)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	c := &Client{
		Feed: feed, opt: opt, nc: nc, js: js, id: nuid.Next(), log: opt.Logger,
		keys: map[Key]bool{}, lease: DefaultLease, leaseSet: make(chan struct{}, 1),
		subjects: map[string]Key{}, stop: make(chan struct{}),
	}
	c.live = "live-" + c.id
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Connect checks that the gateway's stream exists and, for a durable
// client, resumes its consumer: the values it missed while away come
// first, and the keys it held are asked for again.
func (c *Client) Connect(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return marketdata.ErrClosed
	case c.connected:
		return nil
	}
	s, err := c.js.Stream(ctx, c.opt.Stream)
	if err != nil {
		return fmt.Errorf("natsbus: stream %s (is a gateway running?): %w", c.opt.Stream, err)
	}
	c.startSeq = s.CachedInfo().State.LastSeq + 1
	if c.opt.Durable != "" {
		if err := c.resumeLocked(ctx); err != nil {
			return err
		}
	}
	c.connected = true
	c.wg.Add(1)
	go c.renew()
	c.Emit(marketdata.Connected{URL: c.nc.ConnectedUrlRedacted()})
	return nil
}

// resumeLocked binds to an existing durable consumer and takes its keys
// over.
func (c *Client) resumeLocked(ctx context.Context) error {
	cons, err := c.js.Consumer(ctx, c.opt.Stream, c.opt.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("natsbus: consumer %s: %w", c.opt.Durable, err)
	}
	// Values the last run pulled but did not handle would come again only
	// after the ack wait, behind newer ones: start again right after the
	// last one it acknowledged.
	if info := cons.CachedInfo(); info.NumAckPending > 0 {
		if _, err := c.js.ResetConsumer(ctx, c.opt.Stream, c.opt.Durable); err != nil { // to the ack floor
			return fmt.Errorf("natsbus: consumer %s: resuming after stream sequence %d: %w", c.opt.Durable, info.AckFloor.Stream, err)
		}
	}
	var keys []Key
	for _, s := range cons.CachedInfo().Config.FilterSubjects {
		if k, ok := parseSubject(c.opt.Prefix, s); ok && k.Product == c.opt.Product {
			c.keys[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		if err := c.ask(ctx, subjSubscribe, keys); err != nil {
			c.log.Warn("resumed keys not renewed", "err", err)
		}
	}
	return c.bindLocked(ctx)
}

// Subscribe asks the gateway for the request's keys and binds the client's
// consumer to their subjects; it returns the gateway's refusal as a
// *GatewayError (matching ErrInvalidKey or marketdata.ErrPlanFull), and
// ErrNoGateway when none answered. The consumer is bound first, so the
// snapshot the gateway publishes on subscribing is not missed.
func (c *Client) Subscribe(ctx context.Context, req marketdata.SubscribeRequest) error {
	keys, err := keysOf(c.opt.Product, req)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usableLocked(); err != nil {
		return err
	}
	var fresh []Key
	for _, k := range keys {
		if !c.keys[k] {
			c.keys[k] = true
			fresh = append(fresh, k)
		}
	}
	if len(fresh) > 0 {
		if err := c.bindLocked(ctx); err != nil {
			c.forgetLocked(fresh)
			return err
		}
	}
	if err := c.ask(ctx, subjSubscribe, keys); err != nil {
		c.forgetLocked(fresh)
		if berr := c.bindLocked(context.Background()); berr != nil {
			c.log.Warn("consumer not narrowed after a refusal", "err", berr)
		}
		return err
	}
	return nil
}

// Unsubscribe releases the request's keys at the gateway (which
// unsubscribes at Fugle those no other consumer holds) and unbinds them.
func (c *Client) Unsubscribe(ctx context.Context, req marketdata.SubscribeRequest) error {
	keys, err := keysOf(c.opt.Product, req)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usableLocked(); err != nil {
		return err
	}
	c.forgetLocked(keys)
	if err := c.bindLocked(ctx); err != nil {
		return err
	}
	return c.ask(ctx, subjUnsubscribe, keys)
}

func (c *Client) usableLocked() error {
	switch {
	case c.closed:
		return marketdata.ErrClosed
	case !c.connected:
		return marketdata.ErrNotConnected
	}
	return nil
}

func (c *Client) forgetLocked(keys []Key) {
	for _, k := range keys {
		delete(c.keys, k)
	}
}

// Subscriptions lists the keys the client holds.
func (c *Client) Subscriptions() []marketdata.Subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]marketdata.Subscription, 0, len(c.keys))
	for k := range c.keys {
		out = append(out, k.Subscription())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// ask sends a control request and waits for the first gateway's answer.
func (c *Client) ask(ctx context.Context, what string, keys []Key) error {
	body, _ := json.Marshal(request{Consumer: c.id, Keys: toWire(keys)})
	ctx, cancel := context.WithTimeout(ctx, c.opt.RequestTimeout)
	defer cancel()
	m, err := c.nc.RequestWithContext(ctx, c.opt.Prefix+"."+what, body)
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %w", ErrNoGateway, err)
		}
		return err
	}
	var r reply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		return fmt.Errorf("natsbus: gateway reply: %w", err)
	}
	if lease := time.Duration(r.LeaseMS) * time.Millisecond; lease > 0 && lease != c.lease {
		c.lease = lease
		select {
		case c.leaseSet <- struct{}{}:
		default:
		}
	}
	if r.Error != nil {
		return &GatewayError{Gateway: r.Gateway, Code: r.Error.Code, Message: r.Error.Message}
	}
	return nil
}

// renew keeps the client's lease at every gateway, naming its whole set,
// so a gateway that restarted or joined later learns it.
func (c *Client) renew() {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		every := c.lease / 3
		c.mu.Unlock()
		select {
		case <-time.After(every):
		case <-c.leaseSet:
			// The wait began with another lease (the default, before the
			// first reply): a longer one would let the keys lapse.
			continue
		case <-c.stop:
			return
		}
		// The keys as they are now, sent under the lock that Unsubscribe
		// holds while it asks: a key released meanwhile, if named, would
		// be held again at the gateway.
		c.mu.Lock()
		if len(c.keys) > 0 {
			keys := make([]Key, 0, len(c.keys))
			for k := range c.keys {
				keys = append(keys, k)
			}
			body, _ := json.Marshal(request{Consumer: c.id, Keys: toWire(keys)})
			_ = c.nc.Publish(c.opt.Prefix+"."+subjRenew, body)
		}
		c.mu.Unlock()
	}
}

// noSubject never carries a frame: a consumer with no keys filters on it,
// since an empty filter would take the whole stream.
func (c *Client) noSubject() string { return c.opt.Prefix + "." + c.opt.Product + "._none" }

// bindLocked makes the JetStream consumer's filter the client's keys,
// creating the consumer and its reader the first time.
func (c *Client) bindLocked(ctx context.Context) error {
	subjects := make([]string, 0, len(c.keys))
	for k := range c.keys {
		subjects = append(subjects, k.Subject(c.opt.Prefix))
	}
	if len(subjects) == 0 {
		subjects = append(subjects, c.noSubject())
	}
	sort.Strings(subjects)
	cfg := c.consumerConfig(subjects)
	cons, err := c.js.CreateOrUpdateConsumer(ctx, c.opt.Stream, cfg)
	if err != nil {
		return fmt.Errorf("natsbus: consumer: %w", err)
	}
	c.cons = cons
	if c.iter == nil {
		return c.startLocked()
	}
	return nil
}

func (c *Client) consumerConfig(subjects []string) jetstream.ConsumerConfig {
	if c.opt.Durable != "" {
		return jetstream.ConsumerConfig{
			Durable: c.opt.Durable, FilterSubjects: subjects,
			DeliverPolicy: jetstream.DeliverNewPolicy, AckPolicy: jetstream.AckAllPolicy,
			MaxAckPending: -1,
		}
	}
	return jetstream.ConsumerConfig{
		Name: c.live, FilterSubjects: subjects,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: c.startSeq,
		AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: time.Minute,
		MemoryStorage: true,
	}
}

// pullHeartbeat is how often the server signals an idle pull: two missed
// in a row make the reader check that its consumer still exists.
const pullHeartbeat = 2 * time.Second

func (c *Client) startLocked() error {
	it, err := c.cons.Messages(jetstream.PullMaxMessages(1024), jetstream.PullHeartbeat(pullHeartbeat))
	if err != nil {
		return fmt.Errorf("natsbus: consumer: %w", err)
	}
	c.iter = it
	c.wg.Add(1)
	go c.read(it)
	return nil
}

// read hands every message of the consumer to the feed, in stream order.
func (c *Client) read(it jetstream.MessagesContext) {
	defer c.wg.Done()
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				if c.nc.IsClosed() && !c.isClosed() {
					c.End(fmt.Errorf("natsbus: NATS connection closed: %w", err))
				}
				return
			}
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
				errors.Is(err, jetstream.ErrNoHeartbeat) && c.consumerGone() {
				c.rebind(it)
				return
			}
			continue // missed heartbeats and the like: the iterator recovers
		}
		c.handle(m)
	}
}

// consumerGone says the server no longer has the client's consumer, or
// (live) has it only on a node that is down: neither sends a deletion
// notice, the pulls just go unanswered and the heartbeats stop. A server
// restarted without it (a live consumer is kept in memory) has none; in a
// cluster a live consumer has one replica, lost with its node.
func (c *Client) consumerGone() bool {
	c.mu.Lock()
	cons := c.cons
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), c.opt.RequestTimeout)
	defer cancel()
	go func() { // Close does not wait out the request
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := cons.Info(ctx)
	var api *jetstream.APIError
	return errors.Is(err, jetstream.ErrConsumerNotFound) ||
		c.opt.Durable == "" && errors.As(err, &api) && api.ErrorCode == errConsumerOffline
}

// errConsumerOffline is JetStream's code for a consumer whose replicas are
// all down.
const errConsumerOffline jetstream.ErrorCode = 10119

// isClosed is read by the reader on every value: an atomic, since c.mu is
// held across a Subscribe's round trips.
func (c *Client) isClosed() bool { return c.closing.Load() }

// rebind recreates a consumer the server lost (a restart without its
// state, an inactivity timeout), from the message after the last handled.
func (c *Client) rebind(old jetstream.MessagesContext) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.iter != old {
		return
	}
	old.Stop()
	c.iter = nil
	if last := c.lastSeq.Load(); last > 0 {
		c.startSeq = last + 1
	}
	if c.opt.Durable == "" {
		// The new consumer takes a new name: an offline one, back with its
		// node, would answer the pulls of a namesake too, from where it
		// began. The old one goes (a missing one is no error).
		ctx, cancel := context.WithTimeout(context.Background(), c.opt.RequestTimeout)
		_ = c.js.DeleteConsumer(ctx, c.opt.Stream, c.live)
		cancel()
		c.rebinds++
		c.live = "live-" + c.id + "-" + strconv.Itoa(c.rebinds)
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), c.opt.RequestTimeout)
		err := c.bindLocked(ctx)
		cancel()
		if err == nil {
			return
		}
		c.log.Warn("consumer lost; binding again", "err", err)
		c.mu.Unlock()
		select {
		case <-c.stop:
			c.mu.Lock()
			return
		case <-time.After(time.Second):
		}
		c.mu.Lock()
		if c.closed {
			return
		}
	}
}

func (c *Client) handle(m jetstream.Msg) {
	subject := m.Subject()
	k, ok := c.subjects[subject]
	if !ok {
		if k, ok = parseSubject(c.opt.Prefix, subject); ok {
			c.subjects[subject] = k
		}
	}
	if seq, ok := streamSeq(m.Reply()); ok {
		c.lastSeq.Store(seq)
	} else if md, err := m.Metadata(); err == nil {
		c.lastSeq.Store(md.Sequence.Stream)
	}
	switch {
	case !ok:
		_ = c.Deliver(m.Data(), marketdata.FrameInfo{Channel: "-", Symbol: "-"})
	case m.Headers().Get(headerMarker) != "":
		c.marker(k, m)
	default:
		_ = c.Deliver(m.Data(), marketdata.FrameInfo{Channel: k.Channel, Symbol: k.Symbol})
	}
	// A value Close cut off (dropped while Block waited) stays unacknowledged,
	// so the next run gets it.
	if c.opt.Durable != "" && !c.isClosed() {
		_ = m.Ack()
	}
}

// streamSeq reads the stream sequence from a JetStream ack subject, as
// Metadata does but without building the rest:
// $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.<pending>,
// or, from newer servers, with <domain>.<account hash> after $JS.ACK and
// one more token at the end (which may go: 11 tokens are enough).
func streamSeq(reply string) (uint64, bool) {
	rest, ok := strings.CutPrefix(reply, "$JS.ACK.")
	if !ok {
		return 0, false
	}
	skip := 3 // tokens before <sseq>
	switch n := strings.Count(rest, ".") + 1; {
	case n == 7:
	case n >= 9:
		skip = 5
	default:
		return 0, false
	}
	for range skip {
		_, rest, _ = strings.Cut(rest, ".")
	}
	tok, _, _ := strings.Cut(rest, ".")
	seq, err := strconv.ParseUint(tok, 10, 64)
	return seq, err == nil
}

func (c *Client) marker(k Key, m jetstream.Msg) {
	var body marker
	if err := json.Unmarshal(m.Data(), &body); err != nil {
		_ = c.Deliver(m.Data(), marketdata.FrameInfo{Channel: k.Channel, Symbol: k.Symbol})
		return
	}
	c.Send(marketdata.Gap{
		Source: body.Gateway, Subscription: k.Subscription(),
		Start: m.Headers().Get(headerMarker) == markerGapStart,
		Conn:  body.Conn, Code: body.Code, Reason: body.Reason,
		Downtime: time.Duration(body.DowntimeMS) * time.Millisecond,
	})
}

// Stats returns the feed's counters; Connections is 1 once connected.
func (c *Client) Stats() marketdata.Stats {
	st := c.Feed.Stats()
	c.mu.Lock()
	if c.connected {
		st.Connections = 1
	}
	c.mu.Unlock()
	return st
}

// Close stops the client's consumer and closes every channel. A live
// client releases its keys at the gateway and its consumer is deleted. A
// durable one keeps its place (every handled value acknowledged) and its
// keys until its lease lapses, so that values published while it is away
// reach the stream and a client resuming within the lease misses none; to
// give keys up for good, Unsubscribe them first.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.closing.Store(true)
	keys := make([]Key, 0, len(c.keys))
	for k := range c.keys {
		keys = append(keys, k)
	}
	it, connected := c.iter, c.connected
	c.iter = nil
	c.mu.Unlock()
	close(c.stop)
	if it != nil {
		it.Stop()
	}
	c.Feed.End(nil) // a read waiting under Block gives up
	c.wg.Wait()
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if connected && len(keys) > 0 && !c.nc.IsClosed() && c.opt.Durable == "" {
		if err := c.ask(ctx, subjUnsubscribe, keys); err != nil {
			errs = append(errs, err)
		}
	}
	if connected && !c.nc.IsClosed() {
		if c.opt.Durable == "" && c.cons != nil {
			_ = c.js.DeleteConsumer(ctx, c.opt.Stream, c.live)
		}
		errs = append(errs, c.nc.FlushWithContext(ctx)) // the acks reach the server
	}
	return errors.Join(errs...)
}
