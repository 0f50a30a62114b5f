package marketdata

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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

// Defaults applied by NewWebSocketClient to zero fields.
const (
	DefaultAuthTimeout       = 10 * time.Second
	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultCloseTimeout      = 5 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultHeartbeatTimeout  = 35 * time.Second
	DefaultAckTimeout        = 15 * time.Second
	DefaultBufferSize        = 4096
	DefaultEventBufferSize   = 1024
	DefaultBlockTimeout      = time.Second
	DefaultReadLimit         = 4 << 20
	DefaultReconnectInitial  = time.Second
	DefaultReconnectMax      = 60 * time.Second
	DefaultReconnectFactor   = 2.0
	DefaultReconnectJitter   = 0.5
	DefaultStableAfter       = 30 * time.Second
	DefaultMaxSymbolsPerSend = 1000
)

// WebSocketClientOption configures a WebSocketClient. The zero value of every
// field selects its default; set exactly one credential (or leave all empty
// and set FUGLE_API_KEY).
type WebSocketClientOption struct {
	// Endpoint is the streaming URL (ws:// or wss://). Default StockEndpoint.
	Endpoint string

	// APIKey authenticates with {"apikey": ...}. When it and the two other
	// credentials are empty, the FUGLE_API_KEY environment variable is used.
	APIKey string
	// BearerToken authenticates with {"token": ...}.
	BearerToken string
	// SDKToken authenticates with {"sdkToken": ...}.
	SDKToken string

	// AuthTimeout bounds the wait for "authenticated" after the upgrade.
	AuthTimeout time.Duration
	// HandshakeTimeout bounds the TCP, TLS and WebSocket upgrade.
	HandshakeTimeout time.Duration
	// CloseTimeout bounds the wait for the peer's close frame in Close.
	CloseTimeout time.Duration
	// WriteTimeout bounds every frame write.
	WriteTimeout time.Duration
	// HeartbeatTimeout is how long a connection may receive nothing before
	// it is declared dead and replaced. The server sends a heartbeat every
	// 30 s and no ping frames. Negative disables the check.
	HeartbeatTimeout time.Duration
	// PingInterval, when positive, sends one JSON ping after the connection
	// has been quiet this long, and declares the link dead when nothing has
	// answered after about as long again: a dead link is found sooner than
	// the heartbeat timeout. The server counts every pong as an action, so
	// it is off by default.
	PingInterval time.Duration
	// AckTimeout bounds the wait for the server's answer to a subscribe or
	// unsubscribe frame; a server that does not answer is treated as a dead
	// connection.
	AckTimeout time.Duration

	// BufferSize is the capacity of each typed channel (Trades, Books, ...).
	BufferSize int
	// EventBufferSize is the capacity of the Events channel.
	EventBufferSize int
	// DropPolicy applies to every channel when it is full.
	DropPolicy DropPolicy
	// BlockTimeout is how long the Block policy waits for room.
	BlockTimeout time.Duration
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
	// the first lost connection.
	DisableReconnect bool
	// ReconnectInitialInterval is the first backoff delay. Default 1 s.
	ReconnectInitialInterval time.Duration
	// ReconnectMaxInterval caps the backoff delay. Default 60 s.
	ReconnectMaxInterval time.Duration
	// ReconnectMultiplier grows the delay after each failed attempt. Default 2.
	ReconnectMultiplier float64
	// ReconnectJitter randomises each delay by ± this fraction. Default 0.5;
	// negative means no jitter.
	ReconnectJitter float64
	// ReconnectMaxAttempts ends retrying after this many failed attempts in
	// one outage. Zero means no limit.
	ReconnectMaxAttempts int
	// ReconnectMaxElapsed ends retrying when one outage has lasted this
	// long. Zero means no limit (unlike the backoff library's own default
	// of 15 minutes).
	ReconnectMaxElapsed time.Duration
	// StableAfter is how long a connection must stay up before the backoff
	// resets, so a server that accepts and drops at once keeps being backed
	// off from. Default 30 s.
	StableAfter time.Duration

	// TLSConfig is used for wss:// endpoints (for example to trust a private
	// CA). Certificate verification is never skipped unless this config
	// says so.
	TLSConfig *tls.Config
	// NetDialContext, when set, dials the TCP connection (proxies, tests).
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Header is sent with the upgrade request.
	Header http.Header
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
	u, err := url.Parse(o.Endpoint)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only
		// what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return o, credential{}, fmt.Errorf("%w: endpoint is not a URL: %v", ErrInvalidOption, err)
	}
	if u.User != nil {
		// gorilla refuses user info in ws:// URLs, and the service takes
		// its credential in the auth frame, never in the URL.
		return o, credential{}, fmt.Errorf("%w: endpoint %q carries user info: set the credential in APIKey, BearerToken or SDKToken", ErrInvalidOption, u.Redacted())
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return o, credential{}, fmt.Errorf("%w: endpoint %q: scheme must be ws or wss", ErrInvalidOption, o.Endpoint)
	}
	if u.Host == "" {
		return o, credential{}, fmt.Errorf("%w: endpoint %q has no host", ErrInvalidOption, o.Endpoint)
	}

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
		return o, credential{}, fmt.Errorf("%w: set exactly one of APIKey, BearerToken and SDKToken", ErrInvalidOption)
	case n == 0:
		key := os.Getenv(APIKeyEnv)
		if key == "" {
			return o, credential{}, fmt.Errorf("%w: no credential: set APIKey, BearerToken or SDKToken, or the %s environment variable", ErrInvalidOption, APIKeyEnv)
		}
		cred = newCredential("apikey", key)
	}
	o.APIKey, o.BearerToken, o.SDKToken = "", "", ""

	durations := []struct {
		p   *time.Duration
		def time.Duration
	}{
		{&o.AuthTimeout, DefaultAuthTimeout},
		{&o.HandshakeTimeout, DefaultHandshakeTimeout},
		{&o.CloseTimeout, DefaultCloseTimeout},
		{&o.WriteTimeout, DefaultWriteTimeout},
		{&o.HeartbeatTimeout, DefaultHeartbeatTimeout},
		{&o.AckTimeout, DefaultAckTimeout},
		{&o.BlockTimeout, DefaultBlockTimeout},
		{&o.ReconnectInitialInterval, DefaultReconnectInitial},
		{&o.ReconnectMaxInterval, DefaultReconnectMax},
		{&o.StableAfter, DefaultStableAfter},
	}
	for _, d := range durations {
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	for name, d := range map[string]time.Duration{
		"AuthTimeout": o.AuthTimeout, "HandshakeTimeout": o.HandshakeTimeout, "CloseTimeout": o.CloseTimeout,
		"WriteTimeout": o.WriteTimeout, "AckTimeout": o.AckTimeout, "BlockTimeout": o.BlockTimeout,
		"ReconnectInitialInterval": o.ReconnectInitialInterval, "ReconnectMaxInterval": o.ReconnectMaxInterval,
		"PingInterval": o.PingInterval, "ReconnectMaxElapsed": o.ReconnectMaxElapsed, "StableAfter": o.StableAfter,
	} {
		if d < 0 {
			return o, credential{}, fmt.Errorf("%w: %s must not be negative", ErrInvalidOption, name)
		}
	}
	if o.ReconnectMaxInterval < o.ReconnectInitialInterval {
		o.ReconnectMaxInterval = o.ReconnectInitialInterval
	}
	if o.BufferSize == 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.EventBufferSize == 0 {
		o.EventBufferSize = DefaultEventBufferSize
	}
	if o.BufferSize < 0 || o.EventBufferSize < 0 {
		return o, credential{}, fmt.Errorf("%w: buffer sizes must not be negative", ErrInvalidOption)
	}
	if o.DropPolicy < DropOldest || o.DropPolicy > Block {
		return o, credential{}, fmt.Errorf("%w: unknown DropPolicy %d", ErrInvalidOption, int(o.DropPolicy))
	}
	if o.ReadLimit == 0 {
		o.ReadLimit = DefaultReadLimit
	}
	if o.ReadLimit < 0 {
		return o, credential{}, fmt.Errorf("%w: ReadLimit must not be negative", ErrInvalidOption)
	}
	if o.ReconnectMultiplier == 0 {
		o.ReconnectMultiplier = DefaultReconnectFactor
	}
	if o.ReconnectMultiplier < 1 {
		return o, credential{}, fmt.Errorf("%w: ReconnectMultiplier must be at least 1", ErrInvalidOption)
	}
	switch {
	case o.ReconnectJitter == 0:
		o.ReconnectJitter = DefaultReconnectJitter
	case o.ReconnectJitter < 0:
		o.ReconnectJitter = 0
	case o.ReconnectJitter > 1:
		return o, credential{}, fmt.Errorf("%w: ReconnectJitter must be at most 1", ErrInvalidOption)
	}
	if o.ReconnectMaxAttempts < 0 {
		return o, credential{}, fmt.Errorf("%w: ReconnectMaxAttempts must not be negative", ErrInvalidOption)
	}
	return o, cred, nil
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
