// Command fugle-gateway holds the Fugle streaming connections of one API
// key and republishes the feed on NATS JetStream, for any number of
// consumers (natsbus.Client, natsbus/examples/consume) on this machine or
// others.
//
//	cd natsbus && FUGLE_API_KEY=... go run ./cmd/fugle-gateway
//
// By default it starts an embedded NATS server with JetStream on
// 127.0.0.1:4222 (-listen) with its store under -store; -nats URL uses an
// existing server or cluster instead. Without FUGLE_API_KEY it streams a
// simulated feed, saying so. -endpoint takes a streaming URL or a base URL
// (such as the one cmd/mockserver prints), as examples/stream does.
// Prometheus metrics are served on -metrics. Ctrl-C (or -for) closes the
// Fugle connections in order, marking a gap on each key, and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/natsbus"
	"github.com/nats-io/nats.go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

type config struct {
	listen, store, natsURL, endpoint, metrics, name string
	products                                        []string
	plan                                            marketdata.Plan
	maxAge                                          time.Duration
	maxBytes                                        int64
	replicas                                        int
	memory                                          bool
	rate                                            float64
	lease, duration                                 time.Duration
	verbose                                         bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("fugle-gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.listen, "listen", natsbus.DefaultListen, "client address of the embedded NATS server")
	fs.StringVar(&cfg.store, "store", filepath.Join(os.TempDir(), "fugle-gateway"), "directory of the embedded server's JetStream store")
	fs.StringVar(&cfg.natsURL, "nats", "", "use this NATS server or cluster (comma-separated URLs) instead of an embedded one")
	fs.StringVar(&cfg.endpoint, "endpoint", "", "Fugle streaming URL or base URL (default: Fugle's, or a simulated feed without FUGLE_API_KEY)")
	fs.StringVar(&cfg.metrics, "metrics", "127.0.0.1:9464", "serve Prometheus metrics on this address at /metrics (empty: off)")
	fs.StringVar(&cfg.name, "name", "", "the gateway's name, unique among gateways (default: host name and process id)")
	products := fs.String("products", natsbus.Stock, "products to serve: stock, futopt or stock,futopt (each gets the whole -plan)")
	plan := fs.String("plan", "", "the key's plan: free, developer, advanced or NxM (connections x subscriptions each); default free, or advanced for the simulated feed")
	fs.DurationVar(&cfg.maxAge, "max-age", natsbus.DefaultMaxAge, "how long the stream keeps frames")
	fs.Int64Var(&cfg.maxBytes, "max-bytes", natsbus.DefaultMaxBytes, "the stream's size limit in bytes (oldest frames go first)")
	fs.IntVar(&cfg.replicas, "replicas", 1, "the stream's replicas, in a cluster")
	fs.BoolVar(&cfg.memory, "memory", false, "keep the stream in memory instead of files")
	fs.Float64Var(&cfg.rate, "rate", 5, "simulated feed: frames per second per subscription")
	fs.DurationVar(&cfg.lease, "lease", natsbus.DefaultLease, "how long a consumer's subscriptions last without renewal")
	fs.DurationVar(&cfg.duration, "for", 0, "stop after this long (0: until Ctrl-C)")
	fs.BoolVar(&cfg.verbose, "v", false, "log the gateway's and its Fugle connections' life to stderr")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	for _, p := range strings.Split(*products, ",") {
		switch p = strings.TrimSpace(p); p {
		case natsbus.Stock, natsbus.FutOpt:
			cfg.products = append(cfg.products, p)
		default:
			return cfg, fmt.Errorf("-products: unknown product %q", p)
		}
	}
	if *plan != "" {
		p, err := marketdata.ParsePlan(*plan)
		if err != nil {
			return cfg, err
		}
		cfg.plan = p
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "fugle-gateway:", err)
		return 2
	}
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	if err := serve(ctx, cfg, stderr); err != nil {
		fmt.Fprintln(stderr, "fugle-gateway:", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, cfg config, stderr io.Writer) error {
	var logger *slog.Logger
	if cfg.verbose {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	client := marketdata.WebSocketClientOption{RetryConnect: true, Logger: logger}
	base := cfg.endpoint
	switch {
	case os.Getenv(marketdata.APIKeyEnv) != "":
		if base == "" {
			base = marketdata.BaseURL
		}
	case base != "":
		client.APIKey = "no-key" // a mock or a replay: any credential will do
		fmt.Fprintf(stderr, "fugle-gateway: %s is not set: connecting to %s with a placeholder key\n", marketdata.APIKeyEnv, base)
	default:
		srv := marketdatatest.NewServer(marketdatatest.WithSimulatedFeed(cfg.rate))
		defer srv.Close()
		client.APIKey, base = "simulated", srv.URL()
		if cfg.plan == (marketdata.Plan{}) {
			cfg.plan = marketdata.PlanAdvanced
		}
		fmt.Fprintf(stderr, "fugle-gateway: %s is not set: streaming a simulated feed from %s\n", marketdata.APIKeyEnv, base)
	}

	natsURL := cfg.natsURL
	if natsURL == "" {
		ns, err := natsbus.RunServer(natsbus.ServerOption{Listen: cfg.listen, StoreDir: cfg.store})
		if err != nil {
			return err
		}
		defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
		natsURL = ns.ClientURL()
		fmt.Fprintf(stderr, "fugle-gateway: embedded NATS server with JetStream at %s, store %s\n", natsURL, cfg.store)
	}
	nc, err := nats.Connect(natsURL, nats.Name("fugle-gateway"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("nats %s: %w", natsURL, err)
	}
	defer nc.Close()

	opt := natsbus.GatewayOption{
		Conn: nc, Name: cfg.name, MaxAge: cfg.maxAge, MaxBytes: cfg.maxBytes,
		Replicas: cfg.replicas, MemoryStorage: cfg.memory, Lease: cfg.lease, Logger: logger,
	}
	for _, product := range cfg.products {
		c := client
		c.Endpoint = streamingURL(base, product)
		po := &marketdata.PoolOption{Client: c, Plan: cfg.plan}
		if product == natsbus.Stock {
			opt.Stock = po
		} else {
			opt.FutOpt = po
		}
	}
	g, err := natsbus.NewGateway(opt)
	if err != nil {
		return err
	}
	defer g.Close()
	if err := g.Start(ctx); err != nil {
		return err
	}
	if cfg.metrics != "" {
		addr, stopMetrics, err := serveMetrics(cfg.metrics, g.MetricsHandler())
		if err != nil {
			return err
		}
		defer stopMetrics()
		fmt.Fprintf(stderr, "fugle-gateway: metrics at http://%s/metrics\n", addr)
	}
	fmt.Fprintf(stderr, "fugle-gateway: %s serving %s on %s; consumers: go run ./examples/consume -nats %s\n", g.Name(), strings.Join(cfg.products, ","), natsURL, natsURL)
	<-ctx.Done()
	fmt.Fprintln(stderr, "fugle-gateway: closing")
	return g.Close()
}

func serveMetrics(addr string, h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close(); <-done }, nil
}

// streamingURL turns a base URL into product's streaming endpoint, as the
// official SDKs compose it; a streaming URL is taken as it is.
func streamingURL(endpoint, product string) string {
	if strings.HasSuffix(strings.TrimRight(endpoint, "/"), "/streaming") {
		return endpoint
	}
	return marketdata.Endpoint(endpoint, "v1.0", product)
}
