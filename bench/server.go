package main

import (
	"errors"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"
)

// chunkBytes is the size of one write of a flood stream: large writes keep
// the endpoint's share of the CPU to a few system calls per thousand frames.
const chunkBytes = 128 << 10

// job is what the endpoint streams to the next client that subscribes.
type job struct {
	work *workload
	n    int     // data frames to send
	rate float64 // frames per second; 0 sends as fast as the socket takes them
	done chan streamResult

	// route sends each frame only to the connection subscribed to its key,
	// for a client spread over conns connections (sdk-pool): the stream
	// starts once the connections hold every subscription of work between
	// them, each receiving its share of the n frames, and each reports its
	// own streamResult on done.
	route bool
	conns int

	mu      sync.Mutex
	subs    int           // subscriptions acknowledged over the connections
	joined  []*serverConn // the connections that subscribed
	started bool
}

// parts is how many streamResults the job reports.
func (j *job) parts() int {
	if j.route {
		return max(j.conns, 1)
	}
	return 1
}

// subscribed counts added subscriptions of c on a routed job and, once the
// job's connections hold all of them, starts every connection's stream with
// its share of the frames. Each connection's acks are all written before it
// counts them here, so its writer never races its reader's replies.
func (j *job) subscribed(c *serverConn, added int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.subs += added
	if !slices.Contains(j.joined, c) {
		j.joined = append(j.joined, c)
	}
	if j.started || j.subs < j.work.subscriptionCount() {
		return
	}
	j.started = true
	for _, sc := range j.joined {
		part, owned := j.work.pool.part(sc.keys)
		sc.begin(part, routedFrames(j.n, owned), j.rate*float64(len(part.frames))/float64(len(owned)))
	}
}

// streamResult is the endpoint's side of one run.
type streamResult struct {
	frames int
	bytes  int64 // message payload bytes, headers excluded
	// cpu is the writer goroutine's CPU over the stream, read on the OS
	// thread it was locked to; cpuOK is false where that cannot be read.
	cpu   cpuTime
	cpuOK bool
	err   error
}

// endpoint is a minimal local Fugle MarketData endpoint: it authenticates
// anyone, acknowledges subscriptions, and once everything the job needs is
// subscribed streams the job's pre-built frames with one writer that owns the
// socket. It speaks only as much of the protocol as the three clients use.
type endpoint struct {
	ln   net.Listener
	srv  *http.Server
	base string // the base URL the official SDKs compose endpoints from

	mu    sync.Mutex
	job   *job
	live  map[*serverConn]bool
	conns sync.WaitGroup
}

func newEndpoint() (*endpoint, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &endpoint{ln: ln, base: "ws://" + ln.Addr().String() + "/marketdata", live: map[*serverConn]bool{}}
	up := &websocket.Upgrader{
		ReadBufferSize:  4 << 10,
		WriteBufferSize: 4 << 10,
		CheckOrigin:     func(*http.Request) bool { return true },
	}
	e.srv = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ws, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			e.mu.Lock()
			c := &serverConn{ws: ws, job: e.job, stop: make(chan struct{}), writerDone: make(chan struct{})}
			e.live[c] = true
			e.conns.Add(1)
			e.mu.Unlock()
			defer func() {
				e.mu.Lock()
				delete(e.live, c)
				e.mu.Unlock()
				e.conns.Done()
			}()
			c.serve()
		}),
	}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

// start makes j the job of the connections that open from now on.
func (e *endpoint) start(j *job) {
	e.mu.Lock()
	e.job = j
	e.mu.Unlock()
}

// close stops listening, ends every connection and waits for them.
func (e *endpoint) close() {
	_ = e.srv.Close()
	e.mu.Lock()
	for c := range e.live {
		_ = c.ws.Close()
	}
	e.mu.Unlock()
	e.conns.Wait()
}

// serverConn is one client connection. Its reader answers the client; once
// streaming starts, the writer goroutine alone writes to the socket, and the
// reader writes again only after stopping it (to answer a close frame).
type serverConn struct {
	ws   *websocket.Conn
	job  *job
	subs int
	keys map[string]bool // the subscriptions acknowledged, for a routed job

	// frames, n and rate are what the writer streams: the job's pool, n
	// and rate, or for a routed job this connection's share of them.
	frames *pool
	n      int
	rate   float64

	started    atomic.Bool
	stop       chan struct{}
	stopOnce   sync.Once
	writerDone chan struct{}
}

func (c *serverConn) serve() {
	c.ws.SetCloseHandler(func(code int, _ string) error {
		c.stopWriter()
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		return nil
	})
	defer func() {
		c.stopWriter()
		_ = c.ws.Close()
	}()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if err := c.handle(data); err != nil {
			return
		}
	}
}

// handle answers one client frame.
func (c *serverConn) handle(data []byte) error {
	msg := gjson.ParseBytes(data)
	switch msg.Get("event").Str {
	case "auth":
		return c.ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"authenticated","data":{"message":"Authenticated successfully"}}`))
	case "ping":
		reply := `{"event":"pong","data":{"time":` + strconv.FormatInt(time.Now().UnixMicro(), 10)
		if st := msg.Get("data.state"); st.Exists() {
			reply += `,"state":` + st.Raw
		}
		return c.ws.WriteMessage(websocket.TextMessage, []byte(reply+`}}`))
	case "subscribe":
		if c.started.Load() {
			return nil // the stream owns the socket; the clients here never subscribe late
		}
		d := msg.Get("data")
		channel := d.Get("channel").Str
		ack := func(sym string) string {
			return `{"id":"` + subscriptionID(channel, sym) + `","channel":"` + channel + `","symbol":"` + sym + `"}`
		}
		var reply string
		var syms []string
		if s := d.Get("symbol"); s.Exists() {
			reply = `{"event":"subscribed","data":` + ack(s.Str) + `}`
			syms = append(syms, s.Str)
		} else {
			reply = `{"event":"subscribed","data":[`
			for i, s := range d.Get("symbols").Array() {
				if i > 0 {
					reply += ","
				}
				reply += ack(s.Str)
				syms = append(syms, s.Str)
			}
			reply += `]}`
		}
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(reply)); err != nil {
			return err
		}
		c.subs += len(syms)
		j := c.job
		switch {
		case j == nil:
		case j.route:
			if c.keys == nil {
				c.keys = map[string]bool{}
			}
			for _, s := range syms {
				c.keys[subKey(channel, s)] = true
			}
			j.subscribed(c, len(syms))
		case c.subs >= j.work.subscriptionCount():
			c.begin(j.work.pool, j.n, j.rate)
		}
	}
	return nil
}

// begin starts the writer with n frames of p at rate (0: flood).
func (c *serverConn) begin(p *pool, n int, rate float64) {
	c.frames, c.n, c.rate = p, n, rate
	c.started.Store(true)
	go c.stream()
}

// stopWriter ends the stream, if any, and waits until the writer has let go
// of the socket.
func (c *serverConn) stopWriter() {
	c.stopOnce.Do(func() {
		close(c.stop)
		if c.started.Load() {
			_ = c.ws.NetConn().SetWriteDeadline(time.Now()) // unblocks a write to a client that stopped reading
			<-c.writerDone
		}
	})
}

// stream writes the job's frames straight to the TCP connection: the frames
// are already framed, so gorilla's writer has nothing to add.
//
// The writer is locked to its OS thread for the stream, so that the thread's
// CPU time is the endpoint's share of the process's and can be taken out of
// the Go clients' figures.
func (c *serverConn) stream() {
	defer close(c.writerDone)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	j := c.job
	before, ok := threadCPU()
	var r streamResult
	switch {
	case c.n == 0: // a routed connection that none of the frames are for
	case c.rate > 0:
		r = c.paced(c.frames, c.n, c.rate)
	default:
		r = c.flood(c.frames, c.n)
	}
	if after, ok2 := threadCPU(); ok && ok2 {
		r.cpu, r.cpuOK = after.sub(before), true
	}
	select {
	case j.done <- r:
	default:
	}
}

// flood sends n frames of p as fast as the client reads them, in chunks of
// consecutive pool frames, numbering the serials as it goes.
func (c *serverConn) flood(p *pool, n int) streamResult {
	nc := c.ws.NetConn()
	var r streamResult
	first := 0
	for r.frames < n {
		select {
		case <-c.stop:
			r.err = errors.New("stream stopped early")
			return r
		default:
		}
		last, size := first, 0
		for last < len(p.frames) && size < chunkBytes && r.frames+(last-first) < n {
			fr := p.frames[last]
			if fr.serial >= 0 {
				putSerial(p.buf, fr.serial, p.width, int64(r.frames+last-first))
			}
			size += fr.end - fr.start
			r.bytes += int64(fr.payload)
			last++
		}
		if _, err := nc.Write(p.buf[p.frames[first].start:p.frames[last-1].end]); err != nil {
			r.err = err
			return r
		}
		r.frames += last - first
		first = last % len(p.frames)
	}
	return r
}

// paced sends n frames of p at rate per second: every millisecond tick it
// sends the frames that are due by then in one write, each serial set to the
// nanosecond clock just before the write.
func (c *serverConn) paced(p *pool, n int, rate float64) streamResult {
	nc := c.ws.NetConn()
	var r streamResult
	scratch := make([]byte, 0, 1<<20)
	var stamps []int
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	begin := time.Now()
	next := 0
	for r.frames < n {
		select {
		case <-c.stop:
			r.err = errors.New("stream stopped early")
			return r
		case <-t.C:
		}
		due := int(time.Since(begin).Seconds()*rate) + 1 - r.frames
		due = min(due, n-r.frames)
		if due <= 0 {
			continue
		}
		scratch, stamps = scratch[:0], stamps[:0]
		for k := 0; k < due; k++ {
			fr := p.frames[next]
			if fr.serial >= 0 {
				stamps = append(stamps, len(scratch)+fr.serial-fr.start)
			}
			scratch = append(scratch, p.buf[fr.start:fr.end]...)
			r.bytes += int64(fr.payload)
			next = (next + 1) % len(p.frames)
		}
		now := time.Now().UnixNano()
		for _, at := range stamps {
			putStamp(scratch, at, now)
		}
		if _, err := nc.Write(scratch); err != nil {
			r.err = err
			return r
		}
		r.frames += due
	}
	return r
}
