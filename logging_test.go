package marketdata

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a buffer safe for the handler's writes from several
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) records(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON record: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLoggerRecordsTheSessionWithoutCredentials(t *testing.T) {
	const secret = "s3cr3t-logging-key"
	srv := newServer(t)
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.APIKey, o.Logger, o.BufferSize, o.DropPolicy = testKey, logger, 2, DropNewest
	})
	// The mock accepts testKey only; log a session that also meets a
	// rejected credential on another client with the secret.
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	srv.RejectSymbol("books", "9999", CodeValidationFailed, "Invalid symbol")
	if err := c.Subscribe(testCtx(t), SubscribeRequest{Channel: ChannelBooks, Symbols: []string{"9999"}}); err == nil {
		t.Fatal("refused subscription accepted")
	}
	for i := 1; i <= 10; i++ { // nobody reads: drops
		srv.Publish("trades", "2330", tradeJSON("2330", i))
	}
	eventually(t, "drops", func() bool { return c.Stats().Trades.Dropped > 0 })
	srv.DropAll()
	nextEvent(t, c, func(Resubscribed) bool { return true })
	_ = c.Close()

	bad := newClient(t, srv, func(o *WebSocketClientOption) { o.APIKey, o.Logger = secret, logger })
	if err := bad.Connect(testCtx(t)); err == nil {
		t.Fatal("wrong key accepted")
	}
	_ = bad.Close()

	if strings.Contains(buf.String(), secret) || strings.Contains(buf.String(), testKey) {
		t.Fatal("a credential reached the log")
	}
	levels := map[string]string{}
	for _, r := range buf.records(t) {
		levels[r["msg"].(string)] = r["level"].(string)
	}
	for msg, level := range map[string]string{
		"marketdata: connected":            "INFO",
		"marketdata: authenticated":        "INFO",
		"marketdata: disconnected":         "INFO", // the last one, after Close
		"marketdata: retrying":             "WARN",
		"marketdata: reconnected":          "INFO",
		"marketdata: resubscribed":         "INFO",
		"marketdata: subscription refused": "WARN",
		"marketdata: dropped values":       "WARN",
		"marketdata: frame":                "DEBUG",
	} {
		if got, ok := levels[msg]; !ok || (got != level && msg != "marketdata: disconnected") {
			t.Errorf("%q logged at %q, want %s (all: %v)", msg, got, level, levels)
		}
	}
}

func TestFramesAreLoggedOnlyAtDebug(t *testing.T) {
	srv := newServer(t)
	var buf syncBuffer
	c := newClient(t, srv, func(o *WebSocketClientOption) {
		o.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	connect(t, c)
	subscribe(t, c, ChannelTrades, "2330")
	srv.Publish("trades", "2330", tradeJSON("2330", 1))
	receive(t, c.Trades())
	if strings.Contains(buf.String(), `"marketdata: frame"`) {
		t.Fatal("frames logged at Info")
	}
}
