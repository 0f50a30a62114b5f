// Command stream prints live market data, in the order it arrives.
//
//	FUGLE_API_KEY=... go run ./examples/stream -symbols 2330,2317 -channels trades,books
//
// Without FUGLE_API_KEY it starts a simulated feed in-process and streams
// from that, saying so on stderr. -endpoint takes a streaming URL or a base
// URL such as the one cmd/mockserver prints (ws://127.0.0.1:8080/marketdata),
// composed as the official SDKs do. -v logs the client's life to stderr.
// -plan free|developer|advanced|NxM streams through a pool of the plan's
// connections, for more subscriptions than one connection holds. -backfill
// heals the gaps of reconnects over REST, printing backfilled values marked
// as such; the REST base comes from the streaming endpoint (ws to http, wss
// to https, same host and prefix) unless -rest says otherwise.
// Ctrl-C (or -for) closes the connection in order and exits 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/messages"
	"github.com/go-fugle/marketdata/record"
	"github.com/go-fugle/marketdata/rest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	endpoint   string
	symbols    []string
	channels   []marketdata.Channel
	oddLot     bool
	afterHours bool
	json       bool
	duration   time.Duration
	rate       float64
	verbose    bool
	record     string
	plan       marketdata.Plan
	backfill   bool
	rest       string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	var symbols, channels string
	fs.StringVar(&cfg.endpoint, "endpoint", "", "streaming URL (default: the stock endpoint, or the simulated feed without FUGLE_API_KEY)")
	fs.StringVar(&symbols, "symbols", "2330,2317", "comma-separated symbols")
	fs.StringVar(&channels, "channels", "trades,books", "comma-separated channels: trades, candles, books, aggregates, indices")
	fs.BoolVar(&cfg.oddLot, "oddlot", false, "intraday odd lots (stock)")
	fs.BoolVar(&cfg.afterHours, "afterhours", false, "night session (futures and options)")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object per event (NDJSON)")
	fs.DurationVar(&cfg.duration, "for", 0, "stop after this long (0: until Ctrl-C)")
	fs.Float64Var(&cfg.rate, "rate", 5, "simulated feed: frames per second per subscription")
	fs.BoolVar(&cfg.verbose, "v", false, "log connects, reconnects, retries and drops to stderr")
	fs.StringVar(&cfg.record, "record", "", "record the session's frames to this file (.ndjson, .ndjson.gz or .ndjson.zst)")
	fs.BoolVar(&cfg.backfill, "backfill", false, "after a reconnect, fetch the trades and candles missed over REST")
	fs.StringVar(&cfg.rest, "rest", "", "REST base URL for -backfill (default: from the streaming endpoint)")
	plan := fs.String("plan", "", "stream through a pool of this plan's connections: free, developer, advanced or NxM (connections x subscriptions each)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	for _, s := range strings.Split(symbols, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.symbols = append(cfg.symbols, s)
		}
	}
	for _, ch := range strings.Split(channels, ",") {
		switch ch = strings.TrimSpace(ch); ch {
		case "trades", "candles", "books", "aggregates", "indices":
			cfg.channels = append(cfg.channels, marketdata.Channel(ch))
		case "":
		default:
			return cfg, fmt.Errorf("unknown channel %q", ch)
		}
	}
	if *plan != "" {
		p, err := marketdata.ParsePlan(*plan)
		if err != nil {
			return cfg, err
		}
		cfg.plan = p
	}
	if len(cfg.symbols) == 0 || len(cfg.channels) == 0 {
		return cfg, errors.New("need at least one symbol and one channel")
	}
	return cfg, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "stream:", err)
		return 2
	}

	// A bad minute at start-up (the service restarting, the connection
	// limit, a refused dial) is ridden out; a wrong key still ends it.
	opt := marketdata.WebSocketClientOption{Endpoint: streamingURL(cfg.endpoint, cfg.afterHours), RetryConnect: true, Ordered: true}
	if cfg.verbose {
		opt.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	switch {
	case os.Getenv(marketdata.APIKeyEnv) != "":
	case opt.Endpoint != "":
		// A mock or a replay: any credential will do.
		opt.APIKey = "no-key"
		fmt.Fprintf(stderr, "stream: %s is not set: connecting to %s with a placeholder key\n", marketdata.APIKeyEnv, opt.Endpoint)
	default:
		srv := marketdatatest.NewServer(marketdatatest.WithSimulatedFeed(cfg.rate))
		defer srv.Close()
		opt.APIKey = "simulated"
		opt.Endpoint = srv.StockURL()
		if cfg.afterHours {
			opt.Endpoint = srv.FutOptURL()
		}
		fmt.Fprintf(stderr, "stream: %s is not set: streaming from a simulated feed at %s\n", marketdata.APIKeyEnv, opt.Endpoint)
	}

	if cfg.backfill {
		base := cfg.rest
		if base == "" {
			base = restBase(opt.Endpoint)
		}
		rc, err := rest.NewClient(rest.Option{BaseURL: base, APIKey: opt.APIKey})
		if err != nil {
			fmt.Fprintln(stderr, "stream:", err)
			return 2
		}
		defer rc.CloseIdleConnections()
		opt.Backfill = rc.Backfill()
	}
	if cfg.record != "" {
		w, err := record.Create(cfg.record, record.Options{Endpoint: opt.Endpoint, Product: productOf(opt.Endpoint), SDK: marketdata.Version})
		if err != nil {
			fmt.Fprintln(stderr, "stream:", err)
			return 2
		}
		opt.Tap = w.ClientTap()
		defer func() {
			// After the client's Close (deferred later, run earlier).
			if err := w.Close(); err != nil {
				fmt.Fprintln(stderr, "stream: recording:", err)
			}
			if st := w.Stats(); st.Lost > 0 {
				fmt.Fprintf(stderr, "stream: recording lost %d frames (the disk was too slow)\n", st.Lost)
			}
		}()
	}

	var client marketdata.Stream
	if cfg.plan != (marketdata.Plan{}) {
		client, err = marketdata.NewPool(marketdata.PoolOption{Client: opt, Plan: cfg.plan})
	} else {
		client, err = marketdata.NewWebSocketClient(opt)
	}
	if err != nil {
		fmt.Fprintln(stderr, "stream:", err)
		return 2
	}
	defer client.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}

	p := printer{w: stdout, json: cfg.json}
	if err := connect(ctx, client, p, stderr); err != nil {
		_ = client.Close()
		if ctx.Err() != nil {
			return 0
		}
		fmt.Fprintln(stderr, "stream:", describe(err))
		return 1
	}
	for _, ch := range cfg.channels {
		req := marketdata.SubscribeRequest{Channel: ch, Symbols: cfg.symbols, IntradayOddLot: cfg.oddLot, AfterHours: cfg.afterHours}
		if err := client.Subscribe(ctx, req); err != nil {
			_ = client.Close()
			if ctx.Err() != nil {
				return 0
			}
			fmt.Fprintf(stderr, "stream: subscribe %s: %s\n", ch, describe(err))
			return 1
		}
	}

	go func() {
		<-ctx.Done()
		_ = client.Close()
	}()
	consume(client, p)
	// Every channel is closed: the client has ended, by Close or for good.
	if err := client.Err(); err != nil {
		fmt.Fprintln(stderr, "stream:", describe(err))
		return 1
	}
	return 0
}

// connect connects, printing what arrives meanwhile and saying on stderr
// why each retry is needed.
func connect(ctx context.Context, c marketdata.Stream, p printer, stderr io.Writer) error {
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(ctx) }()
	for {
		select {
		case err := <-errc:
			return err
		case m := <-c.Messages():
			if r, ok := m.(marketdata.Reconnecting); ok {
				fmt.Fprintf(stderr, "stream: could not connect (%v); retrying in %v (attempt %d)\n", r.Err, r.Delay.Round(time.Millisecond), r.Attempt)
			}
			p.message(m)
		}
	}
}

// metaOf finds a value's Meta.
func metaOf(v any) *messages.Meta {
	switch x := v.(type) {
	case *marketdata.Trade:
		return &x.Meta
	case *marketdata.Candle:
		return &x.Meta
	case *marketdata.Book:
		return &x.Meta
	case *marketdata.Aggregate:
		return &x.Meta
	case *marketdata.Index:
		return &x.Meta
	}
	return nil
}

// restBase is the REST base URL beside a streaming endpoint: ws becomes
// http and wss https, with the same host and the prefix before the version.
func restBase(endpoint string) string {
	if endpoint == "" {
		endpoint = marketdata.StockEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	u.Scheme = map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	for _, v := range []string{"/v1.0/", "/v1.1/"} {
		if i := strings.Index(u.Path, v); i >= 0 {
			u.Path = u.Path[:i]
		}
	}
	return u.String()
}

// productOf names the product an endpoint streams.
func productOf(endpoint string) string {
	if strings.Contains(endpoint, "/futopt/") {
		return "futopt"
	}
	return "stock"
}

// streamingURL turns a base URL (no /streaming at the end) into the
// streaming endpoint, as the official SDKs compose it.
func streamingURL(endpoint string, afterHours bool) string {
	if endpoint == "" || strings.HasSuffix(strings.TrimRight(endpoint, "/"), "/streaming") {
		return endpoint
	}
	product := "stock"
	if afterHours {
		product = "futopt"
	}
	return marketdata.Endpoint(endpoint, "v1.0", product)
}

// consume prints the ordered stream until the client has ended.
func consume(c marketdata.Stream, p printer) {
	for m := range c.All() {
		p.message(m)
	}
}

// describe names the cause of a final error in one line.
func describe(err error) string {
	var se *marketdata.ServerError
	var he *marketdata.HandshakeError
	switch {
	case errors.Is(err, marketdata.ErrUnauthorized):
		return "the server rejected the credential (check " + marketdata.APIKeyEnv + "): " + err.Error()
	case errors.As(err, &he):
		return err.Error()
	case errors.As(err, &se):
		return err.Error()
	}
	return err.Error()
}

type printer struct {
	w    io.Writer
	json bool
}

func (p printer) message(m marketdata.Message) {
	switch v := m.(type) {
	case marketdata.Trade:
		p.trade(v)
	case marketdata.Candle:
		p.line("candle", &v, fmt.Sprintf("%s %s O %g H %g L %g C %g V %d", v.Symbol, v.Date, v.Open, v.High, v.Low, v.Close, v.Volume))
	case marketdata.Book:
		p.book(v)
	case marketdata.Aggregate:
		p.line("aggregate", &v, fmt.Sprintf("%s last %g change %+g (%+.2f%%) volume %d", v.Symbol, v.LastPrice, v.Change, v.ChangePercent, v.Total.TradeVolume))
	case marketdata.Index:
		p.line("index", &v, fmt.Sprintf("%s %g", v.Symbol, v.Index))
	case marketdata.Event:
		p.event(v)
	}
}

func (p printer) trade(v marketdata.Trade) {
	text := fmt.Sprintf("%s %g x %d", v.Symbol, v.Price, v.Size)
	if len(v.Trades) > 0 {
		last := v.Trades[len(v.Trades)-1]
		text = fmt.Sprintf("%s %g x %d (%d fills) volume %d", v.Symbol, last.Price, last.Size, len(v.Trades), v.Total.TradeVolume)
	}
	if v.IsTrial {
		text += " trial"
	}
	p.line("trade", &v, text)
}

func (p printer) book(v marketdata.Book) {
	var bid, ask string
	if len(v.Bids) > 0 {
		bid = fmt.Sprintf("%g x %d", v.Bids[0].Price, v.Bids[0].Size)
	}
	if len(v.Asks) > 0 {
		ask = fmt.Sprintf("%g x %d", v.Asks[0].Price, v.Asks[0].Size)
	}
	p.line("book", &v, fmt.Sprintf("%s bid %s | ask %s", v.Symbol, bid, ask))
}

func (p printer) line(kind string, v any, text string) {
	if p.json {
		p.writeJSON(map[string]any{"type": kind, "data": present(v)})
		return
	}
	if m := metaOf(v); m != nil && m.Snapshot {
		text += " (snapshot)"
	} else if m != nil && m.Backfill {
		text += " (backfill)"
	}
	fmt.Fprintf(p.w, "%-9s %s\n", kind, text)
}

func (p printer) event(e marketdata.Event) {
	if !p.json {
		fmt.Fprintf(p.w, "%-9s %s\n", "event", e)
		return
	}
	obj := map[string]any{"type": "event", "text": e.String()}
	switch e := e.(type) {
	case marketdata.Connected:
		obj["event"], obj["conn"], obj["url"] = "connected", e.Conn, e.URL
	case marketdata.Authenticated:
		obj["event"], obj["conn"] = "authenticated", e.Conn
	case marketdata.Disconnected:
		obj["event"], obj["conn"], obj["code"], obj["reason"], obj["willReconnect"], obj["uptimeMs"] = "disconnected", e.Conn, e.Code, e.Reason, e.WillReconnect, e.Uptime.Milliseconds()
		if e.Err != nil {
			obj["error"] = e.Err.Error()
		}
	case marketdata.Reconnecting:
		obj["event"], obj["attempt"], obj["delayMs"] = "reconnecting", e.Attempt, e.Delay.Milliseconds()
		if e.Err != nil {
			obj["error"] = e.Err.Error()
		}
	case marketdata.Reconnected:
		obj["event"], obj["conn"], obj["attempts"], obj["downtimeMs"] = "reconnected", e.Conn, e.Attempts, e.Downtime.Milliseconds()
	case marketdata.Resubscribed:
		failed := make([]string, 0, len(e.Failed))
		for _, f := range e.Failed {
			failed = append(failed, f.Subscription.String()+": "+f.Err.Error())
		}
		unconfirmed := make([]string, 0, len(e.Unconfirmed))
		for _, u := range e.Unconfirmed {
			unconfirmed = append(unconfirmed, u.String())
		}
		obj["event"], obj["conn"], obj["restored"], obj["failed"], obj["unconfirmed"] = "resubscribed", e.Conn, len(e.Restored), failed, unconfirmed
	case marketdata.Heartbeat:
		obj["event"], obj["conn"], obj["time"] = "heartbeat", e.Conn, e.Time
	case marketdata.Pong:
		obj["event"], obj["conn"] = "pong", e.Conn
	case marketdata.ErrorEvent:
		obj["event"], obj["conn"], obj["error"] = "error", e.Conn, e.Err.Error()
	case marketdata.Unknown:
		obj["event"], obj["conn"], obj["name"], obj["raw"] = "unknown", e.Conn, e.Event, string(e.Raw)
	case marketdata.Backfilled:
		obj["event"], obj["conn"], obj["subscription"], obj["count"], obj["complete"] = "backfilled", e.Conn, e.Subscription.String(), e.Count, e.Complete
		if e.Err != nil {
			obj["error"] = e.Err.Error()
		}
	case marketdata.KeysMoved:
		obj["event"], obj["from"], obj["to"], obj["count"] = "moved", e.From, e.To, len(e.Subscriptions)
	case marketdata.KeysUnplaced:
		obj["event"], obj["from"], obj["count"] = "unplaced", e.From, len(e.Subscriptions)
	case marketdata.Dropped:
		obj["event"], obj["channel"], obj["count"], obj["total"], obj["durationMs"] = "dropped", e.Channel, e.Count, e.Total, e.Duration.Milliseconds()
	}
	p.writeJSON(obj)
}

func (p printer) writeJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"type": "error", "error": err.Error()})
	}
	b = append(b, '\n')
	_, _ = p.w.Write(b)
}
