package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-fugle/marketdata/messages"
)

// BaseURL is the default base of the REST API: host and path prefix, as the
// official SDKs take it. The client appends the version, /v1.0.
const BaseURL = "https://api.fugle.tw/marketdata"

// Version is the API version the client appends to the base URL.
const Version = "v1.0"

// APIKeyEnv is the environment variable read when no credential is set.
const APIKeyEnv = "FUGLE_API_KEY"

// Defaults applied by NewClient to zero fields, named after them.
const (
	DefaultTimeout              = 30 * time.Second
	DefaultMaxBodySize          = 32 << 20
	DefaultRatePerMinute        = PlanBasicPerMinute
	DefaultMaxRetries           = 3
	DefaultRetryInitialInterval = 500 * time.Millisecond
	DefaultRetryMaxInterval     = 30 * time.Second
)

// MaxRetryAfter is the longest Retry-After the client waits out; an answer
// asking for longer is returned as the call's error. The service asks for
// 60 seconds.
const MaxRetryAfter = 5 * time.Minute

// Option configures a Client. Set exactly one credential, or none and the
// FUGLE_API_KEY environment variable.
//
// Zero selects a field's default, stated at the end of its doc. A negative
// value turns the feature off where the doc names an "off".
type Option struct {
	// BaseURL is the host and path prefix, such as
	// http://127.0.0.1:8080/marketdata; the client appends /v1.0. A base
	// that already ends in a version (/v1.0) is accepted as is. Default
	// BaseURL.
	BaseURL string

	// APIKey is sent as X-API-KEY. Default: FUGLE_API_KEY, when all three
	// credentials are empty.
	APIKey string
	// BearerToken is sent as Authorization: Bearer <token>.
	BearerToken string
	// SDKToken is sent as X-SDK-TOKEN.
	SDKToken string

	// HTTPClient sends the requests (the client uses a copy, whose redirects
	// to another host lose the credential header). Its own Timeout, if any,
	// applies too. Default: a client of its own with a pooled transport.
	HTTPClient *http.Client
	// Timeout bounds each call, retries and waits for the budget included.
	// Default 30 s; negative: off (the context alone bounds a call).
	Timeout time.Duration
	// MaxBodySize bounds the bytes read of one response body (after gzip
	// decoding); a larger body is ErrResponseTooLarge. Default 32 MiB.
	MaxBodySize int64

	// RatePerMinute is the budget of requests per minute, set from the plan
	// (see PlanDeveloperPerMinute). Ignored when Budget is set. Default 60,
	// the basic plan's; negative: off.
	RatePerMinute int
	// Budget, when set, is the budget to draw from, shared with whatever
	// else holds it. Default: a budget of RatePerMinute of the client's own.
	Budget *Budget

	// MaxRetries is how many times a request answered 429 or 5xx, or lost
	// in transport, is sent again. Default 3; negative: off.
	MaxRetries int
	// RetryInitialInterval is the first backoff delay; later ones grow
	// exponentially with jitter. A Retry-After from the server replaces the
	// delay. Default 500 ms.
	RetryInitialInterval time.Duration
	// RetryMaxInterval caps one backoff delay (not a Retry-After). Default
	// 30 s.
	RetryMaxInterval time.Duration

	// UserAgent is sent as User-Agent. Default "go-fugle-marketdata".
	UserAgent string
}

// String describes the option with every credential redacted, so that
// printing it with %v or %+v never leaks a secret.
func (o Option) String() string {
	redact := func(s string) string {
		if s == "" {
			return `""`
		}
		return "[REDACTED]"
	}
	return fmt.Sprintf("rest.Option{BaseURL:%q APIKey:%s BearerToken:%s SDKToken:%s Timeout:%v RatePerMinute:%d MaxRetries:%d}",
		redactURL(o.BaseURL), redact(o.APIKey), redact(o.BearerToken), redact(o.SDKToken), o.Timeout, o.RatePerMinute, o.MaxRetries)
}

// GoString redacts credentials for %#v too.
func (o Option) GoString() string { return o.String() }

func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable URL]"
	}
	return u.Redacted()
}

// credential holds the header behind a function, so that printing a Client
// with %+v (which walks unexported fields) cannot reveal it.
type credential struct {
	header func() (name, value string)
	secret func() string
}

// Client calls the REST API. It is safe for concurrent use.
type Client struct {
	// Stock groups the stock endpoints.
	Stock Stock
	// FutOpt groups the futures and options endpoints.
	FutOpt FutOpt

	base       string // scheme://host/prefix/v1.0, no trailing slash
	cred       credential
	hc         *http.Client
	timeout    time.Duration
	maxBody    int64
	budget     *Budget
	maxRetries int
	initial    time.Duration
	maxDelay   time.Duration
	userAgent  string
	decoders   sync.Pool
}

// String describes the client without its credential.
func (c *Client) String() string {
	return fmt.Sprintf("rest.Client{BaseURL:%q Budget:%d/min}", redactURL(c.base), c.budget.Limit())
}

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }

// CloseIdleConnections closes the kept-alive connections of the client's
// HTTP client that are idle; calls may go on afterwards.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// NewClient validates opt and returns a Client. The error matches
// ErrInvalidOption.
func NewClient(opt Option) (*Client, error) {
	base, err := normalizeBase(opt.BaseURL)
	if err != nil {
		return nil, err
	}
	cred, err := opt.credential()
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, cred: cred, userAgent: opt.UserAgent}
	if opt.HTTPClient != nil {
		hc := *opt.HTTPClient // a copy, to guard its redirects
		c.hc = &hc
	} else {
		c.hc = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       15 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: DefaultTimeout,
			ForceAttemptHTTP2:     true,
		}}
	}
	c.hc.CheckRedirect = keepCredentialHome(c.hc.CheckRedirect)
	if c.userAgent == "" {
		c.userAgent = "go-fugle-marketdata"
	}
	switch {
	case opt.Timeout == 0:
		c.timeout = DefaultTimeout
	case opt.Timeout > 0:
		c.timeout = opt.Timeout
	}
	switch {
	case opt.MaxBodySize < 0:
		return nil, fmt.Errorf("%w: MaxBodySize must not be negative", ErrInvalidOption)
	case opt.MaxBodySize == 0:
		c.maxBody = DefaultMaxBodySize
	default:
		c.maxBody = opt.MaxBodySize
	}
	switch {
	case opt.Budget != nil:
		c.budget = opt.Budget
	case opt.RatePerMinute == 0:
		c.budget = NewBudget(DefaultRatePerMinute)
	case opt.RatePerMinute > 0:
		c.budget = NewBudget(opt.RatePerMinute)
	}
	switch {
	case opt.MaxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case opt.MaxRetries > 0:
		c.maxRetries = opt.MaxRetries
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		dst  *time.Duration
		def  time.Duration
	}{
		{"RetryInitialInterval", opt.RetryInitialInterval, &c.initial, DefaultRetryInitialInterval},
		{"RetryMaxInterval", opt.RetryMaxInterval, &c.maxDelay, DefaultRetryMaxInterval},
	} {
		switch {
		case d.v < 0:
			return nil, fmt.Errorf("%w: %s must not be negative", ErrInvalidOption, d.name)
		case d.v == 0:
			*d.dst = d.def
		default:
			*d.dst = d.v
		}
	}
	c.maxDelay = max(c.maxDelay, c.initial)
	c.decoders.New = func() any { return messages.NewDecoder() }
	c.Stock = Stock{
		Intraday:         StockIntraday{c},
		Historical:       StockHistorical{c},
		Snapshot:         StockSnapshot{c},
		Technical:        StockTechnical{c},
		CorporateActions: StockCorporateActions{c},
	}
	c.FutOpt = FutOpt{Intraday: FutOptIntraday{c}, Historical: FutOptHistorical{c}}
	return c, nil
}

// keepCredentialHome strips the credential from a redirect to another host
// (net/http drops only its own sensitive headers, not X-API-KEY), then
// applies next, or the default limit of 10 redirects.
func keepCredentialHome(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && req.URL.Host != via[0].URL.Host {
			for _, h := range []string{"X-API-KEY", "X-SDK-TOKEN", "Authorization"} {
				req.Header.Del(h)
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// normalizeBase accepts host + prefix (appending /v1.0) or a base already
// ending in a version, over http or https, without user info.
func normalizeBase(raw string) (string, error) {
	if raw == "" {
		raw = BaseURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("%w: BaseURL is not a URL: %v", ErrInvalidOption, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%w: BaseURL %q: scheme must be http or https", ErrInvalidOption, u.Redacted())
	case u.Host == "":
		return "", fmt.Errorf("%w: BaseURL %q has no host", ErrInvalidOption, u.Redacted())
	case u.User != nil:
		return "", fmt.Errorf("%w: BaseURL %q carries user info: set the credential in APIKey, BearerToken or SDKToken", ErrInvalidOption, u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%w: BaseURL %q has a query or fragment", ErrInvalidOption, u.Redacted())
	}
	base := strings.TrimRight(u.String(), "/")
	if i := strings.LastIndexByte(base, '/'); i >= 0 && isVersion(base[i+1:]) {
		return base, nil
	}
	return base + "/" + Version, nil
}

func isVersion(s string) bool {
	if len(s) < 4 || s[0] != 'v' {
		return false
	}
	major, minor, ok := strings.Cut(s[1:], ".")
	_, err1 := strconv.Atoi(major)
	_, err2 := strconv.Atoi(minor)
	return ok && err1 == nil && err2 == nil
}

// credential picks the one credential set, or FUGLE_API_KEY.
func (o Option) credential() (credential, error) {
	var name, value string
	n := 0
	for _, c := range []struct{ header, value string }{{"X-API-KEY", o.APIKey}, {"Authorization", o.BearerToken}, {"X-SDK-TOKEN", o.SDKToken}} {
		if c.value != "" {
			n++
			name, value = c.header, c.value
		}
	}
	switch {
	case n > 1:
		return credential{}, fmt.Errorf("%w: set exactly one of APIKey, BearerToken and SDKToken", ErrInvalidOption)
	case n == 0:
		value = os.Getenv(APIKeyEnv)
		if value == "" {
			return credential{}, fmt.Errorf("%w: no credential: set APIKey, BearerToken or SDKToken, or the %s environment variable", ErrInvalidOption, APIKeyEnv)
		}
		name = "X-API-KEY"
	}
	if strings.TrimSpace(value) == "" {
		return credential{}, fmt.Errorf("%w: the credential is blank", ErrInvalidOption)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c == 0x7f {
			return credential{}, fmt.Errorf("%w: the credential holds a control character", ErrInvalidOption)
		}
	}
	header := value
	if name == "Authorization" {
		header = "Bearer " + value
	}
	return credential{
		header: func() (string, string) { return name, header },
		secret: func() string { return value },
	}, nil
}

// Get sends GET base/v1.0/path?query and returns the body of a 2xx answer
// after checking that it is one JSON object. path starts with the product,
// as in "/stock/intraday/quote/2330"; its segments must already be escaped
// (see PathEscape). It draws on the budget and retries as every call does,
// and reaches endpoints this package has no method for.
func (c *Client) Get(ctx context.Context, path string, query url.Values) ([]byte, error) {
	body, _, err := c.get(ctx, path, query)
	return body, err
}

// get is Get returning the display path too, for decoding errors.
func (c *Client) get(ctx context.Context, path string, query url.Values) ([]byte, string, error) {
	if ctx == nil {
		return nil, "", fmt.Errorf("%w: nil context", ErrInvalidRequest)
	}
	display := "/" + Version + path
	if q := query.Encode(); q != "" {
		path += "?" + q
		display += "?" + q
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = c.initial
	bo.MaxInterval = c.maxDelay
	bo.RandomizationFactor = 0.5
	bo.Multiplier = 2
	bo.MaxElapsedTime = 0 // bounded by MaxRetries and the context instead
	bo.Reset()

	var last error
	for attempt := 0; ; attempt++ {
		if err := c.budget.Wait(ctx); err != nil {
			return nil, display, lastOr(last, display, err)
		}
		body, err := c.once(ctx, path, display)
		if err == nil {
			return body, display, nil
		}
		var retryAfter time.Duration
		if ae, ok := err.(*APIError); ok && (ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode == http.StatusServiceUnavailable) {
			retryAfter = ae.RetryAfter
		}
		last = err
		if !retryable(ctx, err) || attempt >= c.maxRetries {
			return nil, display, err
		}
		delay := bo.NextBackOff()
		if retryAfter > MaxRetryAfter {
			return nil, display, err // not worth holding a call for
		}
		if retryAfter > 0 {
			delay = retryAfter
			c.budget.holdUntil(time.Now().Add(retryAfter))
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return nil, display, err // waiting would outlast the call
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, display, err
		case <-t.C:
		}
	}
}

// lastOr returns the last attempt's error when there was one, else the
// context's.
func lastOr(last error, display string, ctxErr error) error {
	if last != nil {
		return last
	}
	return fmt.Errorf("rest: GET %s: %w", display, ctxErr)
}

// retryable: 429, 5xx and transport failures, unless the context is over.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if errors.Is(err, ErrInvalidRequest) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Temporary()
	}
	var re *ResponseError
	if errors.As(err, &re) {
		return re.Kind == ErrMalformedResponse && isReadError(re.Err)
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// readError marks a failure while reading a body (a cut connection), which
// may not recur, as opposed to a body that was read and is wrong.
type readError struct{ err error }

func (e *readError) Error() string { return "reading the body: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

func isReadError(err error) bool {
	var re *readError
	return errors.As(err, &re)
}

// once sends one request and reads and checks its answer.
func (c *Client) once(ctx context.Context, path, display string) (body []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", ErrInvalidRequest, display, err)
	}
	name, value := c.cred.header()
	req.Header.Set(name, value)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		// The URL in a *url.Error holds no credential: it travels in a header.
		return nil, fmt.Errorf("rest: GET %s: %w", display, err)
	}
	defer resp.Body.Close()
	ct := resp.Header.Get("Content-Type")
	body, err = readBody(resp.Body, c.maxBody)
	if err != nil {
		kind := ErrMalformedResponse
		if errors.Is(err, ErrResponseTooLarge) {
			kind, err = ErrResponseTooLarge, fmt.Errorf("more than %d bytes", c.maxBody)
		}
		if resp.StatusCode >= 400 && kind == ErrMalformedResponse {
			// The status says more than a cut body would.
			return nil, c.apiError(resp, display, body)
		}
		return nil, &ResponseError{StatusCode: resp.StatusCode, Path: display, ContentType: ct, Kind: kind, Err: err, Body: snippet(body, c.cred.secret())}
	}
	if resp.StatusCode >= 400 {
		return nil, c.apiError(resp, display, body)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &ResponseError{StatusCode: resp.StatusCode, Path: display, ContentType: ct, Kind: ErrMalformedResponse,
			Err: fmt.Errorf("unexpected status %d", resp.StatusCode), Body: snippet(body, c.cred.secret())}
	}
	if err := checkObject(body); err != nil {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "" && mt != "application/json" {
			err = fmt.Errorf("%w (content type %s)", err, mt)
		}
		return nil, &ResponseError{StatusCode: resp.StatusCode, Path: display, ContentType: ct, Kind: ErrMalformedResponse, Err: err, Body: snippet(body, c.cred.secret())}
	}
	return body, nil
}

// readBody reads at most limit bytes; a longer body is ErrResponseTooLarge.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return buf.Bytes(), &readError{err}
	}
	if n > limit {
		return buf.Bytes()[:limit], ErrResponseTooLarge
	}
	return buf.Bytes(), nil
}

// apiError builds the error of a status of 400 or more.
func (c *Client) apiError(resp *http.Response, display string, body []byte) *APIError {
	msg := errorMessage(body)
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
		if msg == "" {
			msg = "HTTP " + strconv.Itoa(resp.StatusCode)
		}
	}
	if s := c.cred.secret(); s != "" {
		msg = strings.ReplaceAll(msg, s, "[REDACTED]")
	}
	h := resp.Header.Clone()
	return &APIError{
		StatusCode: resp.StatusCode,
		Message:    msg,
		Path:       display,
		RetryAfter: parseRetryAfter(resp.Header),
		Header:     h,
		Body:       snippet(body, c.cred.secret()),
	}
}

// parseRetryAfter reads Retry-After (seconds or an HTTP date), or failing
// that X-RateLimit-Reset (epoch milliseconds). The client waits for it on
// 429 and 503 only: production sends Retry-After on every answer.
func parseRetryAfter(h http.Header) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(time.Until(t), 0)
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			return max(time.Until(time.UnixMilli(ms)), 0)
		}
	}
	return 0
}
