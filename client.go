package marketdata

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-fugle/marketdata/messages"
	"github.com/gorilla/websocket"
)

// Aliases for the payload types delivered on the typed channels, so that a
// user rarely needs to import messages.
type (
	Trade     = messages.Trade
	Candle    = messages.Candle
	Book      = messages.Book
	Aggregate = messages.Aggregate
	Index     = messages.Index
)

// State is where a client is in its life.
type State int32

// The states of a client.
const (
	StateIdle         State = iota // built, never connected
	StateConnecting                // Connect in progress
	StateConnected                 // authenticated
	StateReconnecting              // connection lost, retrying
	StateClosed                    // closed by Close or ended by a final error
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// WebSocketClient is a streaming client. It keeps one connection at a time,
// reconnects on its own, restores subscriptions, and delivers market data on
// typed channels and everything else on Events. Its methods are safe for
// concurrent use.
type WebSocketClient struct {
	opt    WebSocketClientOption // holds no credential
	cred   credential
	dialer *websocket.Dialer

	*outlets                // the client's own, or a pool's shared by its connections
	shared   bool           // the outlets belong to a pool, which closes them
	seqs     *atomic.Uint64 // connection numbers, unique across a pool
	// onLink, set by a pool before Connect, hears when the connection goes
	// live (true) and when it is lost with a reconnect to follow (false).
	onLink func(up bool)
	// limitBackoff waits the longest interval after the server's
	// connection limit: another process holds the slot.
	limitBackoff bool

	closeCtx    context.Context // cancelled when Close begins
	closeCancel context.CancelFunc
	done        chan struct{}
	endOnce     sync.Once
	wg          sync.WaitGroup // Connect in flight, the supervisor, every reader and writer
	wake        chan struct{}  // the wanted set changed

	mu          sync.Mutex
	state       State
	closed      bool     // Close was called
	ended       bool     // channels closed, nothing will run again
	err         error    // why the client ended
	closeResult error    // the outcome of Close's handshake
	sess        *session // the authenticated connection, if any
	subs        registry
	gaps        gaps // what each backfilled key saw around a gap; only with opt.Backfill

	pingSeq     atomic.Uint64
	malformed   atomic.Uint64
	connections atomic.Uint64
	reconnects  atomic.Uint64
}

// NewWebSocketClient builds a client from option, filling defaults. It
// returns an error wrapping ErrInvalidOption for no credential, more than
// one credential, or an endpoint that is not ws:// or wss://. Nothing is
// dialled until Connect.
func NewWebSocketClient(option WebSocketClientOption) (*WebSocketClient, error) {
	opt, cred, err := option.withDefaults()
	if err != nil {
		return nil, err
	}
	return newWebSocketClient(opt, cred, nil, nil), nil
}

// newWebSocketClient builds a client from a validated option. A pool passes
// its shared outlets and connection counter; a lone client makes its own.
func newWebSocketClient(opt WebSocketClientOption, cred credential, out *outlets, seqs *atomic.Uint64) *WebSocketClient {
	c := &WebSocketClient{
		opt:  opt,
		cred: cred,
		dialer: &websocket.Dialer{
			Proxy:            http.ProxyFromEnvironment,
			HandshakeTimeout: opt.HandshakeTimeout,
			TLSClientConfig:  opt.TLSConfig,
			NetDialContext:   guardedDial(opt.NetDialContext),
			ReadBufferSize:   16 << 10,
			WriteBufferSize:  4 << 10,
		},
		done: make(chan struct{}),
		wake: make(chan struct{}, 1),
		subs: registry{wanted: map[subKey]*entry{}, stale: map[string][]*waiter{}},
		gaps: gaps{keys: map[gapKey]*gapState{}},
	}
	c.closeCtx, c.closeCancel = context.WithCancel(context.Background())
	c.outlets, c.seqs, c.shared = out, seqs, out != nil
	if out == nil {
		c.outlets, c.seqs = newOutlets(opt, c.closeCtx.Done()), new(atomic.Uint64)
	}
	return c
}

// Trades delivers trades (stock and futures/options share one type). It is
// closed, like every channel of the client, when the client ends.
func (c *WebSocketClient) Trades() <-chan Trade { return c.trades.ch }

// Candles delivers candles.
func (c *WebSocketClient) Candles() <-chan Candle { return c.candles.ch }

// Books delivers order books.
func (c *WebSocketClient) Books() <-chan Book { return c.books.ch }

// Aggregates delivers aggregates (running quotes).
func (c *WebSocketClient) Aggregates() <-chan Aggregate { return c.aggregates.ch }

// Indices delivers index values.
func (c *WebSocketClient) Indices() <-chan Index { return c.indices.ch }

// Events delivers everything that is not market data: lifecycle changes,
// heartbeats, server errors, undecodable frames and unknown events.
func (c *WebSocketClient) Events() <-chan Event { return c.events.ch }

// State reports the client's current state.
func (c *WebSocketClient) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Done is closed when the client has ended, by Close or by a final error:
// every channel is closed, the connection is gone, and no goroutine of the
// client will deliver or send anything again. (Close, in addition, returns
// only after every goroutine of the client has returned.)
func (c *WebSocketClient) Done() <-chan struct{} { return c.done }

// Err reports why the client ended: nil while it runs and after Close,
// otherwise the final error (ErrUnauthorized, ErrReconnectExhausted, or the
// connection's error when reconnecting is off).
func (c *WebSocketClient) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Stats returns the client's counters.
func (c *WebSocketClient) Stats() Stats {
	st := Stats{
		Malformed:   c.malformed.Load(),
		Connections: c.connections.Load(),
		Reconnects:  c.reconnects.Load(),
		Duplicates:  c.gaps.duplicates(),
	}
	c.outlets.stats(&st)
	return st
}

// Connect dials the endpoint and authenticates, returning only once the
// server has said "authenticated". A rejected credential returns an error
// matching ErrUnauthorized; any error frame is a *ServerError. By default
// Connect makes one attempt; with RetryConnect it retries retryable failures
// under the reconnect policy until ctx ends, announcing each attempt on
// Events as Reconnecting. Either way a final failure (a rejected credential,
// HTTP 401/403, an untrusted certificate) returns at once.
//
// Connect returns promptly when ctx ends, at any stage of the dial, TLS
// handshake, upgrade or authentication, with an error for which
// errors.Is(err, ctx.Err()) holds; Close interrupts it the same way, and
// Connect then returns ErrClosed. Calling it on a connected or connecting
// client returns ErrAlreadyConnected and opens nothing.
func (c *WebSocketClient) Connect(ctx context.Context) error {
	c.mu.Lock()
	if err := c.usable(); err != nil {
		c.mu.Unlock()
		return err
	}
	if c.state != StateIdle {
		c.mu.Unlock()
		return ErrAlreadyConnected
	}
	c.state = StateConnecting
	c.wg.Add(1)
	c.mu.Unlock()
	defer c.wg.Done()

	s, err := c.dial(ctx)
	if err != nil && c.opt.RetryConnect && retryable(err) && ctx.Err() == nil {
		s, _, err = c.redial(ctx, c.newBackOff(), err)
	}
	if err != nil {
		c.mu.Lock()
		if !c.closed {
			c.state = StateIdle
		}
		c.mu.Unlock()
		return err
	}
	if !c.adopt(s) {
		return ErrClosed
	}
	c.mu.Lock()
	c.wg.Add(1) // before Connect's own Done, so Close cannot miss it
	c.mu.Unlock()
	go c.supervise(s)
	return nil
}

// adopt makes s the live connection, unless Close has begun: then it
// closes s in order and reports false.
func (c *WebSocketClient) adopt(s *session) bool {
	c.mu.Lock()
	if !c.closed {
		c.sess = s
		c.state = StateConnected
		c.connections.Add(1)
		c.mu.Unlock()
		if c.onLink != nil {
			c.onLink(true)
		}
		return true
	}
	c.mu.Unlock()
	result := s.shutdown()
	c.mu.Lock()
	c.closeResult = result
	c.mu.Unlock()
	s.tapClosed(websocket.CloseNormalClosure, "")
	c.emit(Disconnected{Conn: s.seq, Code: websocket.CloseNormalClosure, Uptime: time.Since(s.authedAt)})
	return false
}

// usable reports whether the client can still be used. Called with c.mu held.
func (c *WebSocketClient) usable() error {
	switch {
	case c.closed:
		return ErrClosed
	case c.ended && c.err != nil:
		return fmt.Errorf("%w: %w", ErrClosed, c.err)
	case c.ended:
		return ErrClosed
	}
	return nil
}

// link is what the client's sessions may use of it.
func (c *WebSocketClient) link() link {
	return link{opt: &c.opt, out: c.outlets, malformed: &c.malformed, gaps: &c.gaps, wg: &c.wg, stop: c.closeCtx.Done()}
}

// liveSeqLocked is the live connection's number, 0 when there is none.
// Called with c.mu held.
func (c *WebSocketClient) liveSeqLocked() uint64 {
	if c.sess == nil {
		return 0
	}
	return c.sess.seq
}

func (c *WebSocketClient) liveSession() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

func (c *WebSocketClient) wakeSupervisor() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Close ends the client in order: close frame 1000, read and discard until
// the peer's close frame or CloseTimeout, TCP close, every goroutine
// returned, every channel closed. It returns nil when the handshake
// completed (or there was no connection), ErrCloseTimeout when the peer
// never answered. It is idempotent, safe from any goroutine, interrupts a
// Connect or a reconnect in progress, and returns even when nobody reads
// the channels. Close itself is never reported as an error event.
func (c *WebSocketClient) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.closeCancel()
	}
	c.mu.Unlock()
	c.wg.Wait()
	c.end(nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeResult
}

// end closes the client for good: wakes every waiter, closes every channel
// exactly once. Callers guarantee no sender is left.
func (c *WebSocketClient) end(err error) {
	c.endOnce.Do(func() {
		c.mu.Lock()
		c.ended = true
		c.err = err
		c.state = StateClosed
		c.sess = nil
		waitErr := err
		if waitErr == nil {
			waitErr = ErrClosed
		}
		c.subs.end(waitErr)
		c.mu.Unlock()
		if !c.shared {
			c.outlets.close() // no sender is left
		}
		c.closeCancel()
		close(c.done)
	})
}

// supervise owns the live connection: it reconciles subscriptions, watches
// liveness, and on loss reconnects until told to stop.
func (c *WebSocketClient) supervise(s *session) {
	defer c.wg.Done()
	b := c.newBackOff()
	restoring := false
	for {
		cause := c.serve(s, restoring)
		uptime := time.Since(s.authedAt)
		if c.closeCtx.Err() != nil {
			result := s.shutdown()
			c.mu.Lock()
			c.closeResult = result
			c.mu.Unlock()
			c.lost(s, Disconnected{Conn: s.seq, Code: websocket.CloseNormalClosure, Uptime: uptime})
			c.end(nil)
			return
		}
		if errors.Is(cause, ErrUnauthorized) {
			_ = s.shutdown()
		} else {
			s.teardown()
		}
		if uptime >= c.opt.StableAfter {
			b.Reset()
		}
		retry := !c.opt.DisableReconnect && retryable(cause)
		d := Disconnected{Conn: s.seq, Code: websocket.CloseAbnormalClosure, Err: cause, WillReconnect: retry, Uptime: uptime}
		var ce *CloseError
		if errors.As(cause, &ce) {
			d.Code, d.Reason = ce.Code, ce.Reason
		}
		c.lost(s, d)
		if !retry {
			c.end(cause)
			return
		}
		if s = c.reconnect(b, cause); s == nil {
			return
		}
		restoring = true
	}
}

// lost records that s is gone and reports it.
func (c *WebSocketClient) lost(s *session, d Disconnected) {
	c.mu.Lock()
	if c.sess == s {
		c.sess = nil
	}
	if d.WillReconnect {
		c.state = StateReconnecting
	}
	var active []Subscription
	if c.opt.Backfill != nil && d.WillReconnect {
		active = c.subs.active(s.seq)
	}
	c.subs.connectionLost(s.seq)
	c.mu.Unlock()
	if c.opt.Backfill != nil && d.WillReconnect {
		c.gaps.lost(c.opt.BackfillHold, active)
	}
	if c.onLink != nil && d.WillReconnect {
		c.onLink(false)
	}
	s.tapClosed(d.Code, d.Reason)
	c.emit(d)
}

// serve runs one authenticated connection until it ends or Close begins,
// keeping at most one subscription request in flight so that every ack and
// error frame is matched to its request. It returns why the connection
// ended. After a reconnect (restoring), it reports Resubscribed once the
// wanted set has been sent again and answered.
func (c *WebSocketClient) serve(s *session, restoring bool) error {
	var inflight *request
	var failed []SubscriptionFailure
	var unconfirmed []Subscription
	// A backfill lives as long as the connection that restored its keys,
	// and the connection's end waits for it, so that the next gap starts
	// from what was really delivered.
	healCtx, endHeal := context.WithCancel(c.closeCtx)
	var healed chan struct{}
	defer func() {
		endHeal()
		if healed != nil {
			<-healed
		}
	}()
	ackTimer := time.NewTimer(time.Hour)
	ackTimer.Stop()
	defer ackTimer.Stop()
	var probe <-chan time.Time
	if c.opt.PingInterval > 0 {
		t := time.NewTicker(c.opt.PingInterval / 2)
		defer t.Stop()
		probe = t.C
	}
	probeOut := false
	var probeAt time.Time
	// An ack's patience excludes the time the reader spent waiting on
	// consumers (Block): the answer may sit unread behind their values.
	var sentAt time.Time
	var waitAtSend time.Duration
	for {
		if inflight == nil {
			c.mu.Lock()
			inflight = c.subs.nextRequest(s.seq, maxSymbolsPerSend)
			var restored, inOrder []Subscription
			if inflight == nil && restoring {
				restored = c.subs.active(s.seq)
				inOrder = c.subs.activeInOrder(s.seq)
			}
			c.mu.Unlock()
			if inflight != nil {
				if err := s.send(inflight.frame); err != nil {
					return s.sendFailed(err)
				}
				sentAt = time.Now()
				waitAtSend, _ = s.consumerTime()
				ackTimer.Reset(c.opt.AckTimeout)
			} else if restoring {
				restoring = false
				c.emit(Resubscribed{Conn: s.seq, Restored: restored, Failed: failed, Unconfirmed: unconfirmed})
				if c.opt.Backfill != nil {
					healed = make(chan struct{})
					c.wg.Add(1)
					go c.backfill(healCtx, s.seq, inOrder, healed)
				}
			}
		}
		select {
		case <-c.closeCtx.Done():
			return ErrClosed
		case <-s.readerDone:
			if ctl, ok := s.pendingError(); ok && errors.Is(ctl.err, ErrUnauthorized) {
				return ctl.err
			}
			return s.cause()
		case <-c.wake:
		case <-ackTimer.C:
			spent, busy := s.consumerTime()
			left := c.opt.AckTimeout - (time.Since(sentAt) - (spent - waitAtSend))
			if busy {
				left = max(left, c.opt.AckTimeout/8)
			}
			if left <= 0 {
				return ErrAckTimeout
			}
			ackTimer.Reset(left)
		case <-probe:
			idle := time.Since(time.Unix(0, s.lastRead.Load()))
			if _, busy := s.consumerTime(); busy {
				idle, probeOut = 0, false
			}
			switch {
			case idle < c.opt.PingInterval:
				probeOut = false
			case !probeOut:
				probeOut, probeAt = true, time.Now()
				if err := s.send(pingFrame(`"probe"`)); err != nil {
					return s.sendFailed(err)
				}
			case time.Since(probeAt) >= c.opt.PingInterval:
				// Writes to a half-open link succeed; only the missing
				// answer shows it is dead.
				return &CloseError{Code: websocket.CloseAbnormalClosure, Err: ErrStaleConnection}
			}
		case ctl := <-s.control:
			switch ctl.kind {
			case messages.KindError:
				if errors.Is(ctl.err, ErrUnauthorized) {
					return ctl.err
				}
				if inflight == nil || !answersRequest(ctl.err) {
					c.emit(ErrorEvent{Conn: s.seq, Err: ctl.err})
					continue
				}
				c.mu.Lock()
				f, _ := c.subs.apply(s.seq, inflight, nil, ctl.err)
				failed = append(failed, f...)
				c.mu.Unlock()
				c.logRefused(s.seq, f, nil)
				inflight = nil
				ackTimer.Stop()
			case messages.KindSubscribed, messages.KindUnsubscribed:
				if inflight == nil || inflight.unsubscribe != (ctl.kind == messages.KindUnsubscribed) {
					late := ctl.kind == messages.KindSubscribed
					c.mu.Lock()
					for _, a := range ctl.acks {
						late = c.subs.lateAck(s.seq, a) && late
					}
					c.mu.Unlock()
					if !late || len(ctl.acks) == 0 {
						c.emit(Unknown{Conn: s.seq, Event: ctl.kind.String()})
					}
					continue
				}
				c.mu.Lock()
				_, u := c.subs.apply(s.seq, inflight, ctl.acks, nil)
				unconfirmed = append(unconfirmed, u...)
				c.mu.Unlock()
				c.logRefused(s.seq, nil, u)
				inflight = nil
				ackTimer.Stop()
			}
		}
	}
}

// Ping sends a JSON ping and returns the round-trip time to its pong.
// The server counts every pong as an action, so ping sparingly.
func (c *WebSocketClient) Ping(ctx context.Context) (time.Duration, error) {
	s := c.liveSession()
	if s == nil {
		return 0, ErrNotConnected
	}
	start := time.Now()
	done, forget, err := s.ping(fmt.Sprintf("ping-%d", c.pingSeq.Add(1)))
	if err != nil {
		return 0, err
	}
	defer forget()
	select {
	case <-done:
		return time.Since(start), nil
	case <-s.readerDone:
		return 0, ErrNotConnected
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
