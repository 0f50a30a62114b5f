package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/gorilla/websocket"
)

// clientRun is what one client measured while it received a stream.
type clientRun struct {
	messages int
	elapsed  time.Duration // first message to the last
	latency  []time.Duration
	stats    *marketdata.Stats // the SDK's counters, for the SDK only
	problems []string          // events and counters that make the run suspect

	// cpu is the client's own CPU over the run, when cpuOK. stream fills it
	// in for the clients that run in this process; a client in a process
	// of its own (node-sdk) measures it and sets external.
	cpu      time.Duration
	cpuOK    bool
	external bool
	// endpointCPU is the endpoint writer's CPU over the run, when
	// endpointOK.
	endpointCPU time.Duration
	endpointOK  bool
	// processCPU is this process's CPU over the run, when processOK: the
	// client and the endpoint for the Go clients, the endpoint alone when
	// the client is a child process.
	processCPU time.Duration
	processOK  bool
	// record is what the recorder did, for sdk-record only.
	record *recordResult
}

// runTimeout bounds a run of n frames: generous, so that only a hang trips it.
func runTimeout(n int) time.Duration {
	return 60*time.Second + time.Duration(n)*20*time.Microsecond
}

// latencySink collects the latency of every trade after the warm-up.
type latencySink struct {
	warmup  time.Duration // from the first trade, not measured
	from    int64         // unix nanoseconds when measuring starts
	samples []time.Duration
}

// add records one trade whose serial is the endpoint's clock at its write.
func (s *latencySink) add(sentNanos int64) {
	now := time.Now().UnixNano()
	if s.from == 0 {
		s.from = now + int64(s.warmup)
	}
	if now >= s.from {
		s.samples = append(s.samples, time.Duration(now-sentNanos))
	}
}

// rawClient is the ceiling: gorilla's read loop with nothing else. It speaks
// the same protocol as the others (auth, subscribe, wait for the acks), then
// reads n messages without decoding them. With sink set it finds the serial
// of each trades message with a byte search, the least a client can do to
// get a timestamp out of it.
func rawClient(ctx context.Context, base string, w *workload, n int, sink *latencySink) (clientRun, error) {
	ws, err := dialSubscribed(ctx, base, w)
	if err != nil {
		return clientRun{}, err
	}
	defer ws.Close()
	stop := context.AfterFunc(ctx, func() { _ = ws.Close() })
	defer stop()

	var run clientRun
	var first time.Time
	buf := make([]byte, 0, 4096)
	serial := []byte(`"serial":`)
	tradesTail := []byte(`"channel":"trades"}`)
	for i := 0; i < n; i++ {
		_, r, err := ws.NextReader()
		if err != nil {
			return run, fmt.Errorf("after %d messages: %w", i, err)
		}
		if sink == nil {
			_, err = io.Copy(io.Discard, r)
		} else {
			buf, err = readAll(buf[:0], r)
		}
		if err != nil {
			return run, err
		}
		if i == 0 {
			first = time.Now()
		}
		if sink != nil && bytes.HasSuffix(buf, tradesTail) {
			if k := bytes.Index(buf, serial); k >= 0 {
				sink.add(parseDigits(buf[k+len(serial):]))
			}
		}
	}
	run.elapsed = time.Since(first)
	run.messages = n
	if sink != nil {
		run.latency = sink.samples
	}
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	return run, nil
}

// dialSubscribed opens a gorilla connection with the SDK's buffer sizes,
// authenticates, and subscribes to every channel of w, waiting for each
// reply: the handshake every hand-written client here shares.
func dialSubscribed(ctx context.Context, base string, w *workload) (*websocket.Conn, error) {
	d := websocket.Dialer{ReadBufferSize: 16 << 10, WriteBufferSize: 4 << 10} // the SDK's sizes
	ws, _, err := d.DialContext(ctx, marketdata.Endpoint(base, "v1.0", "stock"), nil)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*websocket.Conn, error) {
		_ = ws.Close()
		return nil, err
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"auth","data":{"apikey":"bench"}}`)); err != nil {
		return fail(err)
	}
	if _, _, err := ws.ReadMessage(); err != nil {
		return fail(err)
	}
	for _, s := range w.subs {
		frame := fmt.Sprintf(`{"event":"subscribe","data":{"channel":%q,"symbols":%s}}`, s.Channel, jsonStrings(s.Symbols))
		if err := ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
			return fail(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			return fail(err)
		}
	}
	return ws, nil
}

// readAll reads one message into buf, reusing its capacity.
func readAll(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4096)
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func parseDigits(b []byte) int64 {
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + int64(c-'0')
	}
	return v
}

// sdkOptions are the SDK's settings for every run: the default channel
// capacity with a Block policy and a long timeout, so that nothing is
// dropped while the consumer keeps up (and a brief pause, such as a GC for a
// heap reading, holds the socket back rather than losing frames). Deeper
// channels only made the run slower: more buffer memory cycling through the
// caches.
func sdkOptions(endpoint string, buffer int) marketdata.WebSocketClientOption {
	return marketdata.WebSocketClientOption{
		APIKey:           "bench",
		Endpoint:         endpoint,
		BufferSize:       buffer,
		DropPolicy:       marketdata.Block,
		BlockTimeout:     time.Minute,
		DisableReconnect: true, // a lost connection fails the run instead of hiding in it
	}
}

// sdkHooks lets a run look at the consumer at given message counts.
type sdkHooks struct {
	at   []int               // message counts, ascending
	call func(messages int)  // called on the consumer goroutine at each
	sink *latencySink        // trades latency, when set
	tap  marketdata.FrameTap // the client's frame tap, when set (sdk-record)
}

// sdkClient runs this SDK: connect, subscribe to every channel of w, and
// receive typed values from Trades, Books and Aggregates on one consumer
// goroutine until it has n of them.
func sdkClient(ctx context.Context, base string, w *workload, n, buffer int, hooks sdkHooks) (clientRun, error) {
	opt := sdkOptions(marketdata.Endpoint(base, "v1.0", "stock"), buffer)
	opt.Tap = hooks.tap
	client, err := marketdata.NewWebSocketClient(opt)
	if err != nil {
		return clientRun{}, err
	}
	return consume(ctx, client, w, n, hooks)
}

// poolConnections is the number of connections of the sdk-pool client.
const poolConnections = 2

// poolPlan is sdk-pool's plan for w: poolConnections connections with room
// for an even share of w's subscriptions each, so that Spread puts half of
// them on each connection.
func poolPlan(w *workload) marketdata.Plan {
	per := (w.subscriptionCount() + poolConnections - 1) / poolConnections
	return marketdata.Plan{Connections: poolConnections, SubscriptionsPerConnection: per}
}

// poolClient is sdkClient through a marketdata.Pool: the same options for
// every connection, poolConnections of them opened at Connect (Spread), the
// subscriptions spread over them, and the same consumer on the pool's
// merged channels. The endpoint must route (job.route) for each frame to
// reach only the connection that holds its subscription.
func poolClient(ctx context.Context, base string, w *workload, n, buffer int, hooks sdkHooks) (clientRun, error) {
	opt := sdkOptions(marketdata.Endpoint(base, "v1.0", "stock"), buffer)
	opt.Tap = hooks.tap
	pool, err := marketdata.NewPool(marketdata.PoolOption{Client: opt, Plan: poolPlan(w), Spread: true})
	if err != nil {
		return clientRun{}, err
	}
	return consume(ctx, pool, w, n, hooks)
}

// consume connects client, subscribes to every channel of w, and receives
// typed values from Trades, Books and Aggregates on one consumer goroutine
// until it has n of them; it closes the client.
func consume(ctx context.Context, client marketdata.Stream, w *workload, n int, hooks sdkHooks) (run clientRun, err error) {
	var (
		mu       sync.Mutex
		closing  bool
		unusual  []string
		eventsOK = make(chan struct{})
	)
	go func() {
		// Events never stall the reader: they are drained here, and anything
		// unexpected before Close is kept for the report.
		defer close(eventsOK)
		for e := range client.Events() {
			switch e.(type) {
			case marketdata.Connected, marketdata.Authenticated:
				continue
			}
			mu.Lock()
			if !closing {
				unusual = append(unusual, fmt.Sprintf("event: %v", e))
			}
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		closing = true
		mu.Unlock()
		_ = client.Close()
		<-eventsOK
		run.problems = append(run.problems, unusual...)
	}()

	if err := client.Connect(ctx); err != nil {
		return clientRun{}, err
	}

	type outcome struct {
		first, last time.Time
		count       int
		err         error
	}
	result := make(chan outcome, 1)
	go func() {
		var o outcome
		var sum int64 // touches every value, as a consumer would
		trades, books, aggs := client.Trades(), client.Books(), client.Aggregates()
		next := 0
		for o.count < n {
			select {
			case v, ok := <-trades:
				if !ok {
					o.err = errClosed(client)
					result <- o
					return
				}
				if hooks.sink != nil {
					hooks.sink.add(v.Serial)
				}
				sum += v.Serial
			case v, ok := <-books:
				if !ok {
					o.err = errClosed(client)
					result <- o
					return
				}
				sum += v.Bids[0].Size
			case v, ok := <-aggs:
				if !ok {
					o.err = errClosed(client)
					result <- o
					return
				}
				sum += v.Serial
			case <-ctx.Done():
				o.err = ctx.Err()
				result <- o
				return
			}
			if o.count == 0 {
				o.first = time.Now()
			}
			o.count++
			if next < len(hooks.at) && o.count == hooks.at[next] {
				hooks.call(o.count)
				next++
			}
		}
		o.last = time.Now()
		checksum.Add(sum)
		result <- o
	}()

	for _, s := range w.subs {
		err := client.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.Channel(s.Channel), Symbols: s.Symbols})
		if err != nil {
			return clientRun{}, err
		}
	}
	o := <-result
	st := client.Stats()
	run.stats = &st
	run.messages, run.elapsed = o.count, o.last.Sub(o.first)
	if hooks.sink != nil {
		run.latency = hooks.sink.samples
	}
	if o.err != nil {
		return run, fmt.Errorf("after %d messages: %w", o.count, o.err)
	}
	if d := st.Trades.Dropped + st.Books.Dropped + st.Aggregates.Dropped; d > 0 {
		run.problems = append(run.problems, fmt.Sprintf("the SDK dropped %d values", d))
	}
	if st.Malformed > 0 {
		run.problems = append(run.problems, fmt.Sprintf("the SDK could not decode %d frames", st.Malformed))
	}
	return run, nil
}

// checksum keeps the consumer's reads of each value from being optimised
// away.
var checksum atomic.Int64

func errClosed(c marketdata.Stream) error {
	<-c.Done()
	if err := c.Err(); err != nil {
		return err
	}
	return errors.New("the client's channels closed")
}

// jsonStrings formats a JSON array of strings that need no escaping.
func jsonStrings(ss []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q", s)
	}
	b.WriteByte(']')
	return b.String()
}

// handlerClient is sdkClient with Handlers: the values are taken on the
// reader goroutine, with no hand-off to a consumer goroutine.
func handlerClient(ctx context.Context, base string, w *workload, n, buffer int) (clientRun, error) {
	opt := sdkOptions(marketdata.Endpoint(base, "v1.0", "stock"), buffer)
	var (
		count       int
		sum         int64
		first, last time.Time
		done        = make(chan struct{})
	)
	// Only one connection's reader calls these, one at a time.
	tick := func(v int64) {
		sum += v
		if count == 0 {
			first = time.Now()
		}
		count++
		if count == n {
			last = time.Now()
			close(done)
		}
	}
	opt.Handlers = marketdata.Handlers{
		Trade:     func(v marketdata.Trade) { tick(v.Serial) },
		Book:      func(v marketdata.Book) { tick(v.Bids[0].Size) },
		Aggregate: func(v marketdata.Aggregate) { tick(v.Serial) },
	}
	client, err := marketdata.NewWebSocketClient(opt)
	if err != nil {
		return clientRun{}, err
	}
	var run clientRun
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for e := range client.Events() {
			switch e.(type) {
			case marketdata.Connected, marketdata.Authenticated, marketdata.Disconnected:
				continue
			}
			run.problems = append(run.problems, fmt.Sprintf("event: %v", e))
		}
	}()
	defer func() { _ = client.Close(); <-drained }()
	if err := client.Connect(ctx); err != nil {
		return clientRun{}, err
	}
	for _, s := range w.subs {
		if err := client.Subscribe(ctx, marketdata.SubscribeRequest{Channel: marketdata.Channel(s.Channel), Symbols: s.Symbols}); err != nil {
			return clientRun{}, err
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		return run, fmt.Errorf("after %d messages: %w", count, ctx.Err())
	case <-client.Done():
		<-drained
		return run, fmt.Errorf("the client ended: %w", errClosed(client))
	}
	checksum.Add(sum)
	st := client.Stats()
	run.stats = &st
	run.messages, run.elapsed = count, last.Sub(first)
	return run, nil
}
