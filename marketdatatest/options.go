package marketdatatest

import "time"

// Option configures a Server; pass options to NewServer.
type Option func(*config)

type config struct {
	addr             string
	apiKeys          map[string]bool
	tokens           map[string]bool
	sdkTokens        map[string]bool
	credsConfigured  bool
	authTimeout      time.Duration
	heartbeat        time.Duration
	stringTimes      bool
	maxSubscriptions int
	maxConnections   int
	aliases          map[string]string
	errorShape       ErrorShape
	feedRate         float64
	feedSeed         uint64
	writeTimeout     time.Duration
	closeTimeout     time.Duration
	logf             func(format string, args ...any)
	restHistory      int
}

func defaultConfig() config {
	return config{
		addr:         "127.0.0.1:0",
		authTimeout:  60 * time.Second,
		heartbeat:    30 * time.Second,
		writeTimeout: 10 * time.Second,
		closeTimeout: time.Second,
		aliases:      map[string]string{},
		logf:         func(string, ...any) {},
	}
}

// WithAddr sets the listening address (default "127.0.0.1:0", a free port).
func WithAddr(addr string) Option {
	return func(c *config) { c.addr = addr }
}

// WithAPIKey accepts these API keys in {"apikey":...} auth frames. Once any
// credential option is given, only the configured credentials are accepted;
// without any, every non-empty credential is.
func WithAPIKey(keys ...string) Option {
	return func(c *config) { c.credsConfigured = true; c.apiKeys = addAll(c.apiKeys, keys) }
}

// WithToken accepts these bearer tokens in {"token":...} auth frames.
func WithToken(tokens ...string) Option {
	return func(c *config) { c.credsConfigured = true; c.tokens = addAll(c.tokens, tokens) }
}

// WithSDKToken accepts these SDK tokens in {"sdkToken":...} auth frames.
func WithSDKToken(tokens ...string) Option {
	return func(c *config) { c.credsConfigured = true; c.sdkTokens = addAll(c.sdkTokens, tokens) }
}

func addAll(m map[string]bool, vs []string) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	for _, v := range vs {
		m[v] = true
	}
	return m
}

// WithAuthTimeout sets how long a connection may stay unauthenticated before
// it gets error 1004 and close 1001 (default 60 s, as the service; 0
// disables).
func WithAuthTimeout(d time.Duration) Option {
	return func(c *config) { c.authTimeout = d }
}

// WithHeartbeat sets the heartbeat interval (default 30 s, as the service; 0
// disables). Heartbeats go to authenticated connections only.
func WithHeartbeat(d time.Duration) Option {
	return func(c *config) { c.heartbeat = d }
}

// WithStringTimes sends heartbeat and pong times as JSON strings, the variant
// the service's documentation shows, instead of numbers.
func WithStringTimes(on bool) Option {
	return func(c *config) { c.stringTimes = on }
}

// WithMaxSubscriptions limits the subscriptions of one connection; a
// subscribe request that would exceed it fails whole with error 1001. One
// subscription is one (channel, symbol, modifiers) entry. 0 means no limit.
func WithMaxSubscriptions(n int) Option {
	return func(c *config) { c.maxSubscriptions = n }
}

// WithMaxConnections limits the authenticated connections open at once. A
// connection authenticating beyond it gets error 1001 and close 1001
// "Maximum number of connections reached". 0 means no limit.
func WithMaxConnections(n int) Option {
	return func(c *config) { c.maxConnections = n }
}

// WithAlias makes alias resolve to contract, as the futopt service resolves
// continuous-month aliases: on one connection, subscribing to the alias and
// to the contract on the same channel with the same modifiers yields one
// shared subscription id, and Publish to either reaches both.
func WithAlias(alias, contract string) Option {
	return func(c *config) { c.aliases[alias] = contract }
}

// WithErrorShape selects the shape of every error frame (default
// ErrorCodeInData).
func WithErrorShape(shape ErrorShape) Option {
	return func(c *config) { c.errorShape = shape }
}

// WithSimulatedFeed streams random-walk market data at rate frames per second
// to every subscription, and sends a snapshot right after each new
// subscription's ack. 0 (the default) disables the feed.
func WithSimulatedFeed(rate float64) Option {
	return func(c *config) { c.feedRate = rate }
}

// WithFeedSeed makes the simulated feed's random walk reproducible.
func WithFeedSeed(seed uint64) Option {
	return func(c *config) { c.feedSeed = seed }
}

// WithWriteTimeout bounds each write to a client (default 10 s). A client
// that does not read for that long is dropped and its CloseInfo.SlowConsumer
// set, so Publish never blocks on it.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) { c.writeTimeout = d }
}

// WithCloseTimeout bounds how long the server waits for the client's close
// frame after sending its own before closing TCP (default 1 s).
func WithCloseTimeout(d time.Duration) Option {
	return func(c *config) { c.closeTimeout = d }
}

// WithLogf receives one line per connection event (accepted, authenticated,
// subscribed, closed). Credentials are never logged. t.Logf fits, as Close
// waits for every goroutine that could log.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(c *config) {
		if logf != nil {
			c.logf = logf
		}
	}
}
