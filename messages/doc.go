// Package messages decodes the frames of the Fugle MarketData WebSocket API
// into typed Go values.
//
// A Decoder turns the bytes of one frame into a Frame (the envelope: event,
// channel, subscription id and the raw "data" member), and then into the
// payload type of its channel: Trade, Candle, Book, Aggregate or Index, or
// one of the control types. The decoder is built for the reader goroutine of
// a streaming client: it validates each frame in one pass, reads each payload
// in one more pass over its keys, reflects on nothing, and interns the short
// strings that repeat from frame to frame (symbols, exchanges, ids), so that
// a steady stream of trades or books for known symbols decodes without
// allocating.
//
// Every value a Decoder hands out owns its memory: the input buffer may be
// reused as soon as the typed method returns. Only Frame.Data and Frame.Raw
// alias the input.
//
// The server's documentation and its SDKs disagree on a few details (a
// serial or a time sent as a number or as a string, an error code at the top
// level or inside "data", the misspelt "changePercnet"); the decoder accepts
// every variant. Fields may be missing, and a missing field is not the same
// as zero: each payload type reports presence through its Has method.
//
// Decode is a convenience for tools, tests and fuzzing: it decodes any frame
// into a Message at the cost of a few allocations.
package messages
