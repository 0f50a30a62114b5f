// Command consume prints what a fugle-gateway publishes for its
// subscriptions, one JSON object per line (NDJSON), as examples/stream
// -json does for a direct connection.
//
//	cd natsbus && go run ./cmd/fugle-gateway &
//	go run ./examples/consume -symbols 2330,2317 -channels trades,books
//
// -durable NAME resumes where the last run with that name stopped. The
// code that reads the values is the same as for the WebSocket client: a
// natsbus.Client is a marketdata.Stream. Ctrl-C (or -for) releases the
// subscriptions and exits 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/natsbus"
	"github.com/nats-io/nats.go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	natsURL, product, durable string
	symbols                   []string
	channels                  []marketdata.Channel
	oddLot, afterHours        bool
	duration                  time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("consume", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	var symbols, channels string
	fs.StringVar(&cfg.natsURL, "nats", nats.DefaultURL, "NATS server or cluster (comma-separated URLs)")
	fs.StringVar(&cfg.product, "product", natsbus.Stock, "stock or futopt")
	fs.StringVar(&cfg.durable, "durable", "", "a durable consumer's name: resume where the last run with it stopped")
	fs.StringVar(&symbols, "symbols", "2330,2317", "comma-separated symbols")
	fs.StringVar(&channels, "channels", "trades,books", "comma-separated channels: trades, candles, books, aggregates, indices")
	fs.BoolVar(&cfg.oddLot, "oddlot", false, "intraday odd lots (stock)")
	fs.BoolVar(&cfg.afterHours, "afterhours", false, "night session (futopt)")
	fs.DurationVar(&cfg.duration, "for", 0, "stop after this long (0: until Ctrl-C)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	for _, s := range strings.Split(symbols, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.symbols = append(cfg.symbols, s)
		}
	}
	for _, c := range strings.Split(channels, ",") {
		if c = strings.TrimSpace(c); c != "" {
			cfg.channels = append(cfg.channels, marketdata.Channel(c))
		}
	}
	if len(cfg.symbols) == 0 || len(cfg.channels) == 0 {
		return cfg, errors.New("need at least one symbol and one channel")
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "consume:", err)
		return 2
	}
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	if err := consume(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "consume:", err)
		return 1
	}
	return 0
}

func consume(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	nc, err := nats.Connect(cfg.natsURL, nats.Name("fugle-consume"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("nats %s: %w", cfg.natsURL, err)
	}
	defer nc.Close()
	c, err := natsbus.NewClient(nc, natsbus.ClientOption{
		Product: cfg.product, Durable: cfg.durable,
		FeedOption: marketdata.FeedOption{Ordered: true},
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Connect(ctx); err != nil {
		return err
	}
	for _, ch := range cfg.channels {
		req := marketdata.SubscribeRequest{Channel: ch, Symbols: cfg.symbols, IntradayOddLot: cfg.oddLot, AfterHours: cfg.afterHours}
		if err := c.Subscribe(ctx, req); err != nil {
			return fmt.Errorf("subscribe %s: %w", ch, err)
		}
	}
	fmt.Fprintf(stderr, "consume: %s %v %v from %s\n", cfg.product, cfg.channels, cfg.symbols, nc.ConnectedUrlRedacted())
	enc := json.NewEncoder(stdout)
	for {
		m, err := c.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return c.Close()
			}
			return err
		}
		if err := enc.Encode(line(m)); err != nil {
			return err
		}
	}
}

// line is the NDJSON object of one message: its type and the value, or an
// event's name and text.
func line(m marketdata.Message) any {
	switch v := m.(type) {
	case marketdata.Trade:
		return map[string]any{"type": "trade", "data": v}
	case marketdata.Candle:
		return map[string]any{"type": "candle", "data": v}
	case marketdata.Book:
		return map[string]any{"type": "book", "data": v}
	case marketdata.Aggregate:
		return map[string]any{"type": "aggregate", "data": v}
	case marketdata.Index:
		return map[string]any{"type": "index", "data": v}
	case marketdata.Gap:
		return map[string]any{"type": "event", "event": "gap", "start": v.Start, "gateway": v.Source,
			"subscription": v.Subscription.String(), "conn": v.Conn, "downtimeMs": v.Downtime.Milliseconds(), "text": v.String()}
	case marketdata.Event:
		return map[string]any{"type": "event", "event": fmt.Sprintf("%T", v), "text": v.String()}
	}
	return map[string]any{"type": "unknown"}
}
