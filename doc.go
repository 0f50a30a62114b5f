// Package marketdata is a client for the Fugle MarketData streaming API:
// Taiwan stocks, futures and options over WebSocket, delivered as typed Go
// values on typed channels.
//
// A WebSocketClient keeps one connection at a time. Its reader goroutine
// decodes every frame (package messages) and hands market data to Trades,
// Candles, Books, Aggregates and Indices, and everything else (lifecycle,
// heartbeats, server errors, undecodable frames, unknown events) to Events.
// Its writer goroutine owns every write. A supervisor goroutine owns the
// connection: it matches subscription acks to requests, watches liveness,
// and on loss reconnects with jittered exponential backoff and restores the
// wanted subscriptions.
//
// The reader never waits on a slow consumer beyond the configured
// DropPolicy; drops are counted in Stats and reported once per episode as a
// Dropped event. Every value carries the number of the connection it came
// on (Meta.Conn): when it changes, data may be missing in between, and
// Disconnected / Reconnected on Events bracket the gap.
//
// Close performs the WebSocket close handshake, waits for every goroutine,
// and closes every channel exactly once. A client is not reused after Close.
//
// Package marketdatatest provides a mock endpoint for tests.
package marketdata

// Version is the SDK's version, written into the header of recordings.
const Version = "v0.5.0"
