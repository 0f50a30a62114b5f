// Package replay serves a recording (see package record) to any client,
// the SDK's or another, through the mock endpoint of package
// marketdatatest, so that a bot's code runs on a recorded day exactly as it
// runs live.
package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/record"
	"github.com/tidwall/gjson"
)

// Server serves a recording (see package record) to any client over a
// loopback WebSocket, through the mock endpoint of marketdatatest: it accepts
// any credential, acknowledges subscriptions, sends heartbeats, and sends
// each recorded data or snapshot frame to the connections subscribed to its
// channel and symbol: its payload byte for byte, in an envelope carrying the
// id this server gave the connection's subscription. Recorded disconnects are reproduced
// (a lost connection drops every client, a close is sent with its code), so
// a client sees the same Disconnected, Reconnected and Resubscribed
// sequence as the recorded one.
//
// Pacing: the replay clock starts when the first client has subscribed
// (StartNow starts it at once), then frames go out at their recorded
// pace divided by the speed. Before the frames that followed a recorded
// subscribe request, the replay waits (up to Gate, 5 s by default)
// for a client to have made that subscription too, so that a client that
// subscribes a little later than the recorded one misses nothing. At
// Max speed frames go out as fast as the slowest subscribed
// connection takes them, without loss; a client that must not drop either
// uses DropPolicy Block with a negative BlockTimeout.
type Server struct {
	*marketdatatest.Server
	src    *record.Reader
	cfg    config
	header record.Header

	done   chan struct{}
	err    error // set before done closes
	cancel context.CancelFunc
	wg     sync.WaitGroup

	frames, disconnects, lost atomic.Uint64
}

// Max replays as fast as the clients take the frames.
var Max = math.Inf(1)

type config struct {
	speed    float64
	startNow bool
	gate     time.Duration
	server   []marketdatatest.Option
}

// Option configures a Server.
type Option func(*config)

// Speed replays at speed times the recorded pace (2: twice as fast);
// Max as fast as possible. Default 1.
func Speed(speed float64) Option { return func(c *config) { c.speed = speed } }

// StartNow starts the replay clock at once instead of when the first
// client has subscribed.
func StartNow() Option { return func(c *config) { c.startNow = true } }

// Gate bounds the wait for a client to make a subscription the
// recording made before going on without it. Default 5 s.
func Gate(d time.Duration) Option { return func(c *config) { c.gate = d } }

// ServerOptions passes options to the underlying mock server (address,
// heartbeat, logging). The simulated feed is never on during a replay.
func ServerOptions(opts ...marketdatatest.Option) Option {
	return func(c *config) { c.server = append(c.server, opts...) }
}

// NewServer opens the recording at path and starts serving it. Close the
// Server when done.
func NewServer(path string, opts ...Option) (*Server, error) {
	src, err := record.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := Serve(src, opts...)
	if err != nil {
		_ = src.Close()
	}
	return r, err
}

// Serve serves an opened recording; the Server closes it.
func Serve(src *record.Reader, opts ...Option) (*Server, error) {
	cfg := config{speed: 1, gate: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if !(cfg.speed > 0) {
		return nil, fmt.Errorf("replay: speed %v must be positive", cfg.speed)
	}
	srvOpts := append(append([]marketdatatest.Option(nil), cfg.server...), marketdatatest.WithSimulatedFeed(0))
	ctx, cancel := context.WithCancel(context.Background())
	r := &Server{Server: marketdatatest.NewServer(srvOpts...), src: src, cfg: cfg, header: src.Header(), done: make(chan struct{}), cancel: cancel}
	r.wg.Add(1)
	go r.run(ctx)
	return r, nil
}

// Endpoint is the streaming URL of the recorded product and version on
// this server.
func (r *Server) Endpoint() string {
	if u, err := url.Parse(r.header.Endpoint); err == nil && strings.HasSuffix(u.Path, "/streaming") {
		if rest, ok := strings.CutPrefix(u.Path, "/marketdata/"); ok {
			return r.URL() + "/" + rest
		}
	}
	if r.header.Product == "futopt" {
		return r.FutOptURL()
	}
	return r.StockURL()
}

// Header is the recording's header.
func (r *Server) Header() record.Header { return r.header }

// Done is closed when the whole recording has been served (or it failed:
// see Err). The server keeps serving heartbeats until Close.
func (r *Server) Done() <-chan struct{} { return r.done }

// Err reports why the replay stopped early: a broken recording (the lines
// before the break were served). Nil while it runs and after a full replay.
func (r *Server) Err() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

// ReplayStats counts what a replay served.
type ReplayStats struct {
	Frames      uint64 // data and snapshot frames sent on
	Disconnects uint64 // recorded disconnects reproduced
	Lost        uint64 // frames the recorder had lost (its lost lines)
}

// Stats returns the replay's counters.
func (r *Server) Stats() ReplayStats {
	return ReplayStats{Frames: r.frames.Load(), Disconnects: r.disconnects.Load(), Lost: r.lost.Load()}
}

// Close stops the replay and the server.
func (r *Server) Close() {
	r.cancel()
	r.wg.Wait()
	r.Server.Close()
	_ = r.src.Close()
}

// maxBacklog is how much may wait in a connection's queue before a replay
// at full speed waits for the connection.
const maxBacklog = 1 << 20

type chanSymKey struct{ channel, symbol string }

// replayer is the state of one pass over a recording.
type replayer struct {
	r        *Server
	ctx      context.Context
	started  bool
	wallBase time.Time // wall time of recBase
	recBase  time.Time
	pending  map[chanSymKey]time.Time // recorded subscriptions not yet made here, by when the wait began
	authed   map[uint64]bool          // recorded connections that authenticated
	closing  *record.Line             // a recorded close, acted on if a connection follows
}

func (r *Server) run(ctx context.Context) {
	defer r.wg.Done()
	p := &replayer{r: r, ctx: ctx, pending: map[chanSymKey]time.Time{}, authed: map[uint64]bool{}}
	err := p.serve()
	if errors.Is(err, io.EOF) || ctx.Err() != nil {
		err = nil
	}
	r.err = err
	close(r.done)
}

func (p *replayer) serve() error {
	if !p.r.cfg.startNow {
		if err := p.r.Wait(p.ctx, func() bool { return p.r.SubscriptionCount() > 0 }); err != nil {
			return err
		}
	}
	for {
		line, err := p.r.src.Next()
		if err != nil {
			return err
		}
		if err := p.line(line); err != nil {
			return err
		}
	}
}

func (p *replayer) line(l record.Line) error {
	switch l.Kind {
	case record.KindLost:
		p.r.lost.Add(l.Count)
	case record.KindOpen:
		if c := p.closing; c != nil {
			// The recorded client came back: reproduce how it lost the
			// previous connection.
			p.closing = nil
			if err := p.at(c.Time); err != nil {
				return err
			}
			p.reproduce(*c)
		}
	case record.KindClose:
		c := l
		p.closing = &c
	case record.KindFrame:
		if l.Dir == record.Out {
			p.request(l.Raw)
			return nil
		}
		return p.inbound(l)
	}
	return nil
}

// request notes the subscriptions a recorded subscribe frame asked for.
func (p *replayer) request(raw []byte) {
	f := gjson.ParseBytes(raw)
	if f.Get("event").Str != "subscribe" {
		return
	}
	ch := f.Get("data.channel").Str
	add := func(sym string) {
		k := chanSymKey{ch, sym}
		if _, ok := p.pending[k]; !ok {
			p.pending[k] = time.Time{}
		}
	}
	if s := f.Get("data.symbol"); s.Exists() {
		add(s.Str)
	}
	for _, s := range f.Get("data.symbols").Array() {
		add(s.Str)
	}
}

func (p *replayer) inbound(l record.Line) error {
	f := gjson.ParseBytes(l.Raw)
	switch event := f.Get("event").Str; event {
	case "authenticated":
		p.authed[l.Conn] = true
		return nil
	case "data", "snapshot":
	case "subscribed":
		// The subscription the recorded client made: the frames after it
		// wait for a client here to have made it too.
		data := f.Get("data")
		acks := data.Array()
		if data.IsObject() {
			acks = []gjson.Result{data}
		}
		for _, a := range acks {
			k := chanSymKey{a.Get("channel").Str, a.Get("symbol").Str}
			if _, ok := p.pending[k]; !ok {
				p.pending[k] = time.Time{}
			}
		}
		return nil
	case "heartbeat", "pong", "unsubscribed", "error", "subscriptions":
		return nil // the server answers its own clients
	default:
		if err := p.at(l.Time); err != nil {
			return err
		}
		p.r.SendAll(bytes.Clone(l.Raw))
		return nil
	}
	if err := p.gate(); err != nil {
		return err
	}
	if err := p.at(l.Time); err != nil {
		return err
	}
	if err := p.backpressure(); err != nil {
		return err
	}
	// The payload goes out byte for byte; the envelope is made anew for each
	// connection, with the id the server gave that connection's
	// subscription, as a client that routes by id expects. The server keeps
	// the bytes queued, and the reader reuses Raw: hence the copy.
	channel, symbol := f.Get("channel").Str, f.Get("data.symbol").Str
	payload := []byte(f.Get("data").Raw)
	var n int
	if f.Get("event").Str == "snapshot" {
		n = p.r.PublishSnapshot(channel, symbol, payload)
	} else {
		n = p.r.Publish(channel, symbol, payload)
	}
	if n > 0 {
		p.r.frames.Add(1)
	}
	return nil
}

// at waits until the wall-clock time of recorded time t.
func (p *replayer) at(t time.Time) error {
	if !p.started {
		p.started, p.wallBase, p.recBase = true, time.Now(), t
		return nil
	}
	if math.IsInf(p.r.cfg.speed, 1) {
		return nil
	}
	due := p.wallBase.Add(time.Duration(float64(t.Sub(p.recBase)) / p.r.cfg.speed))
	wait := time.Until(due)
	if wait <= 0 {
		return nil
	}
	tm := time.NewTimer(wait)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// gate waits until the subscriptions the recording made have been made
// here too, or the gate's patience runs out for them. Waiting moves the
// replay clock, so the recorded pace holds after it.
func (p *replayer) gate() error {
	if len(p.pending) == 0 {
		return nil
	}
	began := time.Now()
	for {
		for k, since := range p.pending {
			if since.IsZero() {
				p.pending[k], since = began, began
			}
			if p.r.Subscribers(k.channel, k.symbol) > 0 || time.Since(since) >= p.r.cfg.gate {
				delete(p.pending, k)
			}
		}
		if len(p.pending) == 0 {
			break
		}
		if err := p.pause(); err != nil {
			return err
		}
	}
	p.wallBase = p.wallBase.Add(time.Since(began))
	return nil
}

// backpressure waits while a connection has more than maxBacklog queued.
func (p *replayer) backpressure() error {
	began := time.Now()
	for p.r.Backlog() > maxBacklog {
		if err := p.pause(); err != nil {
			return err
		}
	}
	if waited := time.Since(began); waited > time.Millisecond {
		p.wallBase = p.wallBase.Add(waited)
	}
	return nil
}

func (p *replayer) pause() error {
	t := time.NewTimer(200 * time.Microsecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// reproduce ends every client connection the way the recorded one ended.
func (p *replayer) reproduce(c record.Line) {
	if !p.authed[c.Conn] {
		// A failed reconnect attempt: the client here is already between
		// connections, so there is nothing to end.
		return
	}
	p.r.disconnects.Add(1)
	gone := p.r.LiveConns()
	// Both go out after the frames already queued, which the recorded
	// client had received before its connection ended.
	if c.Code == 1006 || c.Code == 0 {
		p.r.DropAllAfterQueued()
	} else {
		p.r.CloseAll(c.Code, c.Reason)
	}
	// Frames published before the old connections are gone would go to
	// them and be lost.
	for _, conn := range gone {
		select {
		case <-conn.Done():
		case <-p.ctx.Done():
			return
		}
	}
}
