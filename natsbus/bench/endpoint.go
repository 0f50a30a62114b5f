package main

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// chunkBytes is the size of one write of a flood stream: large writes keep
// the endpoint's share of the CPU to a few system calls per thousand frames.
const chunkBytes = 128 << 10

// job is what the endpoint streams to the first connection that holds
// every subscription of its workload: n frames of the pool at rate per
// second (0: as fast as the socket takes them).
type job struct {
	work *workload
	n    int
	rate float64

	sent   atomic.Int64 // frames written so far
	paused atomic.Bool  // a flood stream waits while it is set (a memory reading)

	mu      sync.Mutex
	started bool
	done    chan streamResult // the stream's result, once
	stop    chan struct{}     // closed by cancel
	once    sync.Once
}

func newJob(w *workload, n int, rate float64) *job {
	return &job{work: w, n: n, rate: rate, done: make(chan streamResult, 1), stop: make(chan struct{})}
}

// cancel ends the job's stream early, if it runs.
func (j *job) cancel() { j.once.Do(func() { close(j.stop) }) }

// claim says whether the caller is the one to start the job.
func (j *job) claim() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.started {
		return false
	}
	j.started = true
	return true
}

// streamResult is the endpoint's side of one run.
type streamResult struct {
	frames       int
	bytes        int64 // payload bytes, headers excluded
	began, ended time.Time
	err          error
}

// endpoint is a minimal local Fugle streaming endpoint: it authenticates
// anyone, acknowledges subscriptions and unsubscriptions with the ids data
// frames carry, answers pings, and streams the current job's frames to the
// connection that subscribes to all of them. It speaks only as much of the
// protocol as the SDK's client uses.
type endpoint struct {
	ln  net.Listener
	srv *http.Server
	url string // the stock streaming URL

	mu    sync.Mutex
	job   *job
	live  map[*wsConn]bool
	conns sync.WaitGroup
}

func newEndpoint() (*endpoint, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &endpoint{ln: ln, url: "ws://" + ln.Addr().String() + "/marketdata/v1.0/stock/streaming", live: map[*wsConn]bool{}}
	up := &websocket.Upgrader{ReadBufferSize: 4 << 10, WriteBufferSize: 4 << 10}
	e.srv = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ws, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			c := &wsConn{e: e, ws: ws, subs: map[string]string{}, stop: make(chan struct{}), writerDone: make(chan struct{})}
			e.mu.Lock()
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

// start makes j the job of whichever connection first holds all of its
// subscriptions, the one already open included.
func (e *endpoint) start(j *job) {
	e.mu.Lock()
	e.job = j
	live := make([]*wsConn, 0, len(e.live))
	for c := range e.live {
		live = append(live, c)
	}
	e.mu.Unlock()
	for _, c := range live {
		c.maybeBegin()
	}
}

func (e *endpoint) current() *job {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.job
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

// wsConn is one client connection. Every write to the socket, the stream's
// and the replies', holds wmu, so frames never interleave.
type wsConn struct {
	e    *endpoint
	ws   *websocket.Conn
	wmu  sync.Mutex
	mu   sync.Mutex
	subs map[string]string // subscription id -> channel:symbol

	streaming  bool
	stop       chan struct{}
	stopOnce   sync.Once
	writerDone chan struct{}
}

func (c *wsConn) serve() {
	c.ws.SetCloseHandler(func(int, string) error {
		c.stopWriter()
		c.wmu.Lock()
		defer c.wmu.Unlock()
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

func (c *wsConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// clientFrame is what the SDK sends: auth, subscribe, unsubscribe, ping.
type clientFrame struct {
	Event string `json:"event"`
	Data  struct {
		Channel string          `json:"channel"`
		Symbol  string          `json:"symbol"`
		Symbols []string        `json:"symbols"`
		ID      string          `json:"id"`
		IDs     []string        `json:"ids"`
		State   json.RawMessage `json:"state"`
	} `json:"data"`
}

func (c *wsConn) handle(data []byte) error {
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return nil
	}
	switch f.Event {
	case "auth":
		return c.write([]byte(`{"event":"authenticated","data":{"message":"Authenticated successfully"}}`))
	case "ping":
		reply := `{"event":"pong","data":{"time":` + strconv.FormatInt(time.Now().UnixMicro(), 10)
		if len(f.Data.State) > 0 {
			reply += `,"state":` + string(f.Data.State)
		}
		return c.write([]byte(reply + `}}`))
	case "subscribe":
		syms, many := f.Data.Symbols, true
		if f.Data.Symbol != "" {
			syms, many = []string{f.Data.Symbol}, false
		}
		acks := make([]string, 0, len(syms))
		c.mu.Lock()
		for _, s := range syms {
			id := subscriptionID(f.Data.Channel, s)
			c.subs[id] = f.Data.Channel + ":" + s
			acks = append(acks, `{"id":"`+id+`","channel":"`+f.Data.Channel+`","symbol":"`+s+`"}`)
		}
		c.mu.Unlock()
		if err := c.write(ackFrame("subscribed", acks, many)); err != nil {
			return err
		}
		c.maybeBegin()
	case "unsubscribe":
		ids, many := f.Data.IDs, true
		if f.Data.ID != "" {
			ids, many = []string{f.Data.ID}, false
		}
		acks := make([]string, 0, len(ids))
		c.mu.Lock()
		for _, id := range ids {
			key, ok := c.subs[id]
			if !ok {
				continue
			}
			delete(c.subs, id)
			ch, sym, _ := strings.Cut(key, ":")
			acks = append(acks, `{"id":"`+id+`","channel":"`+ch+`","symbol":"`+sym+`"}`)
		}
		c.mu.Unlock()
		return c.write(ackFrame("unsubscribed", acks, many))
	}
	return nil
}

func ackFrame(event string, acks []string, many bool) []byte {
	data := strings.Join(acks, ",")
	if many {
		data = "[" + data + "]"
	}
	return []byte(`{"event":"` + event + `","data":` + data + `}`)
}

// maybeBegin starts the current job's stream on this connection once it
// holds every subscription of the job's workload.
func (c *wsConn) maybeBegin() {
	j := c.e.current()
	if j == nil {
		return
	}
	c.mu.Lock()
	ready := !c.streaming && len(c.subs) >= j.work.subscriptionCount()
	c.mu.Unlock()
	if !ready || !j.claim() {
		return
	}
	c.mu.Lock()
	c.streaming = true
	c.mu.Unlock()
	go c.stream(j)
}

// stopWriter ends the stream, if any, and waits until the writer has let go
// of the socket.
func (c *wsConn) stopWriter() {
	c.stopOnce.Do(func() {
		close(c.stop)
		c.mu.Lock()
		streaming := c.streaming
		c.mu.Unlock()
		if streaming {
			_ = c.ws.NetConn().SetWriteDeadline(time.Now()) // unblocks a write to a client that stopped reading
			<-c.writerDone
		}
	})
}

func (c *wsConn) stream(j *job) {
	defer close(c.writerDone)
	var r streamResult
	if j.rate > 0 {
		r = c.paced(j)
	} else {
		r = c.flood(j)
	}
	r.ended = time.Now()
	j.done <- r
}

var errStopped = errors.New("stream stopped early")

func (c *wsConn) stopped(j *job) bool {
	select {
	case <-c.stop:
		return true
	case <-j.stop:
		return true
	default:
		return false
	}
}

// flood sends j.n frames as fast as the client reads them, in chunks of
// consecutive pool frames, each frame's timestamp rewritten to its number
// in the stream.
func (c *wsConn) flood(j *job) streamResult {
	p := j.work.pool
	nc := c.ws.NetConn()
	r := streamResult{began: time.Now()}
	first := 0
	for r.frames < j.n {
		if c.stopped(j) {
			r.err = errStopped
			return r
		}
		if j.paused.Load() {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		last, size := first, 0
		for last < len(p.frames) && size < chunkBytes && r.frames+(last-first) < j.n {
			fr := p.frames[last]
			putDigits(p.buf, fr.uniq, uniqWidth, baseMicros+int64(r.frames+last-first))
			size += fr.end - fr.start
			r.bytes += int64(fr.payload)
			last++
		}
		c.wmu.Lock()
		_, err := nc.Write(p.buf[p.frames[first].start:p.frames[last-1].end])
		c.wmu.Unlock()
		if err != nil {
			r.err = err
			return r
		}
		r.frames += last - first
		j.sent.Store(int64(r.frames))
		first = last % len(p.frames)
	}
	return r
}

// paced sends j.n frames at j.rate per second: every millisecond it sends
// the frames due by then in one write, each trade's serial set to the
// nanosecond clock just before the write.
func (c *wsConn) paced(j *job) streamResult {
	p := j.work.pool
	nc := c.ws.NetConn()
	scratch := make([]byte, 0, 1<<20)
	var stamps []int
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	r := streamResult{began: time.Now()}
	next := 0
	for r.frames < j.n {
		select {
		case <-c.stop:
			r.err = errStopped
			return r
		case <-j.stop:
			r.err = errStopped
			return r
		case <-t.C:
		}
		due := min(int(time.Since(r.began).Seconds()*j.rate)+1-r.frames, j.n-r.frames)
		if due <= 0 {
			continue
		}
		scratch, stamps = scratch[:0], stamps[:0]
		for k := 0; k < due; k++ {
			fr := p.frames[next]
			off := len(scratch) - fr.start
			scratch = append(scratch, p.buf[fr.start:fr.end]...)
			putDigits(scratch, fr.uniq+off, uniqWidth, baseMicros+int64(r.frames+k))
			if fr.stamp >= 0 {
				stamps = append(stamps, fr.stamp+off)
			}
			r.bytes += int64(fr.payload)
			next = (next + 1) % len(p.frames)
		}
		now := time.Now().UnixNano()
		for _, at := range stamps {
			putDigits(scratch, at, stampWidth, now)
		}
		c.wmu.Lock()
		_, err := nc.Write(scratch)
		c.wmu.Unlock()
		if err != nil {
			r.err = err
			return r
		}
		r.frames += due
		j.sent.Store(int64(r.frames))
	}
	return r
}
