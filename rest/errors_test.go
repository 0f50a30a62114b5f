package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/messages"
)

// newMock starts a mock accepting testKey, with one published trade and
// quote of 2330, and closes it on cleanup.
func newMock(t *testing.T, opts ...marketdatatest.Option) *marketdatatest.Server {
	t.Helper()
	srv := marketdatatest.NewServer(append([]marketdatatest.Option{marketdatatest.WithAPIKey(testKey), marketdatatest.WithToken("tok-" + testKey), marketdatatest.WithSDKToken("sdk-" + testKey)}, opts...)...)
	t.Cleanup(srv.Close)
	srv.Publish("trades", "2330", marketdatatest.TradeJSON(marketdatatest.Trade{Symbol: "2330", Price: 1000, Size: 3, Bid: 999, Ask: 1000, Volume: 3, Serial: 1, Time: time.Now()}))
	return srv
}

func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("the error shows the credential: %v", err)
		}
	}
}

func TestStatusErrors(t *testing.T) {
	srv := newMock(t)
	ctx := testContext(t)
	wrong := "sk-wrong-credential-77"
	_, err := newClient(t, srv.RESTURL(), Option{APIKey: wrong}).Stock.Intraday.Quote(ctx, "2330", IntradayParams{})
	var ae *APIError
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Message != "Unauthorized" {
		t.Fatalf("401: %v", err)
	}
	noSecret(t, err, wrong)
	if n := len(srv.RESTRequests()); n != 1 {
		t.Errorf("a 401 was sent %d times; it is never retried", n)
	}

	c := newClient(t, srv.RESTURL(), Option{})
	if _, err := c.Stock.Intraday.Quote(ctx, "9999", IntradayParams{}); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnauthorized) {
		t.Errorf("404: %v", err)
	}
	srv.ForbidREST("stock/snapshot", true)
	if _, err := c.Stock.Snapshot.Quotes(ctx, "TSE", SnapshotParams{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("403: %v", err)
	}
	srv.SetRESTRateLimit(1)
	noRetry := newClient(t, srv.RESTURL(), Option{MaxRetries: -1})
	if _, err := noRetry.Stock.Intraday.Quote(ctx, "2330", IntradayParams{}); err != nil {
		t.Fatal(err)
	}
	_, err = noRetry.Stock.Intraday.Quote(ctx, "2330", IntradayParams{})
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &ae) || ae.Message != "Rate limit exceeded" || ae.Header.Get("X-RateLimit-Limit") != "1" || ae.RetryAfter <= 0 {
		t.Fatalf("429: %v", err)
	}
	noSecret(t, err, testKey)
}

func TestRetryAfter(t *testing.T) {
	srv := newMock(t)
	srv.FailREST(marketdatatest.RESTFailure{Status: 429, Header: http.Header{"Retry-After": {"1"}}, Times: 1})
	c := newClient(t, srv.RESTURL(), Option{})
	q, err := c.Stock.Intraday.Quote(testContext(t), "2330", IntradayParams{})
	if err != nil || q.LastPrice != 1000 {
		t.Fatalf("%v %+v", err, q)
	}
	reqs := srv.RESTRequests()
	if len(reqs) != 2 || reqs[0].Status != 429 || reqs[1].Status != 200 {
		t.Fatalf("want a 429 then a 200, got %+v", reqs)
	}
	if gap := reqs[1].Time.Sub(reqs[0].Time); gap < time.Second {
		t.Errorf("retried %v after a Retry-After of 1 s", gap)
	}
}

func TestRetries5xxNot4xx(t *testing.T) {
	srv := newMock(t)
	c := newClient(t, srv.RESTURL(), Option{})
	ctx := testContext(t)
	srv.FailREST(marketdatatest.RESTFailure{Status: 502, Body: []byte("<html><body>502 Bad Gateway</body></html>"), Header: http.Header{"Content-Type": {"text/html"}}, Times: 2})
	if _, err := c.Stock.Intraday.Quote(ctx, "2330", IntradayParams{}); err != nil {
		t.Fatalf("two 502s then a 200: %v", err)
	}
	if n := len(srv.RESTRequests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	srv.FailREST(marketdatatest.RESTFailure{Status: 503, Times: 1 + DefaultMaxRetries})
	_, err := c.Stock.Intraday.Quote(ctx, "2330", IntradayParams{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 503 {
		t.Fatalf("503 after the retries: %v", err)
	}
	if n := len(srv.RESTRequests()); n != 3+1+DefaultMaxRetries {
		t.Errorf("%d requests, want %d", n, 3+1+DefaultMaxRetries)
	}
	before := len(srv.RESTRequests())
	srv.FailREST(marketdatatest.RESTFailure{Status: 400, Body: []byte(`{"statusCode":400,"message":"bad"}`), Times: 1})
	if _, err := c.Stock.Intraday.Quote(ctx, "2330", IntradayParams{}); !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Message != "bad" {
		t.Fatalf("400: %v", err)
	}
	if n := len(srv.RESTRequests()) - before; n != 1 {
		t.Errorf("a 400 was sent %d times", n)
	}
}

func TestCredentialHeaders(t *testing.T) {
	srv := newMock(t)
	ctx := testContext(t)
	for _, tc := range []struct {
		opt    Option
		kind   string
		secret string
	}{
		{Option{APIKey: testKey}, "apikey", testKey},
		{Option{BearerToken: "tok-" + testKey}, "token", "tok-" + testKey},
		{Option{SDKToken: "sdk-" + testKey}, "sdkToken", "sdk-" + testKey},
	} {
		c := newClient(t, srv.RESTURL(), tc.opt)
		if _, err := c.Stock.Intraday.Quote(ctx, "2330", IntradayParams{}); err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		reqs := srv.RESTRequests()
		last := reqs[len(reqs)-1]
		if last.Credential != tc.kind || strings.Contains(last.RequestURI, tc.secret) {
			t.Errorf("%s: credential %q, URI %q", tc.kind, last.Credential, last.RequestURI)
		}
		for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c), fmt.Sprintf("%v %+v %#v", tc.opt, tc.opt, tc.opt)} {
			if strings.Contains(s, tc.secret) {
				t.Errorf("%s printed: %s", tc.kind, s)
			}
		}
	}
}

func TestCredentialRules(t *testing.T) {
	t.Setenv(APIKeyEnv, "")
	for _, opt := range []Option{
		{},
		{APIKey: "a", SDKToken: "b"},
		{APIKey: "  "},
		{APIKey: "a\r\nX-Evil: 1"},
		{APIKey: "a", BaseURL: "https://user:pass@example.com/marketdata"},
		{APIKey: "a", BaseURL: "ftp://example.com"},
		{APIKey: "a", MaxBodySize: -1},
	} {
		if _, err := NewClient(opt); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%v: %v", opt, err)
		} else {
			noSecret(t, err, "pass", "X-Evil")
		}
	}
	t.Setenv(APIKeyEnv, testKey)
	srv := newMock(t)
	c, err := NewClient(Option{BaseURL: srv.RESTURL() + "/"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	if _, err := c.Stock.Intraday.Quote(testContext(t), "2330", IntradayParams{}); err != nil {
		t.Fatalf("FUGLE_API_KEY: %v", err)
	}
	if c.base != srv.RESTURL()+"/v1.0" {
		t.Errorf("base %s", c.base)
	}
	if c2, _ := NewClient(Option{BaseURL: srv.RESTURL() + "/v1.0"}); c2.base != srv.RESTURL()+"/v1.0" {
		t.Errorf("a base with its version: %s", c2.base)
	}
}

func TestEchoedSecretRedacted(t *testing.T) {
	srv := serveBody(t, 401, `{"statusCode":401,"message":"key `+testKey+` is not valid"}`, nil)
	_, err := newClient(t, srv.URL, Option{}).Stock.Intraday.Quote(testContext(t), "2330", IntradayParams{})
	var ae *APIError
	if !errors.As(err, &ae) || strings.Contains(string(ae.Body), testKey) {
		t.Fatalf("%v", err)
	}
	noSecret(t, err, testKey)
}

func TestHostileResponses(t *testing.T) {
	ctx := testContext(t)
	for _, tc := range []struct {
		name string
		body string
		kind error
		as   any
	}{
		{"html", "<html><body>Service Unavailable</body></html>", ErrMalformedResponse, nil},
		{"array", `[1,2]`, ErrMalformedResponse, nil},
		{"empty", ``, ErrMalformedResponse, nil},
		{"two values", `{"symbol":"2330"}{}`, ErrMalformedResponse, nil},
		{"wrong type", `{"symbol":2330}`, ErrMalformedResponse, new(*messages.FieldError)},
		{"wrong nested type", `{"symbol":"2330","lastTrade":{"price":"x"}}`, ErrMalformedResponse, new(*messages.FieldError)},
		{"bad utf8", "{\"symbol\":\"\xff\"}", ErrMalformedResponse, nil},
		{"too large", `{"symbol":"2330","name":"` + strings.Repeat("x", 2000) + `"}`, ErrResponseTooLarge, nil},
	} {
		srv := serveBody(t, 200, tc.body, nil)
		c := newClient(t, srv.URL, Option{MaxBodySize: 1024, MaxRetries: -1})
		_, err := c.Stock.Intraday.Quote(ctx, "2330", IntradayParams{})
		var re *ResponseError
		if !errors.Is(err, tc.kind) || !errors.As(err, &re) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.as != nil && !errors.As(err, tc.as) {
			t.Errorf("%s: %v does not unwrap to %T", tc.name, err, tc.as)
		}
		noSecret(t, err, testKey)
	}
	// Rows of the wrong types.
	for _, body := range []string{
		`{"symbol":"2330","data":[1]}`,
		`{"symbol":"2330","data":{"a":1}}`,
		`{"symbol":"2330","data":[{"price":"1"}]}`,
		`{"symbol":["x"],"data":[]}`,
	} {
		srv := serveBody(t, 200, body, nil)
		c := newClient(t, srv.URL, Option{MaxRetries: -1})
		if _, err := c.Stock.Intraday.Trades(ctx, "2330", TradesParams{}); !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("trades %s: %v", body, err)
		}
		if _, err := c.Stock.Intraday.Volumes(ctx, "2330", IntradayParams{}); !errors.Is(err, ErrMalformedResponse) && !strings.Contains(body, `"price":"1"`) {
			t.Errorf("volumes %s: %v", body, err)
		}
	}
	var ute *json.UnmarshalTypeError
	srv := serveBody(t, 200, `{"symbol":"0050","closePrice":"x"}`, nil)
	if _, err := newClient(t, srv.URL, Option{}).Stock.Historical.Stats(ctx, "0050"); !errors.Is(err, ErrMalformedResponse) || !errors.As(err, &ute) {
		t.Errorf("stats of the wrong type: %v", err)
	}
}

func TestTruncatedBody(t *testing.T) {
	srv := newMock(t)
	srv.FailREST(marketdatatest.RESTFailure{Status: 200, Body: []byte(`{"symbol":"2330","name":"a long enough name"}`), Truncate: 12, Times: 1})
	c := newClient(t, srv.RESTURL(), Option{MaxRetries: -1})
	_, err := c.Stock.Intraday.Quote(testContext(t), "2330", IntradayParams{})
	if !errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("truncated: %v", err)
	}
	// Retried, a cut body is just a lost answer.
	srv.FailREST(marketdatatest.RESTFailure{Status: 200, Body: []byte(`{"symbol":"2330","name":"a long enough name"}`), Truncate: 12, Times: 1})
	if _, err := newClient(t, srv.RESTURL(), Option{}).Stock.Intraday.Quote(testContext(t), "2330", IntradayParams{}); err != nil {
		t.Fatalf("a retry after a cut body: %v", err)
	}
}

func TestServerNeverAnswers(t *testing.T) {
	srv := newMock(t)
	srv.SetRESTLatency(time.Hour)
	c := newClient(t, srv.RESTURL(), Option{Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err := c.Stock.Intraday.Quote(context.Background(), "2330", IntradayParams{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the default timeout to end it: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	noTimeout := newClient(t, srv.RESTURL(), Option{Timeout: -1})
	done := make(chan error, 1)
	go func() {
		_, err := noTimeout.Stock.Intraday.Quote(ctx, "2330", IntradayParams{})
		done <- err
	}()
	if err := srv.Wait(testContext(t), func() bool { return len(srv.RESTRequests()) >= 2 }); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("want the context to end it: %v", err)
	}
	noSecret(t, err, testKey)
}

func TestLongRetryAfterNotWaited(t *testing.T) {
	srv := newMock(t)
	srv.FailREST(marketdatatest.RESTFailure{Status: 429, Header: http.Header{"Retry-After": {"3600"}}, Times: 1})
	c := newClient(t, srv.RESTURL(), Option{Timeout: -1})
	start := time.Now()
	_, err := c.Stock.Intraday.Quote(testContext(t), "2330", IntradayParams{})
	var ae *APIError
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &ae) || ae.RetryAfter != time.Hour {
		t.Fatalf("%v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("waited %v", d)
	}
}

// A redirect to another host never carries the credential there.
func TestRedirectDropsCredential(t *testing.T) {
	var got http.Header
	other := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		_, _ = w.Write([]byte(`{"symbol":"2330"}`))
	})
	origin := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	})
	for _, opt := range []Option{{}, {HTTPClient: &http.Client{}}, {BearerToken: "tok-" + testKey}} {
		got = nil
		if _, err := newClient(t, origin.URL, opt).Stock.Intraday.Quote(testContext(t), "2330", IntradayParams{}); err != nil {
			t.Fatal(err)
		}
		if got == nil || got.Get("X-API-KEY") != "" || got.Get("Authorization") != "" {
			t.Errorf("the other host saw %v", got)
		}
	}
}
