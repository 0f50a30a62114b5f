package marketdata

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"
)

// tlsEndpoint is a small wss:// endpoint: it speaks enough of the protocol
// for a client to authenticate, subscribe to trades, receive one trade per
// subscription, and ping.
type tlsEndpoint struct {
	srv        *httptest.Server
	cert       atomic.Pointer[tls.Certificate] // nil: the httptest certificate
	handshakes atomic.Int32                    // TLS handshakes served with cert
	upgrades   atomic.Int32

	mu     sync.Mutex
	closed bool
	conns  []*websocket.Conn
	wg     sync.WaitGroup
}

// newTLSEndpoint starts the endpoint. With cert nil it is a plain
// httptest.NewTLSServer with its built-in certificate; otherwise it presents
// whatever certificate SetCertificate last chose.
func newTLSEndpoint(t *testing.T, cert *tls.Certificate) *tlsEndpoint {
	t.Helper()
	e := &tlsEndpoint{}
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(e.serve))
	// Refused handshakes are the point of some tests: keep them out of the log.
	e.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if cert == nil {
		e.srv.StartTLS()
	} else {
		e.cert.Store(cert)
		cfg := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			e.handshakes.Add(1)
			return e.cert.Load(), nil
		}}
		e.srv.Listener = tls.NewListener(e.srv.Listener, cfg)
		e.srv.Start()
	}
	t.Cleanup(e.close)
	return e
}

func (e *tlsEndpoint) url() string {
	return "wss://" + e.srv.Listener.Addr().String() + "/marketdata/v1.0/stock/streaming"
}

// trusting returns a TLS config whose only root is the endpoint's
// built-in certificate.
func (e *tlsEndpoint) trusting() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(e.srv.Certificate())
	return &tls.Config{RootCAs: pool}
}

// dropAll closes every upgraded connection's TCP without a close frame.
func (e *tlsEndpoint) dropAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ws := range e.conns {
		_ = ws.NetConn().Close()
	}
}

func (e *tlsEndpoint) close() {
	e.srv.Close() // no new handler starts after this
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.dropAll()
	e.wg.Wait()
}

func (e *tlsEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	e.wg.Add(1)
	defer e.wg.Done()
	e.upgrades.Add(1)
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.conns = append(e.conns, ws)
	e.mu.Unlock()
	n := 0
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return // gorilla has answered a close frame already
		}
		var reply [][]byte
		switch gjson.GetBytes(msg, "event").String() {
		case "auth":
			reply = append(reply, []byte(`{"event":"authenticated","data":{"message":"Authenticated successfully"}}`))
		case "subscribe":
			n++
			id := "tls-" + strconv.Itoa(n)
			channel := gjson.GetBytes(msg, "data.channel").String()
			symbol := gjson.GetBytes(msg, "data.symbol").String()
			reply = append(reply,
				[]byte(`{"event":"subscribed","data":{"id":"`+id+`","channel":"`+channel+`","symbol":"`+symbol+`"}}`),
				marketdatatest.DataFrame(channel, id, tradeJSON(symbol, n)))
		case "ping":
			reply = append(reply, []byte(`{"event":"pong","data":{"time":1685338200000000,"state":`+gjson.GetBytes(msg, "data.state").Raw+`}}`))
		}
		for _, f := range reply {
			if ws.WriteMessage(websocket.TextMessage, f) != nil {
				return
			}
		}
	}
}

// selfSigned makes a certificate that is its own root, valid for the given
// names (IP addresses or DNS names).
func selfSigned(t *testing.T, names ...string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "marketdata test " + serial.String()},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// tlsClient builds a client for a wss endpoint set by edit, with the short
// timeouts of newClient. It is closed at cleanup.
func tlsClient(t *testing.T, edit func(*WebSocketClientOption)) *WebSocketClient {
	t.Helper()
	opt := WebSocketClientOption{
		APIKey:                   testKey,
		CloseTimeout:             2 * time.Second,
		AuthTimeout:              5 * time.Second,
		ReconnectInitialInterval: 10 * time.Millisecond,
		ReconnectMaxInterval:     100 * time.Millisecond,
	}
	edit(&opt)
	c, err := NewWebSocketClient(opt)
	if err != nil {
		t.Fatalf("NewWebSocketClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func poolOf(certs ...*x509.Certificate) *tls.Config {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return &tls.Config{RootCAs: pool}
}

// isCertificateVerificationFailure is what a user matches to tell an
// untrusted server from any other dial failure.
func isCertificateVerificationFailure(err error) bool {
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	return errors.As(err, &verify) || errors.As(err, &unknown)
}

func TestTLSTrustedThroughTLSConfig(t *testing.T) {
	e := newTLSEndpoint(t, nil)
	cfg := e.trusting()
	c := tlsClient(t, func(o *WebSocketClientOption) { o.Endpoint = e.url(); o.TLSConfig = cfg })
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	v := receive(t, c.Trades())
	if v.Symbol != "2330" || v.Serial != 1 || v.ID != "tls-1" || v.Conn != 1 {
		t.Fatalf("trade over wss = %+v", v)
	}
	if _, err := c.Ping(testCtx(t)); err != nil {
		t.Fatalf("Ping over wss: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close over wss = %v, want a completed handshake", err)
	}
	if cfg.InsecureSkipVerify || cfg.RootCAs == nil {
		t.Fatal("the client changed the caller's TLS config")
	}
}

func TestTLSUntrustedCertificateOnConnect(t *testing.T) {
	e := newTLSEndpoint(t, nil)
	_, other := selfSigned(t, "127.0.0.1")
	wrongName, wrongNameLeaf := selfSigned(t, "feed.example")
	named := newTLSEndpoint(t, &wrongName)
	cases := []struct {
		name     string
		endpoint string
		cfg      *tls.Config
		want     func(error) bool
	}{
		{"system roots", e.url(), nil, isCertificateVerificationFailure},
		{"another root", e.url(), poolOf(other), func(err error) bool {
			var unknown x509.UnknownAuthorityError
			return errors.As(err, &unknown)
		}},
		{"certificate for another host", named.url(), poolOf(wrongNameLeaf), func(err error) bool {
			var host x509.HostnameError
			return errors.As(err, &host)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tlsClient(t, func(o *WebSocketClientOption) { o.Endpoint = tc.endpoint; o.TLSConfig = tc.cfg })
			err := c.Connect(testCtx(t))
			if err == nil {
				t.Fatal("Connect to an untrusted server succeeded")
			}
			if !tc.want(err) || !isCertificateVerificationFailure(err) {
				t.Fatalf("Connect = %v (%T), want a certificate verification error", err, err)
			}
			if !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("Connect = %q: the message does not say it is about the certificate", err)
			}
			if c.State() != StateIdle || c.Stats().Connections != 0 {
				t.Fatalf("after a refused certificate: state %v, %d connections", c.State(), c.Stats().Connections)
			}
		})
	}
	if n := e.upgrades.Load() + named.upgrades.Load(); n != 0 {
		t.Fatalf("%d upgrade requests went to an untrusted server", n)
	}
}

// TestTLSUntrustedCertificateOnReconnectIsFinal: the server comes back with
// a certificate the client does not trust; the client makes exactly one
// attempt, reports the certificate error as final and ends.
func TestTLSUntrustedCertificateOnReconnectIsFinal(t *testing.T) {
	trusted, trustedLeaf := selfSigned(t, "127.0.0.1")
	untrusted, _ := selfSigned(t, "127.0.0.1")
	e := newTLSEndpoint(t, &trusted)
	c := tlsClient(t, func(o *WebSocketClientOption) {
		o.Endpoint = e.url()
		o.TLSConfig = poolOf(trustedLeaf)
		o.ReconnectInitialInterval = time.Millisecond
		o.ReconnectMaxInterval = time.Millisecond
	})
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	if v := receive(t, c.Trades()); v.Serial != 1 {
		t.Fatalf("trade = %+v", v)
	}
	e.cert.Store(&untrusted)
	e.dropAll()
	select {
	case <-c.Done():
	case <-time.After(hang):
		t.Fatal("the client did not end after the certificate was refused")
	}
	err := c.Err()
	if !isCertificateVerificationFailure(err) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Err = %v (%T), want the certificate error", err, err)
	}
	var disconnects, attempts int
	for ev := range c.Events() {
		switch ev := ev.(type) {
		case Disconnected:
			disconnects++
			if ev.Conn != 1 || !ev.WillReconnect {
				t.Errorf("disconnected = %v", ev)
			}
		case Reconnecting:
			attempts++
		case Reconnected:
			t.Errorf("reconnected to an untrusted server: %v", ev)
		}
	}
	if disconnects != 1 || attempts != 1 {
		t.Fatalf("%d Disconnected and %d Reconnecting, want one of each", disconnects, attempts)
	}
	if n := e.handshakes.Load(); n != 2 {
		t.Fatalf("%d TLS handshakes, want the first connection and exactly one attempt", n)
	}
	if c.State() != StateClosed || e.upgrades.Load() != 1 {
		t.Fatalf("state %v, %d upgrades", c.State(), e.upgrades.Load())
	}
	if err := c.Connect(testCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Connect after the end = %v, want ErrClosed", err)
	}
}

// TestNoOptionSkipsVerification: certificate checks can be relaxed only
// through the caller's own tls.Config, never by a field of the option.
func TestNoOptionSkipsVerification(t *testing.T) {
	typ := reflect.TypeOf(WebSocketClientOption{})
	for i := 0; i < typ.NumField(); i++ {
		name := strings.ToLower(typ.Field(i).Name)
		for _, bad := range []string{"insecure", "skipverify", "noverify", "unsafe"} {
			if strings.Contains(name, bad) {
				t.Errorf("WebSocketClientOption has a field %s", typ.Field(i).Name)
			}
		}
	}
}
