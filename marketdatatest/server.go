package marketdatatest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// ErrServerClosed is returned by Restart and by the Wait methods once Close
// has been called.
var ErrServerClosed = errors.New("marketdatatest: server closed")

// ErrConnClosed is returned when sending to a connection that is gone or
// already closing.
var ErrConnClosed = errors.New("marketdatatest: connection closed")

// handshakeTimeout bounds the HTTP request and upgrade, so that a client
// that connects and sends nothing does not hold a goroutine for ever.
const handshakeTimeout = 10 * time.Second

// maxQueuedBytes is where an unread client stops being buffered for and is
// dropped as a slow consumer, as it would also be by the write timeout.
const maxQueuedBytes = 256 << 20

// endpoint is what a streaming path selects.
type endpoint struct {
	product string // "stock" or "futopt"
	version string // "v1.0" or "v1.1"
}

// paths are the streaming endpoints under the base URL, composed as the
// official SDKs do: <baseUrl>/<version>/<product>/streaming.
var paths = map[string]endpoint{
	"/marketdata/v1.0/stock/streaming":  {"stock", "v1.0"},
	"/marketdata/v1.0/futopt/streaming": {"futopt", "v1.0"},
	"/marketdata/v1.1/futopt/streaming": {"futopt", "v1.1"},
}

// Server is a mock Fugle MarketData streaming endpoint listening on a
// loopback address. It speaks the protocol (auth, heartbeats, ping, subscribe,
// unsubscribe), lets a test publish frames to subscribers, inject faults, and
// inspect what every client sent. All methods are safe for concurrent use.
type Server struct {
	cfg  config
	addr string

	lifeMu sync.Mutex // serializes Close, Stop and Restart

	mu              sync.Mutex
	ln              net.Listener
	acceptDone      chan struct{}
	closed          bool
	stopped         bool
	conns           []*Conn
	live            []*Conn
	pending         map[net.Conn]struct{}
	authenticated   int
	upgradeRequests int
	rejectStatus    int
	failAuth        failAuth
	dropAfterAuth   bool
	rejections      map[chanSym]rejection
	ignored         map[chanSym]bool

	silent      atomic.Bool
	ignoreClose atomic.Bool

	changedMu sync.Mutex
	changed   chan struct{}

	connWG   sync.WaitGroup
	quit     chan struct{}
	feed     *feed
	feedDone chan struct{}
	upgrader websocket.Upgrader

	rest *restState // the REST side: records of published data, knobs
}

type failAuth struct {
	code    int
	message string
	times   int
}

type chanSym struct{ channel, symbol string }

type rejection struct {
	code    int
	message string
}

// NewServer starts a server listening on 127.0.0.1 with a free port, or on
// the address given by WithAddr. Like httptest.NewServer it panics if it
// cannot listen. Call Close when done.
func NewServer(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		panic(fmt.Sprintf("marketdatatest: failed to listen on %s: %v", cfg.addr, err))
	}
	s := &Server{
		cfg:        cfg,
		addr:       ln.Addr().String(),
		pending:    map[net.Conn]struct{}{},
		rejections: map[chanSym]rejection{},
		ignored:    map[chanSym]bool{},
		changed:    make(chan struct{}),
		quit:       make(chan struct{}),
		rest:       newRESTState(cfg.restHistory),
		upgrader: websocket.Upgrader{
			HandshakeTimeout: handshakeTimeout,
			// Test clients and SDKs in other languages may send any Origin.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
	s.startAccepting(ln)
	if cfg.feedRate > 0 {
		s.feed = newFeed(cfg.feedSeed)
		s.feedDone = make(chan struct{})
		go s.runFeed()
	}
	return s
}

// Addr returns the listening address, host:port.
func (s *Server) Addr() string { return s.addr }

// URL returns the base URL, ws://127.0.0.1:PORT/marketdata, which is what
// the official SDKs take as their baseUrl option.
func (s *Server) URL() string { return "ws://" + s.addr + "/marketdata" }

// StockURL returns the stock streaming endpoint, URL()+"/v1.0/stock/streaming".
func (s *Server) StockURL() string { return s.URL() + "/v1.0/stock/streaming" }

// FutOptURL returns the futures and options v1.0 streaming endpoint.
func (s *Server) FutOptURL() string { return s.URL() + "/v1.0/futopt/streaming" }

// FutOptV11URL returns the futures and options v1.1 streaming endpoint, whose
// simulated feed adds trial-match frames.
func (s *Server) FutOptV11URL() string { return s.URL() + "/v1.1/futopt/streaming" }

func (s *Server) startAccepting(ln net.Listener) {
	done := make(chan struct{})
	s.mu.Lock()
	s.ln = ln
	s.acceptDone = done
	s.mu.Unlock()
	go s.acceptLoop(ln, done)
}

func (s *Server) acceptLoop(ln net.Listener, done chan struct{}) {
	defer close(done)
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off briefly
			// instead of spinning, but stay responsive to Close.
			select {
			case <-time.After(5 * time.Millisecond):
				continue
			case <-s.quit:
				return
			}
		}
		s.mu.Lock()
		if s.closed || s.stopped {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.pending[nc] = struct{}{}
		s.connWG.Add(1)
		s.mu.Unlock()
		go s.serveConn(nc)
	}
}

// serveConn reads one HTTP request, upgrades it, and then runs the
// connection's read loop on this goroutine.
func (s *Server) serveConn(nc net.Conn) {
	defer s.connWG.Done()
	handedOver := false
	defer func() {
		if !handedOver {
			s.mu.Lock()
			delete(s.pending, nc)
			s.mu.Unlock()
			nc.Close()
		}
	}()

	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	br := bufio.NewReaderSize(nc, 4096)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	ep, ok := paths[req.URL.Path]
	if !ok && isRESTPath(req.URL.Path) {
		s.serveREST(nc, br, req)
		return
	}
	if !ok {
		writeStatus(nc, http.StatusNotFound)
		return
	}
	s.mu.Lock()
	s.upgradeRequests++
	status := s.rejectStatus
	s.mu.Unlock()
	s.notify()
	if status != 0 {
		s.cfg.logf("marketdatatest: rejected handshake from %s with HTTP %d", nc.RemoteAddr(), status)
		writeStatus(nc, status)
		return
	}
	w := &hijackResponse{nc: nc, br: br, header: http.Header{}}
	ws, err := s.upgrader.Upgrade(w, req, nil)
	if err != nil {
		w.flush()
		return
	}

	s.mu.Lock()
	delete(s.pending, nc)
	if s.closed || s.stopped {
		s.mu.Unlock()
		ws.Close()
		handedOver = true
		return
	}
	c := newConn(s, len(s.conns)+1, ws, req.URL.Path, ep)
	s.conns = append(s.conns, c)
	s.live = append(s.live, c)
	s.connWG.Add(1)
	s.mu.Unlock()
	handedOver = true

	s.cfg.logf("marketdatatest: conn %d accepted from %s on %s", c.id, nc.RemoteAddr(), req.URL.Path)
	s.notify()
	go c.writeLoop()
	c.readLoop()
}

// removeLive forgets a finished connection.
func (s *Server) removeLive(c *Conn) {
	s.mu.Lock()
	for i, l := range s.live {
		if l == c {
			s.live = append(s.live[:i], s.live[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
}

func (s *Server) liveConns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Conn(nil), s.live...)
}

// Close sends every connection a close frame 1001 "server shutting down"
// (none while SetSilent is on), closes TCP after the client's reply or the
// close timeout, closes the listener, and returns once every goroutine the
// server started has returned. It is idempotent.
func (s *Server) Close() {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	ln, acceptDone := s.ln, s.acceptDone
	s.ln = nil
	pending := s.takePendingLocked()
	live := append([]*Conn(nil), s.live...)
	s.mu.Unlock()

	close(s.quit)
	if ln != nil {
		ln.Close()
		<-acceptDone
	}
	for _, nc := range pending {
		nc.Close()
	}
	var wg sync.WaitGroup
	for _, c := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.shutdown(websocket.CloseGoingAway, "server shutting down")
		}()
	}
	wg.Wait()
	s.connWG.Wait()
	if s.feedDone != nil {
		<-s.feedDone
	}
	s.notify()
}

func (s *Server) takePendingLocked() []net.Conn {
	out := make([]net.Conn, 0, len(s.pending))
	for nc := range s.pending {
		out = append(out, nc)
	}
	return out
}

// Stop closes the listener, so that dials are refused, and drops every
// connection without a close frame, as a crashed server would. It returns
// once those connections are gone. Restart listens again.
func (s *Server) Stop() {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	s.mu.Lock()
	if s.closed || s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	ln, acceptDone := s.ln, s.acceptDone
	s.ln = nil
	pending := s.takePendingLocked()
	live := append([]*Conn(nil), s.live...)
	s.mu.Unlock()

	ln.Close()
	<-acceptDone
	for _, nc := range pending {
		nc.Close()
	}
	for _, c := range live {
		c.Drop()
	}
	s.connWG.Wait()
	s.cfg.logf("marketdatatest: stopped")
	s.notify()
}

// Restart listens again on the same address after Stop, retrying for a
// moment if the port is still held. It does nothing if the server is
// running and returns ErrServerClosed after Close.
func (s *Server) Restart() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	s.mu.Lock()
	closed, stopped := s.closed, s.stopped
	s.mu.Unlock()
	if closed {
		return ErrServerClosed
	}
	if !stopped {
		return nil
	}
	var ln net.Listener
	var err error
	deadline := time.Now().Add(3 * time.Second)
	for {
		ln, err = net.Listen("tcp", s.addr)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return fmt.Errorf("marketdatatest: restart on %s: %w", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	s.stopped = false
	s.mu.Unlock()
	s.startAccepting(ln)
	s.cfg.logf("marketdatatest: restarted on %s", s.addr)
	s.notify()
	return nil
}

// Conns returns every connection accepted so far, live or not, in the order
// they were accepted.
func (s *Server) Conns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Conn(nil), s.conns...)
}

// LiveConns returns the connections that are still open, in accept order.
func (s *Server) LiveConns() []*Conn { return s.liveConns() }

// UpgradeRequests counts the requests for a streaming path received so far,
// including those refused by RejectHandshake. It lets a test count reconnect
// attempts that never became connections.
func (s *Server) UpgradeRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upgradeRequests
}

// AuthenticatedCount counts the connections that have authenticated so far.
func (s *Server) AuthenticatedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authenticated
}

// notify wakes every Wait so that it re-checks its condition.
func (s *Server) notify() {
	s.changedMu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.changedMu.Unlock()
}

func (s *Server) changedCh() <-chan struct{} {
	s.changedMu.Lock()
	defer s.changedMu.Unlock()
	return s.changed
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Wait blocks until cond returns true, re-evaluating it whenever the
// server's state changes (a connection, a client frame, an authentication, a
// subscription, a close). It returns ctx's error if ctx ends first and
// ErrServerClosed if the server closes with cond still false. cond runs
// without any server lock held, so it may call any Server or Conn method.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		ch := s.changedCh()
		if cond() {
			return nil
		}
		if s.isClosed() {
			return ErrServerClosed
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// WaitForConns waits until n connections have been accepted in total.
func (s *Server) WaitForConns(ctx context.Context, n int) error {
	err := s.Wait(ctx, func() bool { return len(s.Conns()) >= n })
	if err != nil {
		return fmt.Errorf("marketdatatest: waiting for %d connections, have %d: %w", n, len(s.Conns()), err)
	}
	return nil
}

// WaitForAuthenticated waits until n connections have authenticated in total.
func (s *Server) WaitForAuthenticated(ctx context.Context, n int) error {
	err := s.Wait(ctx, func() bool { return s.AuthenticatedCount() >= n })
	if err != nil {
		return fmt.Errorf("marketdatatest: waiting for %d authenticated connections, have %d: %w", n, s.AuthenticatedCount(), err)
	}
	return nil
}

// Subscribers counts the live connections subscribed to (channel, symbol),
// with any modifiers; an alias and its contract count as the same symbol.
func (s *Server) Subscribers(channel, symbol string) int {
	n := 0
	for _, c := range s.liveConns() {
		if c.subscribedTo(channel, symbol) {
			n++
		}
	}
	return n
}

// WaitForSubscribers waits until n live connections are subscribed to
// (channel, symbol), with any modifiers.
func (s *Server) WaitForSubscribers(ctx context.Context, channel, symbol string, n int) error {
	err := s.Wait(ctx, func() bool { return s.Subscribers(channel, symbol) >= n })
	if err != nil {
		return fmt.Errorf("marketdatatest: waiting for %d subscribers to %s %s, have %d: %w", n, channel, symbol, s.Subscribers(channel, symbol), err)
	}
	return nil
}

// canonical resolves an alias to its contract.
func (s *Server) canonical(symbol string) string {
	if c, ok := s.cfg.aliases[symbol]; ok {
		return c
	}
	return symbol
}

// Publish sends {"event":"data","data":payload,"id":ID,"channel":channel} to
// every live connection subscribed to (channel, symbol), with any modifiers,
// where ID is that connection's subscription id. A connection holding several
// matching subscriptions with different ids (say a round-lot and an odd-lot
// one) gets one frame per id. payload must be a JSON object and is inserted
// verbatim. Frames to one connection keep the order of the calls and are
// never dropped; a client that stops reading is disconnected after the write
// timeout instead of blocking Publish. It returns the number of connections
// the frame was queued for, which is 0 while SetSilent is on.
func (s *Server) Publish(channel, symbol string, payload []byte) int {
	return s.publish("data", channel, symbol, payload)
}

// PublishSnapshot is Publish with event "snapshot".
func (s *Server) PublishSnapshot(channel, symbol string, payload []byte) int {
	return s.publish("snapshot", channel, symbol, payload)
}

func (s *Server) publish(event, channel, symbol string, payload []byte) int {
	canon := s.canonical(symbol)
	if recorded(channel) {
		s.rest.record(channel, canon, append([]byte(nil), payload...), false)
	}
	if s.silent.Load() {
		return 0
	}
	n := 0
	var cache map[string][]byte // ids are per connection, but often repeat across publishes to one
	for _, c := range s.liveConns() {
		sent := false
		c.mu.Lock()
		for i, sub := range c.subs {
			if sub.Channel != channel || s.canonical(sub.Symbol) != canon || seenID(c.subs[:i], sub.ID) {
				continue
			}
			frame, ok := cache[sub.ID]
			if !ok {
				frame = envelope(event, channel, sub.ID, payload)
				if cache == nil {
					cache = map[string][]byte{}
				}
				cache[sub.ID] = frame
			}
			if c.enqueueLocked(item{kind: itemText, data: frame}) {
				sent = true
			}
		}
		c.mu.Unlock()
		if sent {
			c.wakeWriter()
			n++
		}
	}
	return n
}

// PublishRaw is the fast path for load tests: it queues frame verbatim, with
// no envelope, to every live connection subscribed to (channel, symbol), once
// per connection. The caller builds the frame (see DataFrame) with the id it
// read from Conn.Subscriptions and must not modify it afterwards.
func (s *Server) PublishRaw(channel, symbol string, frame []byte) int {
	canon := s.canonical(symbol)
	s.rest.record(channel, canon, frame, true)
	if s.silent.Load() {
		return 0
	}
	n := 0
	for _, c := range s.liveConns() {
		sent := false
		c.mu.Lock()
		for _, sub := range c.subs {
			if sub.Channel == channel && s.canonical(sub.Symbol) == canon {
				sent = c.enqueueLocked(item{kind: itemText, data: frame})
				break
			}
		}
		c.mu.Unlock()
		if sent {
			c.wakeWriter()
			n++
		}
	}
	return n
}

func seenID(subs []Subscription, id string) bool {
	for _, s := range subs {
		if s.ID == id {
			return true
		}
	}
	return false
}

// SendAll queues a raw text frame, valid JSON or not, to every live
// connection, authenticated or not, and returns how many got it. Unlike
// Publish it is delivered even while SetSilent is on.
func (s *Server) SendAll(raw []byte) int {
	return s.sendAll(itemText, raw)
}

// SendAllBinary queues a binary frame, which the protocol never uses, to
// every live connection.
func (s *Server) SendAllBinary(raw []byte) int {
	return s.sendAll(itemBinary, raw)
}

func (s *Server) sendAll(kind itemKind, raw []byte) int {
	n := 0
	for _, c := range s.liveConns() {
		if c.enqueue(item{kind: kind, data: raw}, false) {
			n++
		}
	}
	return n
}

// DropAll closes every live connection's TCP at once, without a close frame.
// It does not wait; Conn.Done reports when each is gone.
func (s *Server) DropAll() {
	for _, c := range s.liveConns() {
		c.Drop()
	}
}

// CloseAll queues a close frame with code and reason to every live
// connection, after whatever is already queued, and closes TCP once the
// client replies or the close timeout passes. It is delivered even while
// SetSilent is on, and does not wait; Conn.Done reports when each is gone.
func (s *Server) CloseAll(code int, reason string) {
	for _, c := range s.liveConns() {
		_ = c.Close(code, reason)
	}
}

// SetSilent turns silence on or off. While silent, the server sends nothing
// of its own accord: no heartbeats, replies, pongs, acks, Publish or feed
// data (these are discarded, not delayed), and it does not answer close
// frames. It keeps TCP open and still reads and records client frames. What
// a test sends explicitly (Conn.Send, SendError, Close, SendAll, CloseAll) is
// still delivered.
func (s *Server) SetSilent(on bool) {
	s.silent.Store(on)
}

// SetIgnoreClose makes the server record client close frames without
// answering them, and keep TCP open until the client closes it.
func (s *Server) SetIgnoreClose(on bool) {
	s.ignoreClose.Store(on)
}

// RejectHandshake answers future upgrade requests with this HTTP status
// (such as 401, 403 or 503) instead of upgrading; 0 restores upgrading.
func (s *Server) RejectHandshake(status int) {
	s.mu.Lock()
	s.rejectStatus = status
	s.mu.Unlock()
}

// FailAuth makes the next times auth attempts, on any connection, get an
// error frame with code and message followed by a close 1011 with message as
// reason, whatever the credential; later attempts are checked as usual. Use
// it, for example, with CodeAuthUnavailable "Authentication service
// unavailable".
func (s *Server) FailAuth(code int, message string, times int) {
	s.mu.Lock()
	s.failAuth = failAuth{code: code, message: message, times: times}
	s.mu.Unlock()
}

func (s *Server) takeFailAuth() (failAuth, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAuth.times <= 0 {
		return failAuth{}, false
	}
	s.failAuth.times--
	return s.failAuth, true
}

// DropAfterAuth, while on, authenticates every connection and then drops its
// TCP at once without a close frame, as a flapping server would.
func (s *Server) DropAfterAuth(on bool) {
	s.mu.Lock()
	s.dropAfterAuth = on
	s.mu.Unlock()
}

// RejectSymbol makes subscribe requests naming symbol on channel fail with
// an error frame with code and message; an empty channel matches every
// channel. A request with "symbols" that names it fails whole and subscribes
// none of its symbols. A code of 0 removes the rejection.
func (s *Server) RejectSymbol(channel, symbol string, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := chanSym{channel, symbol}
	if code == 0 {
		delete(s.rejections, k)
		return
	}
	s.rejections[k] = rejection{code: code, message: message}
}

func (s *Server) rejection(channel, symbol string) (rejection, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.rejections[chanSym{channel, symbol}]; ok {
		return r, true
	}
	r, ok := s.rejections[chanSym{"", symbol}]
	return r, ok
}

// IgnoreSymbol, while on, makes subscribe requests naming symbol on channel
// succeed without it: the symbol is not subscribed and the ack leaves it
// out (an empty array when it was the only one), as a server that silently
// ignores part of a request would.
func (s *Server) IgnoreSymbol(channel, symbol string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.ignored[chanSym{channel, symbol}] = true
	} else {
		delete(s.ignored, chanSym{channel, symbol})
	}
}

func (s *Server) isIgnored(channel, symbol string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ignored[chanSym{channel, symbol}]
}

// SubscriptionCount is the number of subscriptions over every live
// connection.
func (s *Server) SubscriptionCount() int {
	n := 0
	for _, c := range s.liveConns() {
		c.mu.Lock()
		n += len(c.subs)
		c.mu.Unlock()
	}
	return n
}

// Backlog is the most bytes queued for one live connection and not yet
// handed to its socket: how far the slowest client is behind. A publisher
// that must not lose frames waits while it is large.
func (s *Server) Backlog() int {
	most := 0
	for _, c := range s.liveConns() {
		c.mu.Lock()
		most = max(most, c.queuedBytes)
		c.mu.Unlock()
	}
	return most
}

// DropAllAfterQueued drops every live connection once what was queued for
// it has been written (see Conn.DropAfterQueued).
func (s *Server) DropAllAfterQueued() {
	for _, c := range s.liveConns() {
		_ = c.DropAfterQueued()
	}
}
