// Command rest prints answers of the Fugle MarketData REST API as JSON.
//
//	FUGLE_API_KEY=... go run ./examples/rest quote 2330
//	go run ./examples/rest trades 2330 -limit 5
//	go run ./examples/rest -futopt candles TXFC4/TXFD4 -timeframe 5
//	go run ./examples/rest -base http://127.0.0.1:8080/marketdata tickers
//
// Commands: quote, ticker, trades, candles, volumes, tickers (stock, or
// contracts with -futopt), stats. Flags may come before or after them.
// -base takes a base URL in the official SDKs' form, host and prefix (the
// client adds /v1.0), such as the one cmd/mockserver prints with http://.
// Without FUGLE_API_KEY (and without -base) it starts the mock server
// in-process, publishes a simulated morning of trades to it, and says so on
// stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/messages"
	"github.com/go-fugle/marketdata/rest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	base       string
	futopt     bool
	oddLot     bool
	afterHours bool
	limit      int
	offset     int
	all        bool
	timeframe  string
	typ        string
	product    string
	timeout    time.Duration
	command    string
	symbol     string
}

const usage = `usage: rest [flags] command [symbol]
commands: quote, ticker, trades, candles, volumes, tickers, stats`

// parseFlags accepts flags before and after the positional arguments.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("rest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	var cfg config
	fs.StringVar(&cfg.base, "base", "", "base URL, host and prefix such as http://127.0.0.1:8080/marketdata (default: the service, or the in-process mock without FUGLE_API_KEY)")
	fs.BoolVar(&cfg.futopt, "futopt", false, "futures and options instead of stocks")
	fs.BoolVar(&cfg.oddLot, "oddlot", false, "intraday odd lots (stock)")
	fs.BoolVar(&cfg.afterHours, "afterhours", false, "night session (futures and options)")
	fs.IntVar(&cfg.limit, "limit", 0, "trades: page size (default: the server's, 50)")
	fs.IntVar(&cfg.offset, "offset", 0, "trades: rows to skip")
	fs.BoolVar(&cfg.all, "all", false, "trades: every trade of the day, walking the pages")
	fs.StringVar(&cfg.timeframe, "timeframe", "", "candles: minutes per bar")
	fs.StringVar(&cfg.typ, "type", "", "tickers: EQUITY, INDEX, WARRANT, ODDLOT (stock; default EQUITY) or FUTURE, OPTION (futopt; default FUTURE)")
	fs.StringVar(&cfg.product, "product", "", "tickers with -futopt: a product such as TXF")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "give up after this long")
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return cfg, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) == 0 || len(pos) > 2 {
		return cfg, errors.New(usage)
	}
	cfg.command = pos[0]
	if len(pos) == 2 {
		cfg.symbol = pos[1]
	}
	switch cfg.command {
	case "tickers":
		if cfg.symbol != "" {
			return cfg, errors.New("tickers takes no symbol")
		}
	case "quote", "ticker", "trades", "candles", "volumes", "stats":
		if cfg.symbol == "" {
			return cfg, fmt.Errorf("%s needs a symbol", cfg.command)
		}
	default:
		return cfg, fmt.Errorf("unknown command %q\n%s", cfg.command, usage)
	}
	return cfg, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "rest:", err)
		return 2
	}
	opt := rest.Option{BaseURL: cfg.base}
	if os.Getenv(rest.APIKeyEnv) == "" && cfg.base == "" {
		srv := marketdatatest.NewServer(marketdatatest.WithAPIKey("simulated"))
		defer srv.Close()
		simulateMorning(srv, cfg)
		opt.APIKey, opt.BaseURL = "simulated", srv.RESTURL()
		fmt.Fprintf(stderr, "rest: %s is not set: asking the in-process mock at %s, which holds a simulated morning\n", rest.APIKeyEnv, srv.RESTURL())
	} else if os.Getenv(rest.APIKeyEnv) == "" {
		opt.APIKey = "simulated" // another mock, such as cmd/mockserver, takes any key
	}
	rc, err := rest.NewClient(opt)
	if err != nil {
		fmt.Fprintln(stderr, "rest:", err)
		return 2
	}
	defer rc.CloseIdleConnections()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	v, err := call(ctx, rc, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "rest:", describe(err))
		return 1
	}
	out, err := present(v)
	if err == nil {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(out)
	}
	if err != nil {
		fmt.Fprintln(stderr, "rest:", err)
		return 1
	}
	return 0
}

// call runs the command.
func call(ctx context.Context, rc *rest.Client, cfg config) (any, error) {
	stock, fo := rc.Stock.Intraday, rc.FutOpt.Intraday
	sp := rest.IntradayParams{OddLot: cfg.oddLot}
	fp := rest.FutOptParams{AfterHours: cfg.afterHours}
	switch cfg.command {
	case "quote":
		if cfg.futopt {
			return fo.Quote(ctx, cfg.symbol, fp)
		}
		return stock.Quote(ctx, cfg.symbol, sp)
	case "ticker":
		if cfg.futopt {
			return fo.Ticker(ctx, cfg.symbol, fp)
		}
		return stock.Ticker(ctx, cfg.symbol, sp)
	case "trades":
		if cfg.all {
			return allTrades(ctx, rc, cfg)
		}
		p := rest.TradesParams{OddLot: cfg.oddLot, AfterHours: cfg.afterHours, Offset: cfg.offset, Limit: cfg.limit}
		if cfg.futopt {
			return fo.Trades(ctx, cfg.symbol, p)
		}
		return stock.Trades(ctx, cfg.symbol, p)
	case "candles":
		p := rest.CandlesParams{OddLot: cfg.oddLot, AfterHours: cfg.afterHours, Timeframe: cfg.timeframe}
		if cfg.futopt {
			return fo.Candles(ctx, cfg.symbol, p)
		}
		return stock.Candles(ctx, cfg.symbol, p)
	case "volumes":
		if cfg.futopt {
			return fo.Volumes(ctx, cfg.symbol, fp)
		}
		return stock.Volumes(ctx, cfg.symbol, sp)
	case "tickers":
		if cfg.futopt {
			return fo.Tickers(ctx, rest.FutOptTickersParams{Type: orDefault(cfg.typ, "FUTURE"), Product: cfg.product, AfterHours: cfg.afterHours})
		}
		return stock.Tickers(ctx, rest.StockTickersParams{Type: orDefault(cfg.typ, "EQUITY")})
	case "stats":
		return rc.Stock.Historical.Stats(ctx, cfg.symbol)
	}
	return nil, fmt.Errorf("unknown command %q", cfg.command)
}

func allTrades(ctx context.Context, rc *rest.Client, cfg config) (any, error) {
	p := rest.AllTradesParams{OddLot: cfg.oddLot, AfterHours: cfg.afterHours, PageSize: cfg.limit}
	seq := rc.Stock.Intraday.AllTrades(ctx, cfg.symbol, p)
	if cfg.futopt {
		seq = rc.FutOpt.Intraday.AllTrades(ctx, cfg.symbol, p)
	}
	all := &rest.Trades{Symbol: cfg.symbol, Data: []messages.Trade{}}
	for t, err := range seq {
		if err != nil {
			return nil, err
		}
		all.Data = append(all.Data, t)
		all.Date, all.Type, all.Exchange, all.Market = "", t.Type, t.Exchange, t.Market
	}
	return all, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// describe names the cause of an error in one line.
func describe(err error) string {
	var ae *rest.APIError
	switch {
	case errors.Is(err, rest.ErrUnauthorized):
		return "the server rejected the credential (check " + rest.APIKeyEnv + "): " + err.Error()
	case errors.Is(err, rest.ErrForbidden):
		return "the plan does not include this endpoint: " + err.Error()
	case errors.Is(err, rest.ErrNotFound):
		return "no such symbol today: " + err.Error()
	case errors.Is(err, rest.ErrRateLimited) && errors.As(err, &ae):
		return fmt.Sprintf("over the plan's requests per minute (the server asks to wait %v): %v", ae.RetryAfter, err)
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time: " + err.Error()
	}
	return err.Error()
}

// simulateMorning publishes a random walk of trades since 09:00 today for
// the symbol asked (and a few others, for tickers), as a feed would, so that
// the mock's REST side has a day to answer from.
func simulateMorning(srv *marketdatatest.Server, cfg config) {
	symbols := []string{"2330", "2317", "2454"}
	if cfg.futopt {
		symbols = []string{"TXFA6", "TXFB6", "MXFA6"}
	}
	if cfg.symbol != "" && cfg.symbol != symbols[0] {
		symbols = append(symbols, cfg.symbol)
	}
	taipei := time.FixedZone("Asia/Taipei", 8*3600)
	now := time.Now().In(taipei)
	open := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, taipei)
	if open.After(now) {
		open = open.AddDate(0, 0, -1) // the last morning that has begun
	}
	for k, sym := range symbols {
		price := 100.0 + 900*float64(k%3)
		if cfg.futopt {
			price = 22000
		}
		seed := uint64(k + 1)
		var volume int64
		for i := range 240 {
			seed = seed*6364136223846793005 + 1442695040888963407
			step := float64(int64(seed>>33)%3 - 1)
			tick := 1.0
			if !cfg.futopt {
				tick = math.Max(0.5, math.Round(price/1000)*0.5)
			}
			price += step * tick
			size := int64(seed>>40)%20 + 1
			volume += size
			at := open.Add(time.Duration(i) * 15 * time.Second)
			serial := int64(1000 + i*7)
			if cfg.futopt {
				payload := fmt.Sprintf(`{"symbol":%q,"type":"FUTURE","exchange":"TAIFEX","trades":[{"price":%g,"size":%d,"bid":%g,"ask":%g}],"total":{"tradeVolume":%d},"time":%d,"serial":%d}`,
					sym, price, size, price-tick, price, volume, at.UnixMicro(), serial)
				srv.Publish("trades", sym, []byte(payload))
				continue
			}
			srv.Publish("trades", sym, marketdatatest.TradeJSON(marketdatatest.Trade{
				Symbol: sym, Price: price, Size: size, Bid: price - tick, Ask: price, Volume: volume, Serial: serial, Time: at,
			}))
		}
	}
}
