package marketdatatest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// The REST side of the mock serves GET <RESTURL()>/v1.0/{stock|futopt}/...
// on the same listener as the streaming endpoints, with the same
// credentials. Its intraday data is what the WebSocket side published:
// every trades, candles and aggregates payload given to Publish,
// PublishSnapshot or PublishRaw, or sent by the simulated feed, is kept per
// (channel, symbol) before any delivery, so frames published while no client
// was connected, or while the server was silent, are there too. The REST
// answers for a symbol are built from that record when asked: the trades of
// the day, the minute bars, the latest quote.

// DefaultRESTHistory is how many payloads the server keeps per (channel,
// symbol) for its REST answers unless WithRESTHistory says otherwise. Past
// it the oldest quarter is forgotten.
const DefaultRESTHistory = 20000

// restIdleTimeout closes a kept-alive REST connection left idle.
const restIdleTimeout = 30 * time.Second

// WithRESTHistory sets how many payloads are kept per (channel, symbol) for
// the REST answers (default DefaultRESTHistory); past it the oldest quarter
// is forgotten. A negative n keeps nothing.
func WithRESTHistory(n int) Option {
	return func(c *config) { c.restHistory = n }
}

// RESTRequest is one REST request the server received.
type RESTRequest struct {
	Time   time.Time
	Method string
	// Path is the decoded path, such as
	// /marketdata/v1.0/futopt/intraday/quote/TXFC4/TXFD4.
	Path string
	// RequestURI is the request target exactly as sent, escaping included.
	RequestURI string
	// Query is the parsed query.
	Query url.Values
	// Credential names the credential header used: "apikey" (X-API-KEY),
	// "token" (Authorization: Bearer) or "sdkToken" (X-SDK-TOKEN), joined
	// with "," when several were sent, "" for none. Values are never kept.
	Credential string
	// Header holds the request headers without the credential headers.
	Header http.Header
	// Status is the status the server answered with, 0 while the request
	// is being answered.
	Status int
}

// RESTFailure is an answer the server gives instead of the real one, for
// the next Times requests whose path (after /marketdata/v1.0) starts with
// PathPrefix ("" matches all).
type RESTFailure struct {
	Status int
	// Body is sent verbatim: JSON, an HTML page, anything. Empty: the
	// status's documented JSON body.
	Body []byte
	// Header is added to the answer (Retry-After, Content-Type, ...).
	Header     http.Header
	Times      int
	PathPrefix string
	// Truncate, when positive, announces the full body length but sends
	// only this many bytes before closing the connection.
	Truncate int
}

type storedPayload struct {
	b      []byte
	framed bool // b is a whole frame; the payload is its "data"
}

func (p storedPayload) payload() gjson.Result {
	if p.framed {
		return gjson.GetBytes(p.b, "data")
	}
	return gjson.ParseBytes(p.b)
}

type canned struct {
	status int
	body   []byte
}

type restState struct {
	keep int

	mu        sync.Mutex
	series    map[chanSym][]storedPayload
	pageLimit int
	rate      int
	windows   map[string]rateWindow
	failures  []RESTFailure
	latency   time.Duration
	forbidden map[string]bool
	canned    map[string]canned
	requests  []RESTRequest
	onRequest func(RESTRequest)
}

type rateWindow struct {
	start time.Time
	n     int
}

func newRESTState(keep int) *restState {
	if keep == 0 {
		keep = DefaultRESTHistory
	}
	return &restState{keep: keep, series: map[chanSym][]storedPayload{}, windows: map[string]rateWindow{}, forbidden: map[string]bool{}, canned: map[string]canned{}}
}

// recorded reports whether REST answers are built from channel.
func recorded(channel string) bool {
	return channel == "trades" || channel == "candles" || channel == "aggregates"
}

// record keeps one payload (or whole frame) for the REST answers. It is on
// the publish path: a lock and an append.
func (r *restState) record(channel, symbol string, b []byte, framed bool) {
	if r.keep < 0 || !recorded(channel) {
		return
	}
	k := chanSym{channel, symbol}
	r.mu.Lock()
	l := append(r.series[k], storedPayload{b, framed})
	if len(l) > r.keep {
		// A new array: answers being built may still read the old one.
		drop := max(len(l)/4, 1)
		l = append(make([]storedPayload, 0, r.keep+1), l[drop:]...)
	}
	r.series[k] = l
	r.mu.Unlock()
}

func (r *restState) load(channel, symbol string) []storedPayload {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.series[chanSym{channel, symbol}]
	return l[:len(l):len(l)]
}

func (r *restState) symbols() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for k := range r.series {
		if !seen[k.symbol] {
			seen[k.symbol] = true
			out = append(out, k.symbol)
		}
	}
	return out
}

// RESTURL returns the REST base URL, http://127.0.0.1:PORT/marketdata, in
// the form the official SDKs (and package rest) take: they append /v1.0.
func (s *Server) RESTURL() string { return "http://" + s.addr + "/marketdata" }

// SetRESTPageLimit caps the rows of one trades page, whatever limit the
// request asks; 0 removes the cap.
func (s *Server) SetRESTPageLimit(n int) {
	s.rest.mu.Lock()
	s.rest.pageLimit = n
	s.rest.mu.Unlock()
}

// SetRESTRateLimit answers 429 {"statusCode":429,"message":"Rate limit
// exceeded"} past perMinute requests per credential in a window of 60
// seconds that starts at the window's first request, and sends
// X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset (epoch ms) and
// Retry-After (seconds) on every answer. 0 removes the limit.
func (s *Server) SetRESTRateLimit(perMinute int) {
	s.rest.mu.Lock()
	s.rest.rate = perMinute
	s.rest.windows = map[string]rateWindow{}
	s.rest.mu.Unlock()
}

// FailREST queues an injected answer; see RESTFailure.
func (s *Server) FailREST(f RESTFailure) {
	s.rest.mu.Lock()
	s.rest.failures = append(s.rest.failures, f)
	s.rest.mu.Unlock()
}

// SetRESTLatency delays every REST answer by d (0: none). The delay ends
// early when the server closes, so a client waiting on it is cut off then.
func (s *Server) SetRESTLatency(d time.Duration) {
	s.rest.mu.Lock()
	s.rest.latency = d
	s.rest.mu.Unlock()
}

// ForbidREST answers 403 {"message":"Forbidden","statusCode":403} to every
// path under group, such as "stock/snapshot" or "stock/technical", as the
// service does for a plan without the feature.
func (s *Server) ForbidREST(group string, on bool) {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	if on {
		s.rest.forbidden[strings.Trim(group, "/")] = true
	} else {
		delete(s.rest.forbidden, strings.Trim(group, "/"))
	}
}

// HandleREST answers requests for path (after /marketdata/v1.0, such as
// /stock/technical/sma/2330, any query) with status and body, for the
// endpoints the record of published data cannot answer. A nil body removes
// the answer.
func (s *Server) HandleREST(path string, status int, body []byte) {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	if body == nil {
		delete(s.rest.canned, path)
		return
	}
	s.rest.canned[path] = canned{status, append([]byte(nil), body...)}
}

// RESTRequests returns the REST requests received so far, in order of
// arrival, those still being answered included.
func (s *Server) RESTRequests() []RESTRequest {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	return append([]RESTRequest(nil), s.rest.requests...)
}

// OnRESTRequest calls fn with each REST request as it arrives, before it is
// answered, on the connection's goroutine; nil removes it. fn may call any
// Server method (Publish, to have trades arrive between two pages).
func (s *Server) OnRESTRequest(fn func(RESTRequest)) {
	s.rest.mu.Lock()
	s.rest.onRequest = fn
	s.rest.mu.Unlock()
}

// WaitForRESTRequests waits until n REST requests have arrived in total.
func (s *Server) WaitForRESTRequests(ctx context.Context, n int) error {
	err := s.Wait(ctx, func() bool { return len(s.RESTRequests()) >= n })
	if err != nil {
		return fmt.Errorf("marketdatatest: waiting for %d REST requests, have %d: %w", n, len(s.RESTRequests()), err)
	}
	return nil
}

// isRESTPath reports whether path is under the REST API: below a product
// of v1.0, and not below its streaming endpoint.
func isRESTPath(path string) bool {
	rest, ok := strings.CutPrefix(path, "/marketdata/v1.0/stock/")
	if !ok {
		rest, ok = strings.CutPrefix(path, "/marketdata/v1.0/futopt/")
	}
	return ok && rest != "streaming" && !strings.HasPrefix(rest, "streaming/")
}

// restAnswer is a response before it is written.
type restAnswer struct {
	status   int
	header   http.Header
	body     []byte
	truncate int
}

// serveREST answers req and then further requests on the same connection
// while the client keeps it alive. The connection stays in s.pending, so
// Close and Stop cut it.
func (s *Server) serveREST(nc net.Conn, br *bufio.Reader, req *http.Request) {
	for {
		var a restAnswer
		if isRESTPath(req.URL.Path) {
			a = s.answerREST(nc, br, req)
		} else {
			a = restAnswer{status: http.StatusNotFound, body: notFoundBody(req.URL.Path)}
		}
		if !s.writeREST(nc, req, a) || req.Close || a.truncate > 0 {
			return
		}
		_ = nc.SetDeadline(time.Now().Add(restIdleTimeout))
		var err error
		if req, err = http.ReadRequest(br); err != nil {
			return
		}
	}
}

func (s *Server) writeREST(nc net.Conn, req *http.Request, a restAnswer) bool {
	h := a.header
	if h == nil {
		h = http.Header{}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	body := a.body
	if len(body) > 1024 && a.truncate == 0 && strings.Contains(req.Header.Get("Accept-Encoding"), "gzip") {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = zb.Bytes()
		h.Set("Content-Encoding", "gzip")
		h.Set("Vary", "Accept-Encoding")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if req.Close || s.isClosed() {
		h.Set("Connection", "close")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", a.status, http.StatusText(a.status))
	_ = h.Write(&b)
	b.WriteString("\r\n")
	if a.truncate > 0 && a.truncate < len(body) {
		body = body[:a.truncate]
	}
	b.Write(body)
	_ = nc.SetWriteDeadline(time.Now().Add(s.cfg.writeTimeout))
	_, err := nc.Write(b.Bytes())
	return err == nil
}

func jsonError(status int, message string) []byte {
	b := []byte(`{"message":`)
	b = appendString(b, message)
	b = append(b, `,"statusCode":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	return append(b, '}')
}

func notFoundBody(path string) []byte {
	return jsonError(http.StatusNotFound, "Cannot GET "+path)
}

// requestCredential reads the credential headers.
func requestCredential(h http.Header) (kinds []string, kind, value string) {
	if v := h.Get("X-API-KEY"); v != "" {
		kinds, kind, value = append(kinds, "apikey"), "apikey", v
	}
	if v := h.Get("Authorization"); v != "" {
		tok, ok := strings.CutPrefix(v, "Bearer ")
		if !ok {
			tok = ""
		}
		kinds, kind, value = append(kinds, "token"), "token", tok
	}
	if v := h.Get("X-SDK-TOKEN"); v != "" {
		kinds, kind, value = append(kinds, "sdkToken"), "sdkToken", v
	}
	return kinds, kind, value
}

// answerREST runs the knobs and then the route.
func (s *Server) answerREST(nc net.Conn, br *bufio.Reader, req *http.Request) restAnswer {
	kinds, kind, value := requestCredential(req.Header)
	hdr := req.Header.Clone()
	for _, k := range []string{"X-Api-Key", "Authorization", "X-Sdk-Token"} {
		hdr.Del(k)
	}
	rec := RESTRequest{
		Time: time.Now(), Method: req.Method, Path: req.URL.Path, RequestURI: req.RequestURI,
		Query: req.URL.Query(), Credential: strings.Join(kinds, ","), Header: hdr,
	}
	r := s.rest
	r.mu.Lock()
	idx := len(r.requests)
	r.requests = append(r.requests, rec)
	hook, latency := r.onRequest, r.latency
	r.mu.Unlock()
	s.notify()
	if hook != nil {
		hook(rec)
	}
	var a restAnswer
	if latency > 0 && !s.waitLatency(nc, br, latency) {
		a = restAnswer{status: http.StatusServiceUnavailable, body: statusBody(http.StatusServiceUnavailable)}
	} else {
		a = s.routeREST(req, len(kinds) == 1 && value != "" && s.credentialOK(kind, value), kind+"\x00"+value)
	}
	r.mu.Lock()
	r.requests[idx].Status = a.status
	r.mu.Unlock()
	s.notify()
	return a
}

// waitLatency waits d, or less if the connection closes (the client gave
// up, or Close or Stop cut it) or the server closes, and reports whether the
// whole delay passed.
func (s *Server) waitLatency(nc net.Conn, br *bufio.Reader, d time.Duration) bool {
	deadline := time.Now().Add(d)
	_ = nc.SetReadDeadline(deadline)
	defer nc.SetReadDeadline(time.Time{})
	if _, err := br.Peek(1); err != nil {
		ne, ok := err.(net.Error)
		return ok && ne.Timeout()
	}
	// A pipelined request is waiting: sleep the rest.
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.quit:
		return false
	}
}

func (s *Server) routeREST(req *http.Request, authorized bool, who string) restAnswer {
	r := s.rest
	sub := strings.TrimPrefix(req.URL.Path, "/marketdata/v1.0")
	r.mu.Lock()
	for i := range r.failures {
		f := &r.failures[i]
		if f.Times > 0 && strings.HasPrefix(sub, f.PathPrefix) {
			f.Times--
			a := restAnswer{status: f.Status, header: f.Header.Clone(), body: f.Body, truncate: f.Truncate}
			if len(a.body) == 0 {
				a.body = statusBody(f.Status)
			}
			r.mu.Unlock()
			return a
		}
	}
	r.mu.Unlock()
	if req.Method != http.MethodGet {
		return restAnswer{status: http.StatusNotFound, body: notFoundBody(req.URL.Path)}
	}
	if !authorized {
		return restAnswer{status: http.StatusUnauthorized, body: statusBody(http.StatusUnauthorized)}
	}
	h := http.Header{}
	r.mu.Lock()
	if r.rate > 0 {
		now := time.Now()
		w := r.windows[who]
		if w.start.IsZero() || now.Sub(w.start) >= time.Minute {
			w = rateWindow{start: now}
		}
		w.n++
		r.windows[who] = w
		reset := w.start.Add(time.Minute)
		h.Set("X-RateLimit-Limit", strconv.Itoa(r.rate))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(r.rate-w.n, 0)))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.UnixMilli(), 10))
		h.Set("Retry-After", strconv.Itoa(int((reset.Sub(now)+time.Second-1)/time.Second)))
		if w.n > r.rate {
			r.mu.Unlock()
			return restAnswer{status: http.StatusTooManyRequests, header: h, body: statusBody(http.StatusTooManyRequests)}
		}
	}
	for g := range r.forbidden {
		if strings.HasPrefix(sub, "/"+g+"/") || sub == "/"+g {
			r.mu.Unlock()
			return restAnswer{status: http.StatusForbidden, header: h, body: statusBody(http.StatusForbidden)}
		}
	}
	c, ok := r.canned[sub]
	pageLimit := r.pageLimit
	r.mu.Unlock()
	if ok {
		return restAnswer{status: c.status, header: h, body: c.body}
	}
	status, body := s.restData(sub, req.URL.Query(), pageLimit)
	return restAnswer{status: status, header: h, body: body}
}

// statusBody is the documented (or, for 403 and 404, the analogous) JSON
// body of a status.
func statusBody(status int) []byte {
	switch status {
	case http.StatusTooManyRequests:
		return []byte(`{"statusCode":429,"message":"Rate limit exceeded"}`)
	case http.StatusNotFound:
		return jsonError(status, "Not Found")
	}
	text := http.StatusText(status)
	if text == "" {
		text = "Error"
	}
	return jsonError(status, text)
}
