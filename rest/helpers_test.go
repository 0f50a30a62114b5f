package rest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

const testKey = "sk-test-4f1c9e"

// fixtures serves rest/testdata files: a request for .../v1.0/<p>/<g>/<e>/...
// gets the file named by routes[<p>/<g>/<e>].
func fixtures(t *testing.T, routes map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-KEY") != testKey {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"message":"Unauthorized","statusCode":401}`))
			return
		}
		p := strings.TrimPrefix(r.URL.Path, "/marketdata/v1.0/")
		parts := strings.SplitN(p, "/", 4)
		key := strings.Join(parts[:min(3, len(parts))], "/")
		name, ok := routes[key]
		if !ok {
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"message":"Not Found","statusCode":404}`))
			return
		}
		b, err := os.ReadFile("testdata/" + name + ".json")
		if err != nil {
			t.Errorf("fixture %s: %v", name, err)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newClient returns a client of base that the test cleans up. Retries are
// fast and the budget off unless opt says otherwise.
func newClient(t *testing.T, base string, opt Option) *Client {
	t.Helper()
	opt.BaseURL = base
	if opt.APIKey == "" && opt.BearerToken == "" && opt.SDKToken == "" {
		opt.APIKey = testKey
	}
	if opt.RatePerMinute == 0 && opt.Budget == nil {
		opt.RatePerMinute = -1
	}
	if opt.RetryInitialInterval == 0 {
		opt.RetryInitialInterval = 5 * time.Millisecond
	}
	c, err := NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serveBody answers every request with status and body.
func serveBody(t *testing.T, status int, body string, header map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func httptestServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
