// Package marketdatatest provides a mock Fugle MarketData streaming endpoint
// for tests, as net/http/httptest does for HTTP: NewServer, point a client
// at StockURL, Publish, Close (see the examples). Package testkit returns a
// client already connected to one, closed at the test's cleanup; package
// replay serves a recording through it.
//
// The server listens on a loopback port and serves the paths the official
// SDKs compose from a base URL, <URL()>/<version>/<product>/streaming:
// v1.0/stock, v1.0/futopt and v1.1/futopt. Any other path gets 404. It
// speaks the protocol (auth, heartbeats, ping, subscribe, unsubscribe),
// delivers what a test publishes to the subscribed connections, injects
// faults (drops, close frames, silence, refused handshakes, failing auth,
// a stopped and restarted listener), records every frame each client sent
// and how each connection ended, and can simulate a market feed.
//
// The same listener serves the REST API at RESTURL() (http://…/marketdata),
// with the same credentials, from the trades, candles and aggregates that
// were published, whether or not anyone was subscribed, so what a stream
// missed is exactly what REST returns; see RESTFailure and the SetREST…
// methods for its knobs.
//
// Tests wait for the server's state with Wait and the WaitFor methods, which
// wake on every change instead of polling. Close returns only after every
// goroutine the server started has ended, so goleak passes after it.
//
// Where the service's behaviour is not documented, the server does this:
//
//   - A rejected credential gets error 1000 "Invalid authentication
//     credentials", then close 1008 with the same reason. An auth frame
//     without exactly one non-empty credential gets error 1003 and the
//     connection stays open for another try.
//   - Any other command before authentication gets error 1002 and the
//     connection stays open. Invalid JSON, a frame without an event, a
//     binary frame and an unknown event get error 1003.
//   - Heartbeats start when a connection authenticates.
//   - Subscription ids are random per connection. Subscribing again to the
//     same channel, symbol and modifiers returns the existing id.
//   - A subscribe request fails whole, subscribing nothing, when any of its
//     symbols is invalid, rejected by RejectSymbol, or over the limit.
//     Likewise an unsubscribe request naming an unknown id removes nothing.
//   - {"event":"subscriptions"} is answered with
//     {"event":"subscriptions","data":[...]} holding one subscribed-style
//     entry per subscription.
//   - A client's close frame is echoed with the same code, without reason.
package marketdatatest
