// Package rest is a client for the Fugle MarketData REST API (v1.0): Taiwan
// stocks, futures and options, over standard library HTTP.
//
//	rc, err := rest.NewClient(rest.Option{APIKey: key})
//	q, err := rc.Stock.Intraday.Quote(ctx, "2330", rest.IntradayParams{})
//	fmt.Println(q.LastPrice, q.Has("previousClose"))
//
// Calls are grouped as the official SDKs group them: rc.Stock.Intraday,
// rc.Stock.Historical, rc.Stock.Snapshot, rc.Stock.Technical,
// rc.Stock.CorporateActions, rc.FutOpt.Intraday and rc.FutOpt.Historical.
// Every call takes a context, and Client.Get reaches any other path.
//
// # Results
//
// Where a REST body has the shape of a WebSocket payload, the result is the
// messages type, decoded by the same messages.Decoder: a quote is a
// messages.Aggregate, a trade row a messages.Trade, a candle row a
// messages.Candle. Their Has methods tell an absent field from a zero one
// (a trade row without bid, ask or volume reports Has("volume") false). The
// other results have their own types. Unknown fields are ignored, JSON null
// reads as absent, and the few fields whose type the sources disagree on are
// accepted in every documented form.
//
// # Credentials
//
// Exactly one of APIKey, BearerToken and SDKToken is set, or none and the
// FUGLE_API_KEY environment variable holds the key. The credential travels
// in a header (X-API-KEY, Authorization: Bearer, X-SDK-TOKEN), never in a
// URL, and never appears in an error or in the output of String or GoString.
//
// # Errors, limits and retries
//
// A status of 400 or more is an *APIError with the status and the server's
// message; errors.Is matches ErrUnauthorized (401), ErrForbidden (403),
// ErrNotFound (404) and ErrRateLimited (429). A body that cannot be used (not
// JSON, such as a proxy's HTML page; truncated; of the wrong types; larger
// than Option.MaxBodySize) is a *ResponseError matching
// ErrMalformedResponse or ErrResponseTooLarge. No response ever panics the
// client or is read without bound.
//
// Every request first takes a slot from a Budget, a client-side limit of
// requests per minute set from the plan and shareable between clients (and
// with the streaming client's backfill). 429 and 5xx answers, and transport
// failures, are retried with jittered exponential backoff, waiting out
// Retry-After when the server sends it; no other 4xx is retried.
//
// # Paging
//
// Trades come in pages, newest first. StockIntraday.AllTrades and
// FutOptIntraday.AllTrades walk every page of the day with offset and limit,
// and yield each trade once (by serial) even while new trades arrive and
// shift the pages.
package rest
