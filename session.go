package marketdata

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-fugle/marketdata/messages"
	"github.com/gorilla/websocket"
)

// session is one WebSocket connection: a reader goroutine that decodes and
// routes frames, a writer goroutine that owns every data write, and the
// close handshake. A session is never reused: a new connection is a new
// session with the next connection number.
type session struct {
	l   link
	ws  *websocket.Conn
	seq uint64

	out     chan outFrame // frames for the writer
	control chan control  // auth, acks and error frames for the session's owner

	quit       chan struct{} // closed when the session is being torn down
	quitOnce   sync.Once
	readerDone chan struct{}
	writerDone chan struct{}

	closing  atomic.Bool  // our close frame is out: discard everything, report nothing
	lastRead atomic.Int64 // unix nanoseconds of the last frame read (or handled, under Block)

	// Under Block the reader may wait on consumers. That time is the
	// consumer's, not the server's: it must count neither toward the
	// heartbeat deadline nor toward the probe's or an ack's patience.
	waiting      atomic.Bool  // the reader is handing a frame to consumers
	consumerWait atomic.Int64 // nanoseconds the reader has spent doing so

	deadlineSet time.Time // when the read deadline last moved; reader goroutine only
	readAt      time.Time // when the frame being dispatched was read; reader goroutine only

	failMu  sync.Mutex
	failErr error // the first local failure (a write error), preferred over the read error
	readErr error // written by the reader before readerDone closes

	pingMu sync.Mutex
	pings  map[string]chan struct{} // by the JSON-encoded state of a Ping in flight

	authedAt time.Time

	tapOnce sync.Once // the tap hears of the end once
}

// tapClosed tells the tap, if any, that the session ended with code.
func (s *session) tapClosed(code int, reason string) {
	if tap := s.l.opt.Tap; tap != nil {
		s.tapOnce.Do(func() { tap.Closed(s.seq, time.Now(), code, reason) })
	}
}

// tapClosedBy tells the tap the session ended because of err.
func (s *session) tapClosedBy(err error) {
	code, reason := websocket.CloseAbnormalClosure, ""
	var ce *CloseError
	if errors.As(err, &ce) {
		code, reason = ce.Code, ce.Reason
	}
	s.tapClosed(code, reason)
}

// control carries a frame the session's owner must act on.
type control struct {
	kind    messages.Kind
	message string         // authenticated
	err     *ServerError   // error frame
	acks    []messages.Ack // subscribed / unsubscribed
}

// link is all a session uses of its owner: the options, the outlets it
// delivers to, the counter it bumps, the backfill's gap tracker, and the
// WaitGroup and stop channel its goroutines answer to. A session reaches
// nothing else of the client.
type link struct {
	opt       *WebSocketClientOption
	out       *outlets
	malformed *atomic.Uint64
	gaps      *gaps
	wg        *sync.WaitGroup
	stop      <-chan struct{}
}

func newSession(l link, ws *websocket.Conn, seq uint64) *session {
	s := &session{
		l:          l,
		ws:         ws,
		seq:        seq,
		out:        make(chan outFrame, 64),
		control:    make(chan control, 64),
		quit:       make(chan struct{}),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
		pings:      make(map[string]chan struct{}),
	}
	s.lastRead.Store(time.Now().UnixNano())
	ws.SetReadLimit(l.opt.ReadLimit)
	l.wg.Add(2)
	go s.readLoop()
	go s.writeLoop()
	return s
}

// outFrame is a frame for the writer. A secret one (the auth frame) is
// written and never shown to the tap or the log.
type outFrame struct {
	data   []byte
	secret bool
}

// send queues a frame for the writer. It fails only when the session is
// being torn down.
func (s *session) send(frame []byte) error { return s.enqueue(outFrame{data: frame}) }

// sendSecret queues the auth frame.
func (s *session) sendSecret(frame []byte) error {
	return s.enqueue(outFrame{data: frame, secret: true})
}

func (s *session) enqueue(f outFrame) error {
	select {
	case s.out <- f:
		return nil
	case <-s.quit:
		return ErrNotConnected
	case <-s.writerDone: // the writer failed: nobody will drain out again
		return ErrNotConnected
	case <-s.l.stop:
		return ErrNotConnected
	}
}

func (s *session) writeLoop() {
	defer s.l.wg.Done()
	defer close(s.writerDone)
	for {
		select {
		case f := <-s.out:
			now := time.Now()
			if !f.secret {
				// Shown before the write, so that a recording never holds
				// the server's answer ahead of the request.
				if tap := s.l.opt.Tap; tap != nil {
					tap.Frame(FrameOut, s.seq, now, f.data)
				}
				logFrame(s.l.opt.Logger, "out", s.seq, f.data)
			}
			_ = s.ws.SetWriteDeadline(now.Add(s.l.opt.WriteTimeout))
			if err := s.ws.WriteMessage(websocket.TextMessage, f.data); err != nil {
				s.fail(err)
				return
			}
		case <-s.quit:
			return
		}
	}
}

// sendFailed turns a failed enqueue into the session's real cause: the
// writer or the connection is gone, so wait for the reader to end and say
// why.
func (s *session) sendFailed(err error) error {
	select {
	case <-s.readerDone:
		return s.cause()
	case <-s.l.stop:
		return ErrClosed
	}
}

// fail records a local failure and closes the socket, which ends the reader
// and so the session.
func (s *session) fail(err error) {
	s.failMu.Lock()
	if s.failErr == nil {
		s.failErr = err
	}
	s.failMu.Unlock()
	_ = s.ws.Close()
}

func (s *session) readLoop() {
	defer s.l.wg.Done()
	defer close(s.readerDone)
	dec := messages.NewDecoder()
	var buf []byte
	blocking := s.l.opt.DropPolicy == Block
	tap, logging := s.l.opt.Tap, s.l.opt.Logger != nil
	// Any frame shows the link is alive, control frames included: a proxy
	// may keep a quiet connection open with pings alone.
	s.ws.SetPingHandler(s.onPing)
	s.ws.SetPongHandler(func(string) error { s.alive(time.Now()); return nil })
	now := time.Now()
	for {
		s.extendDeadline(now)
		typ, r, err := s.ws.NextReader()
		if err == nil {
			buf, err = readFrame(buf[:0], r)
		}
		if err != nil {
			s.readErr = err
			return
		}
		now = time.Now()
		s.lastRead.Store(now.UnixNano())
		if s.closing.Load() {
			continue // draining until the peer's close frame
		}
		if tap != nil {
			tap.Frame(FrameIn, s.seq, now, buf)
		}
		if logging {
			logFrame(s.l.opt.Logger, "in", s.seq, buf)
		}
		s.readAt = now
		if blocking {
			s.waiting.Store(true)
			s.handle(dec, typ, buf)
			after := time.Now()
			s.consumerWait.Add(int64(after.Sub(now)))
			s.lastRead.Store(after.UnixNano())
			s.waiting.Store(false)
			now = after // the deadline counts from here, not from the read
		} else {
			s.handle(dec, typ, buf)
		}
		if cap(buf) > 1<<20 {
			buf = nil // one huge frame should not pin its buffer for the connection's life
		}
	}
}

// extendDeadline moves the read deadline to HeartbeatTimeout after now.
// Moving it costs a poller update, so it moves only when it has fallen 1/16
// of the timeout behind: silence is still caught between 15/16 of the
// timeout and the timeout. Reader goroutine only.
func (s *session) extendDeadline(now time.Time) {
	hb := s.l.opt.HeartbeatTimeout
	if hb > 0 && now.Sub(s.deadlineSet) > hb/16 {
		_ = s.ws.SetReadDeadline(now.Add(hb))
		s.deadlineSet = now
	}
}

// alive records a control frame: gorilla handles those inside NextReader,
// whose deadline would otherwise keep running.
func (s *session) alive(now time.Time) {
	s.lastRead.Store(now.UnixNano())
	s.extendDeadline(now)
}

// onPing answers an RFC 6455 ping as gorilla's default handler does, and
// counts it as traffic.
func (s *session) onPing(data string) error {
	now := time.Now()
	s.alive(now)
	err := s.ws.WriteControl(websocket.PongMessage, []byte(data), now.Add(time.Second))
	var ne net.Error
	if err == nil || errors.Is(err, websocket.ErrCloseSent) || (errors.As(err, &ne) && ne.Timeout()) {
		return nil
	}
	return err
}

// consumerTime reports the reader's accumulated wait on consumers, and
// whether it is waiting now.
func (s *session) consumerTime() (time.Duration, bool) {
	return time.Duration(s.consumerWait.Load()), s.waiting.Load()
}

// handle vets one inbound message and dispatches it.
func (s *session) handle(dec *messages.Decoder, typ int, buf []byte) {
	// UTF-8 is checked by the decoder while it scans strings.
	if typ != websocket.TextMessage {
		s.l.out.event(ErrorEvent{Conn: s.seq, Err: ErrBinaryFrame})
		return
	}
	s.dispatch(dec, buf)
}

// readFrame reads one message into buf, reusing its capacity.
func readFrame(buf []byte, r io.Reader) ([]byte, error) {
	if cap(buf) == 0 {
		buf = make([]byte, 0, 4096)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// dispatch decodes one frame and routes it. It runs on the reader
// goroutine; everything it hands on owns its memory, because buf is reused.
func (s *session) dispatch(dec *messages.Decoder, buf []byte) {
	l := s.l
	f, err := dec.Frame(buf)
	if err != nil {
		s.malformed(err, buf)
		return
	}
	switch f.Kind {
	case messages.KindData, messages.KindSnapshot:
		switch f.Channel {
		case messages.ChannelTrades:
			var v messages.Trade
			if err := dec.Trade(&f, &v); err != nil {
				s.malformed(err, buf)
				return
			}
			v.Conn, v.Received = s.seq, s.readAt
			if l.opt.Backfill != nil && !l.gaps.liveTrade(&v, l.opt.BackfillHold) {
				return
			}
			route(l.out, l.out.trades, v)
		case messages.ChannelBooks:
			var v messages.Book
			if err := dec.Book(&f, &v); err != nil {
				s.malformed(err, buf)
				return
			}
			v.Conn, v.Received = s.seq, s.readAt
			route(l.out, l.out.books, v)
		case messages.ChannelCandles:
			var v messages.Candle
			if err := dec.Candle(&f, &v); err != nil {
				s.malformed(err, buf)
				return
			}
			v.Conn, v.Received = s.seq, s.readAt
			if l.opt.Backfill != nil && !l.gaps.liveCandle(&v, l.opt.BackfillHold) {
				return
			}
			route(l.out, l.out.candles, v)
		case messages.ChannelAggregates:
			var v messages.Aggregate
			if err := dec.Aggregate(&f, &v); err != nil {
				s.malformed(err, buf)
				return
			}
			v.Conn, v.Received = s.seq, s.readAt
			route(l.out, l.out.aggregates, v)
		case messages.ChannelIndices:
			var v messages.Index
			if err := dec.Index(&f, &v); err != nil {
				s.malformed(err, buf)
				return
			}
			v.Conn, v.Received = s.seq, s.readAt
			route(l.out, l.out.indices, v)
		default:
			l.out.event(Unknown{Conn: s.seq, Event: f.Event, Raw: clone(buf)})
		}
	case messages.KindHeartbeat:
		var v messages.Heartbeat
		if err := dec.Heartbeat(&f, &v); err != nil {
			s.malformed(err, buf)
			return
		}
		l.out.event(Heartbeat{Conn: s.seq, Time: v.Time})
	case messages.KindPong:
		var v messages.Pong
		if err := dec.Pong(&f, &v); err != nil {
			s.malformed(err, buf)
			return
		}
		s.pingMu.Lock()
		ch := s.pings[string(v.State)]
		delete(s.pings, string(v.State))
		s.pingMu.Unlock()
		if ch != nil {
			close(ch)
			return
		}
		l.out.event(Pong{Conn: s.seq, Time: v.Time, State: v.State})
	case messages.KindAuthenticated:
		var v messages.Authenticated
		if err := dec.Authenticated(&f, &v); err != nil {
			s.malformed(err, buf)
			return
		}
		s.toOwner(control{kind: f.Kind, message: v.Message})
	case messages.KindError:
		var v messages.ErrorFrame
		if err := dec.Error(&f, &v); err != nil {
			s.malformed(err, buf)
			return
		}
		s.toOwner(control{kind: f.Kind, err: &ServerError{Code: v.Code, Message: v.Message}})
	case messages.KindSubscribed, messages.KindUnsubscribed:
		acks, err := dec.Acks(&f, nil)
		if err != nil {
			s.malformed(err, buf)
			return
		}
		s.toOwner(control{kind: f.Kind, acks: acks})
	default:
		l.out.event(Unknown{Conn: s.seq, Event: f.Event, Raw: clone(buf)})
	}
}

func (s *session) malformed(err error, buf []byte) {
	s.l.malformed.Add(1)
	s.l.out.event(ErrorEvent{Conn: s.seq, Err: newDecodeError(err, buf)})
}

// toOwner hands a control frame to whoever owns the session (Connect during
// authentication, then the supervisor). Both always drain the channel while
// the session is live, so the wait is short; quit ends it on teardown.
func (s *session) toOwner(ctl control) {
	select {
	case s.control <- ctl:
	case <-s.quit:
	}
}

// pendingError returns the last error frame still queued for the owner
// once the reader has ended, so that a select that saw the end first does
// not lose it.
func (s *session) pendingError() (control, bool) {
	var last control
	found := false
	for {
		select {
		case ctl := <-s.control:
			if ctl.kind == messages.KindError && (!found || !errors.Is(last.err, ErrUnauthorized)) {
				last, found = ctl, true
			}
		default:
			return last, found
		}
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// cause says why the session ended, once the reader has returned.
func (s *session) cause() error {
	s.failMu.Lock()
	err := s.failErr
	s.failMu.Unlock()
	if err != nil {
		return &CloseError{Code: websocket.CloseAbnormalClosure, Err: err}
	}
	return classifyReadError(s.readErr, s.l.opt.ReadLimit)
}

func classifyReadError(err error, limit int64) error {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return &CloseError{Code: ce.Code, Reason: ce.Text}
	case errors.Is(err, websocket.ErrReadLimit):
		return &CloseError{Code: websocket.CloseMessageTooBig, Reason: "frame larger than ReadLimit (" + strconv.FormatInt(limit, 10) + " bytes)", Err: err}
	case errors.As(err, &ne) && ne.Timeout():
		return &CloseError{Code: websocket.CloseAbnormalClosure, Err: ErrStaleConnection}
	default:
		return &CloseError{Code: websocket.CloseAbnormalClosure, Err: err}
	}
}

// ping sends a JSON ping whose state identifies it and returns a channel
// closed when its pong arrives.
func (s *session) ping(state string) (<-chan struct{}, func(), error) {
	key := strconv.Quote(state)
	ch := make(chan struct{})
	s.pingMu.Lock()
	s.pings[key] = ch
	s.pingMu.Unlock()
	forget := func() {
		s.pingMu.Lock()
		delete(s.pings, key)
		s.pingMu.Unlock()
	}
	if err := s.send(pingFrame(key)); err != nil {
		forget()
		return nil, nil, err
	}
	return ch, forget, nil
}

func (s *session) stopWriter() { s.quitOnce.Do(func() { close(s.quit) }) }

// shutdown performs the orderly close: close frame 1000, keep reading and
// discarding until the peer's close frame or CloseTimeout, then TCP close,
// then wait for both goroutines. It returns nil when the peer answered.
func (s *session) shutdown() error {
	s.closing.Store(true)
	s.stopWriter()
	var result error
	select {
	case <-s.readerDone:
		// The connection was already gone: there is nobody to shake hands with.
	default:
		// One deadline for the whole handshake: writing the close frame
		// waits behind a stalled data write, and that time counts too.
		deadline := time.Now().Add(s.l.opt.CloseTimeout)
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		if err := s.ws.WriteControl(websocket.CloseMessage, msg, deadline); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				result = ErrCloseTimeout
			} else {
				result = &CloseError{Code: websocket.CloseAbnormalClosure, Err: err}
			}
			break
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-s.readerDone:
			var ce *websocket.CloseError
			if !errors.As(s.readErr, &ce) {
				result = &CloseError{Code: websocket.CloseAbnormalClosure, Err: s.readErr}
			}
		case <-t.C:
			result = ErrCloseTimeout
		}
		t.Stop()
	}
	_ = s.ws.Close()
	<-s.readerDone
	<-s.writerDone
	return result
}

// abort ends a session that never went live, at once: a close frame if it
// can be written without waiting, then the TCP close. Close, or a context
// that ended, must not wait CloseTimeout for a peer that was not answering.
func (s *session) abort() {
	s.closing.Store(true)
	s.stopWriter()
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = s.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(abortWriteTimeout))
	_ = s.ws.Close()
	<-s.readerDone
	<-s.writerDone
}

// teardown ends a session that is already dead (or must die now) without a
// handshake.
func (s *session) teardown() {
	s.closing.Store(true)
	s.stopWriter()
	select {
	case <-s.readerDone:
		if s.closeSentByLibrary() {
			s.drainUntilPeerCloses()
		}
	default:
	}
	_ = s.ws.Close()
	<-s.readerDone
	<-s.writerDone
}

// closeSentByLibrary reports a read error after which gorilla has already
// sent its own close frame (1009 for an oversized frame, 1002 for a
// protocol violation).
func (s *session) closeSentByLibrary() bool {
	if errors.Is(s.readErr, websocket.ErrReadLimit) {
		return true
	}
	var ce *websocket.CloseError
	var ne net.Error
	return s.readErr != nil && !errors.As(s.readErr, &ce) && !errors.As(s.readErr, &ne) &&
		!errors.Is(s.readErr, io.EOF) && !errors.Is(s.readErr, io.ErrUnexpectedEOF) && !errors.Is(s.readErr, net.ErrClosed)
}

// drainUntilPeerCloses discards raw bytes until the peer closes TCP or
// CloseTimeout passes. Closing a socket with unread data makes the kernel
// send a reset, which can destroy the close frame gorilla just sent before
// the peer reads it; draining first lets the peer see why we left.
func (s *session) drainUntilPeerCloses() {
	conn := s.ws.NetConn()
	_ = conn.SetReadDeadline(time.Now().Add(s.l.opt.CloseTimeout))
	_, _ = io.Copy(io.Discard, conn)
}
