package natsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// GatewayOption configures a Gateway. Zero selects a field's default;
// negative turns off the limits that have an off.
type GatewayOption struct {
	// Conn is the NATS connection the gateway publishes and answers on;
	// the gateway never closes it. Required.
	Conn *nats.Conn
	// Stock and FutOpt are the pools the gateway holds, one per product it
	// serves; at least one is required. Their Client option is the
	// template of every Fugle connection (endpoint, credential, timeouts);
	// the gateway adds its own FrameTap in front of any given, and reads
	// the pool's ordered stream for lifecycle events.
	Stock, FutOpt *marketdata.PoolOption
	// Name identifies the gateway in gap markers, replies, metrics and its
	// lifecycle subject. Default: host name and process id.
	Name string
	// Prefix is the first token of every subject. Default "fugle".
	Prefix string
	// Stream is the JetStream stream's name. Default "FUGLE".
	Stream string
	// MaxAge bounds how long the stream keeps a frame. Default 24 h, a
	// trading day with room; negative: no limit.
	MaxAge time.Duration
	// MaxBytes bounds the stream's size; the oldest frames go first.
	// Default 8 GiB; negative: no limit.
	MaxBytes int64
	// Replicas is the stream's replica count in a cluster. Default 1.
	Replicas int
	// MemoryStorage keeps the stream in memory instead of files. Default
	// false.
	MemoryStorage bool
	// Duplicates is the window within which JetStream drops a frame whose
	// message id it has seen (a second gateway's copy, a snapshot sent
	// again after a restart). Each id in the window costs the server
	// memory. Default 1 min.
	Duplicates time.Duration
	// Lease is how long a consumer's subscriptions last without renewal;
	// consumers renew at a third of it. Default 30 s.
	Lease time.Duration
	// Registerer receives the gateway's metrics. Default: a registry of the
	// gateway's own, served by MetricsHandler.
	Registerer prometheus.Registerer
	// Logger receives the gateway's records. Default nil: silent.
	Logger *slog.Logger
}

// Defaults of GatewayOption.
const (
	DefaultMaxAge     = 24 * time.Hour
	DefaultMaxBytes   = 8 << 30
	DefaultDuplicates = time.Minute
	DefaultLease      = 30 * time.Second
)

// Gateway holds Fugle connections for many consumers and republishes the
// feed on NATS JetStream. See the package documentation.
type Gateway struct {
	opt   GatewayOption
	nc    *nats.Conn
	js    jetstream.JetStream
	pools map[string]*marketdata.Pool
	taps  map[string]*tap
	// products are the per-frame metrics of each product, looked up once.
	products map[string]*productMetrics
	stream   jetstream.Stream
	metrics  *metrics
	reg      *prometheus.Registry
	log      *slog.Logger

	out  *outbox
	stop chan struct{}
	wg   sync.WaitGroup

	reqs    chan *nats.Msg
	sub     *nats.Subscription
	holders map[Key]map[string]time.Time // owned by the control loop

	mu      sync.Mutex
	started bool
	closed  bool
}

// NewGateway checks opt and builds the gateway's pools; Start connects.
func NewGateway(opt GatewayOption) (*Gateway, error) {
	if opt.Conn == nil {
		return nil, errors.New("natsbus: GatewayOption.Conn is required")
	}
	if opt.Stock == nil && opt.FutOpt == nil {
		return nil, errors.New("natsbus: GatewayOption needs Stock, FutOpt or both")
	}
	if opt.Name == "" {
		host, _ := os.Hostname()
		opt.Name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix
	}
	if opt.Stream == "" {
		opt.Stream = DefaultStream
	}
	opt.MaxAge = orDefault(opt.MaxAge, DefaultMaxAge)
	opt.MaxBytes = orDefault(opt.MaxBytes, DefaultMaxBytes)
	opt.Duplicates = orDefault(opt.Duplicates, DefaultDuplicates)
	opt.Lease = orDefault(opt.Lease, DefaultLease)
	opt.Replicas = max(opt.Replicas, 1)
	g := &Gateway{
		opt: opt, nc: opt.Conn, pools: map[string]*marketdata.Pool{}, taps: map[string]*tap{}, log: opt.Logger,
		stop: make(chan struct{}),
		reqs: make(chan *nats.Msg, 256), holders: map[Key]map[string]time.Time{},
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.out = newOutbox(g)
	reg := opt.Registerer
	if reg == nil {
		g.reg = prometheus.NewRegistry()
		reg = g.reg
	}
	var err error
	if g.metrics, err = newMetrics(reg, opt.Name); err != nil {
		return nil, err
	}
	g.products = map[string]*productMetrics{Stock: g.metrics.of(Stock), FutOpt: g.metrics.of(FutOpt)}
	if g.js, err = jetstream.New(g.nc); err != nil {
		return nil, err
	}
	for product, po := range map[string]*marketdata.PoolOption{Stock: opt.Stock, FutOpt: opt.FutOpt} {
		if po == nil {
			continue
		}
		p := *po
		tp := newTap(g, product, p.Client.Tap)
		g.taps[product] = tp
		p.Client.Tap = tp
		// The gateway reads the ordered stream for its events only: it
		// must never hold the Fugle reader back. The tap republished the
		// values' frames, so the values themselves go nowhere: no-op
		// handlers keep them off the stream (no boxing, no hand-off).
		p.Client.Ordered = true
		p.Client.DropPolicy = marketdata.DropNewest
		p.Client.Handlers = discardValues(p.Client.Handlers)
		pool, err := marketdata.NewPool(p)
		if err != nil {
			return nil, fmt.Errorf("natsbus: %s: %w", product, err)
		}
		g.pools[product] = pool
	}
	return g, nil
}

// discardValues fills the handlers h leaves unset with ones that do
// nothing.
func discardValues(h marketdata.Handlers) marketdata.Handlers {
	if h.Trade == nil {
		h.Trade = func(marketdata.Trade) {}
	}
	if h.Candle == nil {
		h.Candle = func(marketdata.Candle) {}
	}
	if h.Book == nil {
		h.Book = func(marketdata.Book) {}
	}
	if h.Aggregate == nil {
		h.Aggregate = func(marketdata.Aggregate) {}
	}
	if h.Index == nil {
		h.Index = func(marketdata.Index) {}
	}
	return h
}

func orDefault[T int64 | time.Duration](v, def T) T {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

// Name is the gateway's name.
func (g *Gateway) Name() string { return g.opt.Name }

// Start creates or updates the stream, connects the pools and starts
// answering consumers. It returns once all of that is done.
func (g *Gateway) Start(ctx context.Context) error {
	g.mu.Lock()
	if g.started || g.closed {
		g.mu.Unlock()
		return errors.New("natsbus: gateway already started or closed")
	}
	if err := g.out.open(); err != nil {
		g.mu.Unlock()
		return err
	}
	g.started = true
	g.mu.Unlock()
	go g.out.run()
	if err := g.ensureStream(ctx); err != nil {
		return err
	}
	for product, p := range g.pools {
		g.wg.Add(1)
		go g.lifecycle(product, p)
		if err := p.Connect(ctx); err != nil {
			return fmt.Errorf("natsbus: %s: %w", product, err)
		}
	}
	sub, err := g.nc.Subscribe(g.opt.Prefix+".control.*", func(m *nats.Msg) {
		select {
		case g.reqs <- m:
		case <-g.stop:
		}
	})
	if err != nil {
		return err
	}
	g.sub = sub
	g.wg.Add(1)
	go g.control()
	// The server has the subscription once the flush returns: a request
	// sent after Start must not find no responders.
	if err := g.nc.FlushWithContext(ctx); err != nil {
		return err
	}
	g.log.Info("gateway started", "gateway", g.opt.Name, "stream", g.opt.Stream, "prefix", g.opt.Prefix)
	return nil
}

func (g *Gateway) ensureStream(ctx context.Context) error {
	cfg := jetstream.StreamConfig{
		Name:       g.opt.Stream,
		Subjects:   []string{g.opt.Prefix + "." + Stock + ".>", g.opt.Prefix + "." + FutOpt + ".>"},
		MaxAge:     g.opt.MaxAge,
		MaxBytes:   g.opt.MaxBytes,
		Replicas:   g.opt.Replicas,
		Duplicates: g.opt.Duplicates,
		Discard:    jetstream.DiscardOld,
		Storage:    jetstream.FileStorage,
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = -1
	}
	if g.opt.MemoryStorage {
		cfg.Storage = jetstream.MemoryStorage
	}
	st, err := g.js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return fmt.Errorf("natsbus: stream %s: %w", g.opt.Stream, err)
	}
	g.stream = st
	return nil
}

// MetricsHandler serves the gateway's metrics in the Prometheus format
// (nil when GatewayOption.Registerer was given: serve that instead).
func (g *Gateway) MetricsHandler() http.Handler {
	if g.reg == nil {
		return nil
	}
	return promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{})
}

// Pool returns the pool serving product, or nil.
func (g *Gateway) Pool(product string) *marketdata.Pool { return g.pools[product] }

// Close stops answering consumers, closes the Fugle connections (marking
// a gap on each of their keys) and waits for the publishes in flight. The
// NATS connection stays open.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	started := g.started
	g.mu.Unlock()
	if g.sub != nil {
		_ = g.sub.Unsubscribe()
	}
	g.out.release()
	var errs []error
	for _, p := range g.pools {
		errs = append(errs, p.Close())
	}
	close(g.stop)
	g.wg.Wait()
	if started && !g.out.close(5*time.Second) {
		errs = append(errs, errors.New("natsbus: publishes still unacknowledged after 5 s"))
	}
	g.out.shut()
	return errors.Join(errs...)
}

func (g *Gateway) publishMarker(k Key, kind string, m marker, at time.Time) {
	g.metrics.gaps.WithLabelValues(k.Product).Inc()
	msg := markerMsg(g.opt.Prefix, g.opt.Name, k, kind, m, at)
	g.out.push(&entry{subject: msg.Subject, data: msg.Data, header: msg.Header, at: at.UnixNano(), m: g.products[k.Product]})
}

// stored counts a publish JetStream acknowledged.
func (g *Gateway) stored(e *entry, duplicate bool) {
	if duplicate {
		e.m.duplicates.Inc()
		return
	}
	if e.header != nil { // a gap marker
		return
	}
	e.m.published.Inc()
	e.m.latency.Observe(time.Since(time.Unix(0, e.at)).Seconds())
}

// lose counts and logs a frame given up on.
func (g *Gateway) lose(e *entry, why string) {
	e.m.lost.Inc()
	g.log.Error("frame lost", "gateway", g.opt.Name, "subject", e.subject, "why", why)
}

// lifecycle reads a pool's ordered stream for its events: values are the
// tap's business. Events go to the log, the metrics and the gateway's
// lifecycle subject.
func (g *Gateway) lifecycle(product string, p *marketdata.Pool) {
	defer g.wg.Done()
	subject := g.opt.Prefix + ".gateway." + g.opt.Name + ".events"
	for m := range p.Messages() {
		e, ok := m.(marketdata.Event)
		if !ok {
			continue
		}
		switch e.(type) {
		case marketdata.Heartbeat, marketdata.Pong:
			continue
		case marketdata.Reconnected:
			g.metrics.reconnects.WithLabelValues(product).Inc()
		}
		g.log.Info("fugle "+product, "gateway", g.opt.Name, "event", e.String())
		body, _ := json.Marshal(struct {
			Gateway string `json:"gateway"`
			Product string `json:"product"`
			Type    string `json:"type"`
			Text    string `json:"text"`
			Time    int64  `json:"time"`
		}{g.opt.Name, product, fmt.Sprintf("%T", e), e.String(), time.Now().UnixMicro()})
		_ = g.nc.Publish(subject, body)
	}
}

// control answers consumers and expires their leases. It alone owns the
// holders, so requests apply one at a time.
func (g *Gateway) control() {
	defer g.wg.Done()
	t := time.NewTicker(max(g.opt.Lease/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case m := <-g.reqs:
			g.handle(m)
		case now := <-t.C:
			g.expire(now)
		case <-g.stop:
			return
		}
	}
}

func (g *Gateway) handle(m *nats.Msg) {
	var req request
	if err := json.Unmarshal(m.Data, &req); err != nil || req.Consumer == "" {
		g.respond(m, &wireError{Code: codeBadRequest, Message: "not a request"})
		return
	}
	keys := make([]Key, 0, len(req.Keys))
	for _, w := range req.Keys {
		k := Key(w)
		if err := k.check(); err != nil {
			g.respond(m, &wireError{Code: codeInvalid, Message: err.Error()})
			return
		}
		if g.pools[k.Product] == nil {
			g.respond(m, &wireError{Code: codeInvalid, Message: "this gateway serves no " + k.Product})
			return
		}
		keys = append(keys, k)
	}
	switch m.Subject[len(g.opt.Prefix)+1:] {
	case subjSubscribe:
		g.respond(m, g.hold(req.Consumer, keys))
	case subjRenew:
		// A renewal names the consumer's whole set: a restarted gateway, or
		// a second one, learns it and subscribes what it lacks.
		if werr := g.hold(req.Consumer, keys); werr != nil {
			g.log.Warn("renewal refused", "gateway", g.opt.Name, "consumer", req.Consumer, "err", werr.Message)
		}
	case subjUnsubscribe:
		g.release(req.Consumer, keys)
		g.respond(m, nil)
	default:
		g.respond(m, &wireError{Code: codeBadRequest, Message: "unknown control subject"})
	}
}

func (g *Gateway) respond(m *nats.Msg, werr *wireError) {
	if m.Reply == "" {
		return
	}
	body, _ := json.Marshal(reply{Gateway: g.opt.Name, Stream: g.opt.Stream, LeaseMS: g.opt.Lease.Milliseconds(), Error: werr})
	_ = m.Respond(body)
}

// hold gives consumer a lease on keys, subscribing at Fugle those no one
// held. Either every key is held afterwards or none of the new ones is.
func (g *Gateway) hold(consumer string, keys []Key) *wireError {
	var fresh []Key
	for _, k := range keys {
		if len(g.holders[k]) == 0 {
			fresh = append(fresh, k)
		}
	}
	g.reopenGaps(fresh)
	if werr := g.subscribe(fresh); werr != nil {
		return werr
	}
	until := time.Now().Add(g.opt.Lease)
	for _, k := range keys {
		h := g.holders[k]
		if h == nil {
			h = map[string]time.Time{}
			g.holders[k] = h
		}
		h[consumer] = until
		g.gauge(k)
	}
	return nil
}

// reopenGaps finds the keys whose subject ends in a gap start (a gateway
// closed while holding them, this one before a restart, say), so that the
// subscription about to be made closes the gap with a marker. It stops
// looking at the first lookup that fails other than by finding nothing:
// while the stream has no leader each would wait out its timeout, and
// consumers' requests queue behind them.
func (g *Gateway) reopenGaps(keys []Key) {
	for _, k := range keys {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		m, err := g.stream.GetLastMsgForSubject(ctx, k.Subject(g.opt.Prefix))
		cancel()
		switch {
		case err == nil:
			if m.Header.Get(headerMarker) == markerGapStart {
				g.taps[k.Product].reopen(k, m.Time)
			}
		case errors.Is(err, jetstream.ErrMsgNotFound):
		default:
			g.log.Warn("gap lookups stopped", "gateway", g.opt.Name, "subject", k.Subject(g.opt.Prefix), "err", err)
			return
		}
	}
}

// release drops consumer's hold on keys, unsubscribing at Fugle those no
// one holds any more.
func (g *Gateway) release(consumer string, keys []Key) {
	var gone []Key
	for _, k := range keys {
		h := g.holders[k]
		if _, ok := h[consumer]; !ok {
			continue
		}
		delete(h, consumer)
		if len(h) == 0 {
			delete(g.holders, k)
			gone = append(gone, k)
		}
		g.gauge(k)
	}
	g.unsubscribe(gone)
}

// expire releases the keys of consumers whose lease lapsed.
func (g *Gateway) expire(now time.Time) {
	var gone []Key
	for k, h := range g.holders {
		for c, until := range h {
			if now.After(until) {
				delete(h, c)
				g.log.Info("lease lapsed", "gateway", g.opt.Name, "consumer", c, "key", k.String())
			}
		}
		if len(h) == 0 {
			delete(g.holders, k)
			gone = append(gone, k)
		}
		g.gauge(k)
	}
	g.unsubscribe(gone)
}

func (g *Gateway) gauge(k Key) {
	n := len(g.holders[k])
	labels := []string{k.Product, string(k.Channel), k.Symbol, modifierOf(k)}
	if n == 0 {
		g.metrics.consumers.DeleteLabelValues(labels...)
	} else {
		g.metrics.consumers.WithLabelValues(labels...).Set(float64(n))
	}
	count := map[string]int{}
	for k := range g.holders {
		count[k.Product]++
	}
	for product := range g.pools {
		g.metrics.subscriptions.WithLabelValues(product).Set(float64(count[product]))
	}
}

// requests groups keys into one SubscribeRequest per product, channel and
// modifiers.
func requests(keys []Key) map[string][]marketdata.SubscribeRequest {
	type group struct {
		product            string
		channel            marketdata.Channel
		oddLot, afterHours bool
	}
	by := map[group][]string{}
	var order []group
	for _, k := range keys {
		gr := group{k.Product, k.Channel, k.IntradayOddLot, k.AfterHours}
		if _, ok := by[gr]; !ok {
			order = append(order, gr)
		}
		by[gr] = append(by[gr], k.Symbol)
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].product < order[j].product })
	out := map[string][]marketdata.SubscribeRequest{}
	for _, gr := range order {
		out[gr.product] = append(out[gr.product], marketdata.SubscribeRequest{Channel: gr.channel, Symbols: by[gr], IntradayOddLot: gr.oddLot, AfterHours: gr.afterHours})
	}
	return out
}

const fugleTimeout = 15 * time.Second

func (g *Gateway) subscribe(keys []Key) *wireError {
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), fugleTimeout)
	defer cancel()
	var done []marketdata.SubscribeRequest
	var doneProducts []string
	for product, reqs := range requests(keys) {
		for _, r := range reqs {
			err := g.pools[product].Subscribe(ctx, r)
			var unconfirmed *marketdata.UnconfirmedError
			if err == nil || errors.As(err, &unconfirmed) {
				// Unconfirmed keys stay wanted and are requested again.
				done, doneProducts = append(done, r), append(doneProducts, product)
				continue
			}
			for i, d := range done {
				_ = g.pools[doneProducts[i]].Unsubscribe(ctx, d)
			}
			g.log.Warn("subscription refused", "gateway", g.opt.Name, "product", product, "channel", r.Channel, "symbols", r.Symbols, "err", err)
			return wireErrorOf(err)
		}
	}
	return nil
}

func wireErrorOf(err error) *wireError {
	var se *marketdata.ServerError
	switch {
	case errors.Is(err, marketdata.ErrPlanFull):
		return &wireError{Code: codePlanFull, Message: err.Error()}
	case errors.As(err, &se):
		return &wireError{Code: codeRefused, Message: err.Error()}
	}
	return &wireError{Code: codeUnavailable, Message: err.Error()}
}

func (g *Gateway) unsubscribe(keys []Key) {
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), fugleTimeout)
	defer cancel()
	for product, reqs := range requests(keys) {
		for _, r := range reqs {
			if err := g.pools[product].Unsubscribe(ctx, r); err != nil {
				g.log.Warn("unsubscribe failed", "gateway", g.opt.Name, "product", product, "channel", r.Channel, "symbols", r.Symbols, "err", err)
			}
		}
	}
}
