package marketdata

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Endpoints of the Fugle MarketData streaming API.
const (
	// BaseURL is the root the official SDKs compose endpoints from:
	// <BaseURL>/<version>/<product>/streaming.
	BaseURL = "wss://api.fugle.tw/marketdata"
	// StockEndpoint streams Taiwan stocks. It is the default endpoint.
	StockEndpoint = BaseURL + "/v1.0/stock/streaming"
	// FutOptEndpoint streams futures and options, protocol v1.0.
	FutOptEndpoint = BaseURL + "/v1.0/futopt/streaming"
	// FutOptV11Endpoint streams futures and options, protocol v1.1, which adds
	// trial-match frames (isTrial).
	FutOptV11Endpoint = BaseURL + "/v1.1/futopt/streaming"
)

// Endpoint composes a streaming URL the way the official SDKs do, so that a
// mock server's base URL (such as marketdatatest.Server.URL) can stand in for
// BaseURL. version is "v1.0" or "v1.1"; product is "stock" or "futopt".
func Endpoint(baseURL, version, product string) string {
	return strings.TrimRight(baseURL, "/") + "/" + version + "/" + product + "/streaming"
}

// APIKeyEnv is the environment variable read when no credential is set.
const APIKeyEnv = "FUGLE_API_KEY"

// DropPolicy says what the client does with an event when the consumer's
// channel is full. The reader goroutine never waits on a consumer for longer
// than the policy allows: a blocked reader would stop reading the socket and
// the connection would die.
type DropPolicy int

const (
	// DropOldest discards the oldest buffered event to make room, keeping
	// the freshest market state. It is the default.
	DropOldest DropPolicy = iota
	// DropNewest discards the event that does not fit.
	DropNewest
	// Block waits up to BlockTimeout for room, then discards the event.
	Block
)

// String returns the policy's name.
func (p DropPolicy) String() string {
	switch p {
	case DropOldest:
		return "drop-oldest"
	case DropNewest:
		return "drop-newest"
	case Block:
		return "block"
	}
	return fmt.Sprintf("DropPolicy(%d)", int(p))
}

// Defaults applied by NewWebSocketClient to zero fields, named after them.
const (
	DefaultAuthTimeout              = 10 * time.Second
	DefaultHandshakeTimeout         = 10 * time.Second
	DefaultCloseTimeout             = 5 * time.Second
	DefaultWriteTimeout             = 10 * time.Second
	DefaultHeartbeatTimeout         = 35 * time.Second
	DefaultAckTimeout               = 15 * time.Second
	DefaultBufferSize               = 4096
	DefaultEventBufferSize          = 1024
	DefaultBlockTimeout             = time.Second
	DefaultReadLimit                = 4 << 20
	DefaultReconnectInitialInterval = time.Second
	DefaultReconnectMaxInterval     = 60 * time.Second
	DefaultReconnectMultiplier      = 2.0
	DefaultReconnectJitter          = 0.5
	DefaultStableAfter              = 30 * time.Second
	DefaultBackfillTimeout          = 30 * time.Second
)

// Former names of defaults, kept so that code using them still builds.
const (
	// Deprecated: use DefaultReconnectInitialInterval.
	DefaultReconnectInitial = DefaultReconnectInitialInterval
	// Deprecated: use DefaultReconnectMaxInterval.
	DefaultReconnectMax = DefaultReconnectMaxInterval
	// Deprecated: use DefaultReconnectMultiplier.
	DefaultReconnectFactor = DefaultReconnectMultiplier
	// Deprecated: it is no option. Restoring subscriptions after a
	// reconnect sends at most this many symbols per frame, as the newest
	// official SDK does.
	DefaultMaxSymbolsPerSend = maxSymbolsPerSend
)

// maxSymbolsPerSend caps the symbols of one subscribe frame.
const maxSymbolsPerSend = 1000

// WebSocketClientOption configures a WebSocketClient. Set exactly one
// credential (or leave all three empty and set FUGLE_API_KEY).
//
// One rule holds for every field: zero selects the field's default, stated
// at the end of its doc. A negative value turns the feature off where the
// doc names an "off" (a heartbeat check, a limit, jitter), and is refused
// with ErrInvalidOption everywhere else.
type WebSocketClientOption struct {
	// Endpoint is the streaming URL (ws:// or wss://), without user info.
	// Default StockEndpoint.
	Endpoint string

	// APIKey authenticates with {"apikey": ...}. Default: the FUGLE_API_KEY
	// environment variable, when all three credentials are empty.
	APIKey string
	// BearerToken authenticates with {"token": ...}. Default none.
	BearerToken string
	// SDKToken authenticates with {"sdkToken": ...}. Default none.
	SDKToken string

	// AuthTimeout bounds the wait for "authenticated" after the upgrade.
	// Default 10 s.
	AuthTimeout time.Duration
	// HandshakeTimeout bounds the TCP dial, TLS handshake and WebSocket
	// upgrade. Default 10 s.
	HandshakeTimeout time.Duration
	// CloseTimeout bounds the wait for the peer's close frame in Close.
	// Default 5 s.
	CloseTimeout time.Duration
	// WriteTimeout bounds every frame write. Default 10 s.
	WriteTimeout time.Duration
	// HeartbeatTimeout is how long the socket may deliver nothing before
	// the connection is declared dead and replaced. The server sends a
	// heartbeat every 30 s and no ping frames. Default 35 s; negative: off.
	HeartbeatTimeout time.Duration
	// PingInterval, when positive, sends one JSON ping after the connection
	// has been quiet this long, and declares the link dead when nothing has
	// answered after about as long again: a dead link is found sooner than
	// the heartbeat timeout. The server counts every pong as an action.
	// Default off (zero or negative).
	PingInterval time.Duration
	// AckTimeout bounds the wait for the server's answer to a subscribe or
	// unsubscribe frame; a server that does not answer is treated as a dead
	// connection. Default 15 s.
	AckTimeout time.Duration

	// BufferSize is the capacity of each typed channel (Trades, Books, ...).
	// Default 4096.
	BufferSize int
	// EventBufferSize is the capacity of the Events channel. Default 1024.
	EventBufferSize int
	// DropPolicy applies to every channel when it is full. Default
	// DropOldest.
	DropPolicy DropPolicy
	// BlockTimeout is how long the Block policy waits for room. Default 1 s;
	// negative: off, Block waits without a time limit (until Close), which
	// makes a slow consumer slow the server down instead of losing values:
	// the setting for replaying a recording as fast as possible.
	BlockTimeout time.Duration
	// Ordered delivers every value and event on one channel, Messages (also
	// read through Next and All), in the order the client produced them:
	// wire order within a connection, lifecycle events in their place. The
	// typed channels and Events are then not fed, so nothing is paid twice;
	// BufferSize sizes Messages and the drop policy applies to it. Default
	// false: the typed channels and Events.
	Ordered bool
	// ReadLimit is the largest frame accepted, in bytes; a larger frame ends
	// the connection (and a reconnect follows). Default 4 MiB, far above a
	// full aggregates frame or a day of candles in one snapshot.
	ReadLimit int64

	// RetryConnect makes Connect retry retryable failures (a refused dial,
	// HTTP 503, close 1001 "Maximum number of connections reached", error
	// 1011 "Authentication service unavailable", ...) under the reconnect
	// policy until its context ends, so that a bad minute at start-up does
	// not end the program. Final failures still return at once. Default
	// false: Connect makes one attempt, so that a wrong endpoint fails fast
	// rather than hanging a caller that passed context.Background().
	RetryConnect bool

	// DisableReconnect turns automatic reconnection off: the client ends at
	// the first lost connection. Default false.
	DisableReconnect bool
	// ReconnectInitialInterval is the first backoff delay. Default 1 s.
	ReconnectInitialInterval time.Duration
	// ReconnectMaxInterval caps the backoff delay. Default 60 s.
	ReconnectMaxInterval time.Duration
	// ReconnectMultiplier grows the delay after each failed attempt; at
	// least 1. Default 2.
	ReconnectMultiplier float64
	// ReconnectJitter randomises each delay by ± this fraction, at most 1.
	// Default 0.5; negative: off (no jitter).
	ReconnectJitter float64
	// ReconnectMaxAttempts ends retrying after this many failed attempts in
	// one outage. Default off (no limit; zero or negative).
	ReconnectMaxAttempts int
	// ReconnectMaxElapsed ends retrying when one outage has lasted this
	// long. Default off (no limit; zero or negative), unlike the backoff
	// library's own default of 15 minutes.
	ReconnectMaxElapsed time.Duration
	// StableAfter is how long a connection must stay up before the backoff
	// resets, so a server that accepts and drops at once keeps being backed
	// off from. Default 30 s.
	StableAfter time.Duration

	// Backfill, when set, heals gaps: after a reconnect has restored a
	// trades or candles subscription, the client fetches what that key
	// missed from this source (rest.Client.Backfill, for one) and delivers
	// it on the same channel with Meta.Backfill set, then reports a
	// Backfilled event per key. Keys are healed one at a time in the order
	// they were subscribed. Books and aggregates need none: each frame is
	// the full state. Gaps are tracked by channel and symbol, as data
	// frames carry no modifiers: with backfill on, do not subscribe one
	// symbol's board and odd-lot trades (or day and night sessions) at
	// once. Default nil: off.
	Backfill BackfillSource
	// BackfillHold holds a key's live values while its backfill runs and
	// delivers them after it, so that the key's values arrive in strict
	// order. Default false: live values flow at once, and the backfilled
	// ones may come after newer live ones.
	BackfillHold bool
	// BackfillTimeout bounds the fetch of one key's gap. Default 30 s.
	BackfillTimeout time.Duration

	// Logger receives the client's log records: Info for connects,
	// disconnects, reconnects and restored subscriptions; Warn for drop
	// episodes, refused subscriptions and retries; Debug for heartbeats and,
	// when the handler enables Debug, every frame but the auth frame.
	// Credentials never reach a record. Default nil: silent.
	Logger *slog.Logger

	// Handlers, for the kinds of value whose function is set, call that
	// function with each value instead of sending it on its channel (or
	// on Messages when Ordered): no hand-off to another goroutine, so the
	// lowest latency and cost per value. They run on the goroutine that
	// decoded the value, the connection's reader (several at once in a
	// pool; a backfill's values come from its own goroutine), and the next
	// frame is not read until they return: a slow handler holds back the
	// socket as Block does. Events still go to Events. Default: none.
	Handlers Handlers

	// Tap, when set, sees every frame read and written (except the auth
	// frame) and every connection's start and end; see FrameTap. Default
	// nil: no cost.
	Tap FrameTap

	// TLSConfig is used for wss:// endpoints (for example to trust a private
	// CA). Certificate verification is never skipped unless this config
	// says so. Default: the system's roots.
	TLSConfig *tls.Config
	// NetDialContext dials the TCP connection (proxies, tests). Default
	// net.Dialer.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Header is sent with the upgrade request. Default none.
	Header http.Header
}

// Handlers are functions that take values on the reader goroutine; see
// WebSocketClientOption.Handlers. A nil function leaves its kind on its
// channel. Values are passed by value, so that a handler costs no
// allocation.
type Handlers struct {
	Trade     func(Trade)
	Candle    func(Candle)
	Book      func(Book)
	Aggregate func(Aggregate)
	Index     func(Index)
}

// String describes the option with every credential redacted, so that
// printing an option with %v or %+v never leaks a secret.
func (o WebSocketClientOption) String() string {
	redact := func(s string) string {
		if s == "" {
			return `""`
		}
		return "[REDACTED]"
	}
	return fmt.Sprintf("WebSocketClientOption{Endpoint:%q APIKey:%s BearerToken:%s SDKToken:%s DropPolicy:%v BufferSize:%d DisableReconnect:%t}",
		redactURL(o.Endpoint), redact(o.APIKey), redact(o.BearerToken), redact(o.SDKToken), o.DropPolicy, o.BufferSize, o.DisableReconnect)
}

// redactURL hides the password of a URL with user info, and the whole URL
// when it does not parse (it may hold one all the same).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable URL]"
	}
	return u.Redacted()
}

// GoString redacts credentials for %#v too.
func (o WebSocketClientOption) GoString() string { return o.String() }

// withDefaults validates o and fills its zero fields. The credential is
// returned separately so that the stored option holds no secret.
func (o WebSocketClientOption) withDefaults() (WebSocketClientOption, credential, error) {
	if o.Endpoint == "" {
		o.Endpoint = StockEndpoint
	}
	if err := checkEndpoint(o.Endpoint); err != nil {
		return o, credential{}, err
	}
	cred, err := o.credential()
	if err != nil {
		return o, credential{}, err
	}
	o.APIKey, o.BearerToken, o.SDKToken = "", "", ""
	if err := o.fillDefaults(); err != nil {
		return o, credential{}, err
	}
	return o, cred, nil
}

// checkEndpoint accepts a ws:// or wss:// URL with a host and no user info.
func checkEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only
		// what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%w: endpoint is not a URL: %v", ErrInvalidOption, err)
	}
	switch {
	case u.Scheme != "ws" && u.Scheme != "wss":
		return fmt.Errorf("%w: endpoint %q: scheme must be ws or wss", ErrInvalidOption, u.Redacted())
	case u.Host == "":
		return fmt.Errorf("%w: endpoint %q has no host", ErrInvalidOption, u.Redacted())
	case u.User != nil:
		// gorilla refuses user info in ws:// URLs, and the service takes
		// its credential in the auth frame, never in the URL.
		return fmt.Errorf("%w: endpoint %q carries user info: set the credential in APIKey, BearerToken or SDKToken", ErrInvalidOption, u.Redacted())
	}
	return nil
}

// credential picks the one credential set, or FUGLE_API_KEY.
func (o WebSocketClientOption) credential() (credential, error) {
	var cred credential
	n := 0
	for _, c := range []struct{ field, value string }{{"apikey", o.APIKey}, {"token", o.BearerToken}, {"sdkToken", o.SDKToken}} {
		if c.value != "" {
			n++
			cred = newCredential(c.field, c.value)
		}
	}
	switch {
	case n > 1:
		return credential{}, fmt.Errorf("%w: set exactly one of APIKey, BearerToken and SDKToken", ErrInvalidOption)
	case n == 0:
		key := os.Getenv(APIKeyEnv)
		if key == "" {
			return credential{}, fmt.Errorf("%w: no credential: set APIKey, BearerToken or SDKToken, or the %s environment variable", ErrInvalidOption, APIKeyEnv)
		}
		cred = newCredential("apikey", key)
	}
	return cred, nil
}

// fillDefaults applies the one rule of WebSocketClientOption: zero is the
// default, negative is off where a field has an off and an error elsewhere.
// Off is then stored as zero, which the client reads as off.
func (o *WebSocketClientOption) fillDefaults() error {
	durations := []struct {
		name string
		p    *time.Duration
		def  time.Duration
		off  bool // negative turns it off
	}{
		{"AuthTimeout", &o.AuthTimeout, DefaultAuthTimeout, false},
		{"HandshakeTimeout", &o.HandshakeTimeout, DefaultHandshakeTimeout, false},
		{"CloseTimeout", &o.CloseTimeout, DefaultCloseTimeout, false},
		{"WriteTimeout", &o.WriteTimeout, DefaultWriteTimeout, false},
		{"HeartbeatTimeout", &o.HeartbeatTimeout, DefaultHeartbeatTimeout, true},
		{"PingInterval", &o.PingInterval, 0, true},
		{"AckTimeout", &o.AckTimeout, DefaultAckTimeout, false},
		{"BlockTimeout", &o.BlockTimeout, DefaultBlockTimeout, true},
		{"ReconnectInitialInterval", &o.ReconnectInitialInterval, DefaultReconnectInitialInterval, false},
		{"ReconnectMaxInterval", &o.ReconnectMaxInterval, DefaultReconnectMaxInterval, false},
		{"ReconnectMaxElapsed", &o.ReconnectMaxElapsed, 0, true},
		{"StableAfter", &o.StableAfter, DefaultStableAfter, false},
		{"BackfillTimeout", &o.BackfillTimeout, DefaultBackfillTimeout, false},
	}
	for _, d := range durations {
		switch {
		case *d.p < 0 && !d.off:
			return fmt.Errorf("%w: %s must not be negative", ErrInvalidOption, d.name)
		case *d.p < 0:
			*d.p = 0
		case *d.p == 0:
			*d.p = d.def
		}
	}
	if o.ReconnectMaxInterval < o.ReconnectInitialInterval {
		o.ReconnectMaxInterval = o.ReconnectInitialInterval
	}
	for _, n := range []struct {
		name string
		p    *int
		def  int
	}{{"BufferSize", &o.BufferSize, DefaultBufferSize}, {"EventBufferSize", &o.EventBufferSize, DefaultEventBufferSize}} {
		if *n.p < 0 {
			return fmt.Errorf("%w: %s must not be negative", ErrInvalidOption, n.name)
		}
		if *n.p == 0 {
			*n.p = n.def
		}
	}
	if o.DropPolicy < DropOldest || o.DropPolicy > Block {
		return fmt.Errorf("%w: unknown DropPolicy %d", ErrInvalidOption, int(o.DropPolicy))
	}
	switch {
	case o.ReadLimit < 0:
		return fmt.Errorf("%w: ReadLimit must not be negative", ErrInvalidOption)
	case o.ReadLimit == 0:
		o.ReadLimit = DefaultReadLimit
	}
	switch {
	case o.ReconnectMultiplier == 0:
		o.ReconnectMultiplier = DefaultReconnectMultiplier
	case o.ReconnectMultiplier < 1:
		return fmt.Errorf("%w: ReconnectMultiplier must be at least 1", ErrInvalidOption)
	}
	switch {
	case o.ReconnectJitter == 0:
		o.ReconnectJitter = DefaultReconnectJitter
	case o.ReconnectJitter < 0:
		o.ReconnectJitter = 0
	case o.ReconnectJitter > 1:
		return fmt.Errorf("%w: ReconnectJitter must be at most 1", ErrInvalidOption)
	}
	o.ReconnectMaxAttempts = max(o.ReconnectMaxAttempts, 0)
	return nil
}

// credential holds the auth frame behind a function so that printing a
// client with %+v (which walks unexported fields) cannot reveal it.
type credential struct {
	frame func() []byte
}

func newCredential(field, value string) credential {
	frame := fmt.Appendf(nil, `{"event":"auth","data":{%q:%s}}`, field, quoteJSON(value))
	return credential{frame: func() []byte { return frame }}
}
