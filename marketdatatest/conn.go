package marketdatatest

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Subscription is one (channel, symbol, modifiers) entry held by a
// connection, with the id the server gave it.
type Subscription struct {
	ID             string
	Channel        string
	Symbol         string
	IntradayOddLot bool
	AfterHours     bool
}

// CloseInfo tells how a connection ended. It is final once Conn.Done is
// closed.
type CloseInfo struct {
	// ClientSentClose reports that the client sent a close frame;
	// ClientCode and ClientReason are its contents (1005 for an empty
	// frame, 0 if none was sent).
	ClientSentClose bool
	ClientCode      int
	ClientReason    string
	// ServerSentClose reports that the server sent a close frame, with
	// ServerCode and ServerReason (1005 for an empty frame).
	ServerSentClose bool
	ServerCode      int
	ServerReason    string
	// HandshakeCompleted reports that both sides sent a close frame before
	// TCP closed, whichever side started.
	HandshakeCompleted bool
	// Abrupt reports that TCP ended without any close frame from the client.
	Abrupt bool
	// ServerInitiated reports that the server started the end: a close
	// frame, a fault such as DropAll or Stop, or a slow-consumer drop.
	ServerInitiated bool
	// SlowConsumer reports that the server dropped the client because a
	// write timed out or too much was queued for it.
	SlowConsumer bool
}

// Conn is one WebSocket connection accepted by the Server. Its methods are
// safe for concurrent use and keep working after the connection has ended.
type Conn struct {
	srv  *Server
	id   int
	ws   *websocket.Conn
	path string
	ep   endpoint

	wake         chan struct{} // cap 1: there is something in queue
	quit         chan struct{} // the reader has finished: the writer must stop
	writerDone   chan struct{}
	done         chan struct{}
	clientClosed chan struct{} // the client's close frame has arrived
	clientOnce   sync.Once
	tcpOnce      sync.Once

	mu            sync.Mutex
	queue         []item
	queuedBytes   int
	writerGone    bool
	frames        [][]byte
	subs          []Subscription
	ids           map[idKey]string
	authenticated bool
	closeSent     bool
	keepOpen      bool
	info          CloseInfo
}

// idKey is what shares a subscription id: the alias and its contract map to
// the same key.
type idKey struct {
	channel, canonical string
	oddLot, afterHours bool
}

type itemKind int

const (
	itemText itemKind = iota
	itemBinary
	itemClose
	itemDrop
	itemStartHeartbeat
)

// item is one entry of a connection's outbound queue. Control actions travel
// in the same queue as frames so that they happen after what was queued
// before them.
type item struct {
	kind   itemKind
	data   []byte
	code   int
	reason string
}

func newConn(s *Server, id int, ws *websocket.Conn, path string, ep endpoint) *Conn {
	return &Conn{
		srv:          s,
		id:           id,
		ws:           ws,
		path:         path,
		ep:           ep,
		wake:         make(chan struct{}, 1),
		quit:         make(chan struct{}),
		writerDone:   make(chan struct{}),
		done:         make(chan struct{}),
		clientClosed: make(chan struct{}),
		ids:          map[idKey]string{},
	}
}

// ID returns the connection's number, 1 for the first one accepted.
func (c *Conn) ID() int { return c.id }

// Path returns the request path, such as /marketdata/v1.0/stock/streaming.
func (c *Conn) Path() string { return c.path }

// Done returns a channel closed once the connection is gone and its
// CloseInfo final.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Frames returns copies of every frame the client sent, in order, auth
// included.
func (c *Conn) Frames() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([][]byte, len(c.frames))
	for i, f := range c.frames {
		out[i] = append([]byte(nil), f...)
	}
	return out
}

// Subscriptions returns the connection's current subscriptions in the order
// they were made.
func (c *Conn) Subscriptions() []Subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Subscription(nil), c.subs...)
}

// Authenticated reports whether the client has authenticated.
func (c *Conn) Authenticated() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.authenticated
}

// CloseInfo returns how the connection ended, or what is known so far while
// it is open.
func (c *Conn) CloseInfo() CloseInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info
}

// Send queues a text frame, valid JSON or not, after everything already
// queued. It is delivered even while the server is silent.
func (c *Conn) Send(raw []byte) error {
	return c.sendItem(item{kind: itemText, data: raw})
}

// SendBinary queues a binary frame, which the protocol never uses.
func (c *Conn) SendBinary(raw []byte) error {
	return c.sendItem(item{kind: itemBinary, data: raw})
}

// SendError queues an error frame in the server's error shape.
func (c *Conn) SendError(code int, message string) error {
	return c.Send(ErrorFrame(c.srv.cfg.errorShape, code, message))
}

// Close queues a close frame with code and reason after everything already
// queued; TCP closes once the client replies or the close timeout passes.
// It does not wait: use Done.
func (c *Conn) Close(code int, reason string) error {
	return c.sendItem(item{kind: itemClose, code: code, reason: reason})
}

// RejectCredentials revokes the session as the service does for a bad
// credential: error 1000 "Invalid authentication credentials", then close
// 1008.
func (c *Conn) RejectCredentials() error {
	if err := c.SendError(CodeInvalidCredentials, MessageInvalidCredentials); err != nil {
		return err
	}
	return c.Close(websocket.ClosePolicyViolation, MessageInvalidCredentials)
}

// DropAfterQueued drops the TCP connection, without a close frame, once
// everything queued for it before has been written: the client reads those
// frames, then finds the connection gone.
func (c *Conn) DropAfterQueued() error {
	return c.sendItem(item{kind: itemDrop})
}

// Drop closes the connection's TCP at once, without a close frame.
func (c *Conn) Drop() {
	select {
	case <-c.done:
		return
	default:
	}
	c.mu.Lock()
	if !c.info.ClientSentClose {
		c.info.ServerInitiated = true
	}
	c.mu.Unlock()
	c.closeTCP()
}

func (c *Conn) sendItem(it item) error {
	if !c.enqueue(it, false) {
		return ErrConnClosed
	}
	return nil
}

// enqueue queues it for the writer. Frames the server would send of its own
// accord (auto) are discarded while it is silent.
func (c *Conn) enqueue(it item, auto bool) bool {
	if auto && c.srv.silent.Load() {
		return false
	}
	c.mu.Lock()
	ok := c.enqueueLocked(it)
	c.mu.Unlock()
	if ok {
		c.wakeWriter()
	}
	return ok
}

func (c *Conn) enqueueLocked(it item) bool {
	if c.writerGone {
		return false
	}
	c.queue = append(c.queue, it)
	c.queuedBytes += len(it.data)
	if c.queuedBytes > maxQueuedBytes {
		c.info.SlowConsumer = true
		c.info.ServerInitiated = true
		c.writerGone = true
		c.queue = nil
		c.closeTCP()
		return false
	}
	return true
}

func (c *Conn) wakeWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Conn) takeQueue() []item {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	c.queuedBytes = 0
	return q
}

func (c *Conn) closeTCP() {
	c.tcpOnce.Do(func() { c.ws.NetConn().Close() })
}

// writeLoop is the connection's only writer of data frames, so frames keep
// the order in which they were queued. It also owns the heartbeat and the
// authentication timeout.
func (c *Conn) writeLoop() {
	defer c.srv.connWG.Done()
	defer close(c.writerDone)
	defer func() {
		c.mu.Lock()
		c.writerGone = true
		c.queue = nil
		c.mu.Unlock()
	}()
	cfg := &c.srv.cfg
	var authC <-chan time.Time
	if cfg.authTimeout > 0 {
		t := time.NewTimer(cfg.authTimeout)
		defer t.Stop()
		authC = t.C
	}
	var heartbeat *time.Ticker
	var heartbeatC <-chan time.Time
	defer func() {
		if heartbeat != nil {
			heartbeat.Stop()
		}
	}()
	for {
		select {
		case <-c.quit:
			return
		case <-c.wake:
		case <-heartbeatC:
			if !c.srv.silent.Load() && !c.write(websocket.TextMessage, HeartbeatFrame(time.Now(), cfg.stringTimes)) {
				return
			}
		case <-authC:
			authC = nil
			if !c.Authenticated() && !c.srv.silent.Load() {
				cfg.logf("marketdatatest: conn %d: no auth within %v", c.id, cfg.authTimeout)
				if c.write(websocket.TextMessage, c.errorFrame(CodeAuthTimeout, "Authentication timeout")) {
					c.closeAndWait(websocket.CloseGoingAway, "Authentication timeout")
				}
				return
			}
		}
		for {
			items := c.takeQueue()
			if len(items) == 0 {
				break
			}
			for _, it := range items {
				switch it.kind {
				case itemText:
					if !c.write(websocket.TextMessage, it.data) {
						return
					}
				case itemBinary:
					if !c.write(websocket.BinaryMessage, it.data) {
						return
					}
				case itemStartHeartbeat:
					authC = nil
					if cfg.heartbeat > 0 && heartbeat == nil {
						heartbeat = time.NewTicker(cfg.heartbeat)
						heartbeatC = heartbeat.C
					}
				case itemClose:
					c.closeAndWait(it.code, it.reason)
					return
				case itemDrop:
					c.Drop()
					return
				}
			}
		}
	}
}

// write sends one frame within the write timeout. On failure the connection
// is finished: a timed-out gorilla writer is unusable.
func (c *Conn) write(messageType int, data []byte) bool {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.srv.cfg.writeTimeout))
	err := c.ws.WriteMessage(messageType, data)
	if err == nil {
		return true
	}
	if errors.Is(err, websocket.ErrCloseSent) {
		// A close handshake is under way elsewhere; it closes TCP itself.
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.mu.Lock()
		c.info.SlowConsumer = true
		c.info.ServerInitiated = true
		c.mu.Unlock()
		c.srv.cfg.logf("marketdatatest: conn %d: write timed out, dropping slow client", c.id)
	}
	c.closeTCP()
	return false
}

// sendClose writes the server's close frame unless one was already sent. It
// reports whether a close frame from the server is now on its way, so that
// waiting for the client's reply makes sense.
func (c *Conn) sendClose(code int, reason string, timeout time.Duration) bool {
	if code == 0 {
		code = websocket.CloseNoStatusReceived
	}
	if len(reason) > 123 { // the most a control frame leaves for the reason
		reason = reason[:123]
	}
	c.mu.Lock()
	if c.closeSent {
		c.mu.Unlock()
		return true
	}
	c.closeSent = true
	if !c.info.ClientSentClose {
		c.info.ServerInitiated = true
	}
	c.info.ServerSentClose = true
	c.info.ServerCode, c.info.ServerReason = code, reason
	c.mu.Unlock()
	err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(timeout))
	return err == nil
}

// awaitClientClose gives the client the close timeout to answer.
func (c *Conn) awaitClientClose() {
	t := time.NewTimer(c.srv.cfg.closeTimeout)
	defer t.Stop()
	select {
	case <-c.clientClosed:
	case <-t.C:
	case <-c.quit:
	}
}

// closeAndWait runs the server side of a close handshake from the writer.
func (c *Conn) closeAndWait(code int, reason string) {
	if c.sendClose(code, reason, c.srv.cfg.writeTimeout) {
		c.awaitClientClose()
	}
	c.closeTCP()
}

// shutdown ends the connection for Server.Close and waits until it is gone.
// The close frame gets only the close timeout, not the write timeout, so
// that a client that stopped reading cannot hold Close for long.
func (c *Conn) shutdown(code int, reason string) {
	if c.srv.silent.Load() {
		c.Drop()
	} else {
		if c.sendClose(code, reason, c.srv.cfg.closeTimeout) {
			c.awaitClientClose()
		}
		c.closeTCP()
	}
	<-c.done
}

// onClientClose is gorilla's close handler; it runs on the reader goroutine.
func (c *Conn) onClientClose(code int, text string) error {
	c.mu.Lock()
	c.info.ClientSentClose = true
	c.info.ClientCode, c.info.ClientReason = code, text
	reply := false
	switch {
	case c.closeSent:
		c.info.HandshakeCompleted = true
	case c.srv.silent.Load() || c.srv.ignoreClose.Load():
		c.keepOpen = true
	default:
		reply = true
		c.closeSent = true
		c.info.ServerSentClose = true
		c.info.ServerCode = code
	}
	c.mu.Unlock()
	c.clientOnce.Do(func() { close(c.clientClosed) })
	if reply {
		// Echo the client's code, as RFC 6455 suggests; 1005 echoes as an
		// empty close frame.
		err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(c.srv.cfg.writeTimeout))
		if err == nil {
			c.mu.Lock()
			c.info.HandshakeCompleted = true
			c.mu.Unlock()
		}
	}
	return nil
}

// onPing answers WebSocket-level pings unless the server is silent.
func (c *Conn) onPing(data string) error {
	if c.srv.silent.Load() {
		return nil
	}
	err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.srv.cfg.writeTimeout))
	if errors.Is(err, websocket.ErrCloseSent) {
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	return err
}

// readLoop reads and answers client frames until the connection ends, then
// tears it down. It runs on the goroutine that accepted the connection.
func (c *Conn) readLoop() {
	c.ws.SetCloseHandler(c.onClientClose)
	c.ws.SetPingHandler(c.onPing)
	c.ws.SetReadLimit(16 << 20)
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			if !c.info.ClientSentClose {
				c.info.Abrupt = true
			}
			c.mu.Unlock()
			break
		}
		c.mu.Lock()
		c.frames = append(c.frames, data)
		c.mu.Unlock()
		if mt == websocket.TextMessage {
			c.handle(data)
		} else {
			c.replyError(CodeInvalidRequest, "Invalid message format: binary frames are not supported")
		}
		c.srv.notify()
	}

	c.mu.Lock()
	keepOpen := c.keepOpen
	c.mu.Unlock()
	if keepOpen {
		// The close frame went unanswered: hold TCP until the client gives
		// up, or until a fault or Close cuts it.
		_, _ = io.Copy(io.Discard, c.ws.NetConn())
	}
	c.closeTCP()
	close(c.quit)
	<-c.writerDone
	c.srv.removeLive(c)
	info := c.CloseInfo()
	c.srv.cfg.logf("marketdatatest: conn %d closed (client close %v %d, server close %v %d, handshake %v, abrupt %v)",
		c.id, info.ClientSentClose, info.ClientCode, info.ServerSentClose, info.ServerCode, info.HandshakeCompleted, info.Abrupt)
	close(c.done)
	c.srv.notify()
}

func (c *Conn) errorFrame(code int, message string) []byte {
	return ErrorFrame(c.srv.cfg.errorShape, code, message)
}

// replyError queues an error frame as the server's own reply.
func (c *Conn) replyError(code int, message string) {
	c.enqueue(item{kind: itemText, data: c.errorFrame(code, message)}, true)
}

// reply queues a frame as the server's own reply.
func (c *Conn) reply(frame []byte) {
	c.enqueue(item{kind: itemText, data: frame}, true)
}

// subscribedTo reports whether the connection holds (channel, symbol) with
// any modifiers.
func (c *Conn) subscribedTo(channel, symbol string) bool {
	canon := c.srv.canonical(symbol)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.subs {
		if s.Channel == channel && c.srv.canonical(s.Symbol) == canon {
			return true
		}
	}
	return false
}
