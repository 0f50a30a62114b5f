// Package messages decodes the frames of the Fugle MarketData WebSocket API
// into typed Go values.
//
// A Decoder turns the bytes of one frame into a Frame (the envelope: event,
// channel, subscription id, and the "data" member as a gjson.Result), and
// then into the payload type of its channel, Trade, Candle, Book, Aggregate
// or Index, or into one of the control types.
//
// The decoder is built for the reader goroutine of a streaming client. Every
// frame is validated without recursion, so hostile input (truncated, deeply
// nested, not JSON at all) ends in an error wrapping ErrMalformed, never in
// a panic; a frame whose bytes are not valid UTF-8 is rejected too. A data
// frame laid out the way the server writes it is read in a single pass:
// Frame checks its envelope and leaves "data" to the typed method, which
// validates it as it reads, switching on each member's name and storing its
// value straight into the output, with no reflection and no intermediate
// values. Any other frame is validated whole by Frame first. Either way a
// frame is accepted only if Frame and then the typed method for its channel
// accept it, and they reject exactly the same frames either way.
// Short strings that repeat from frame to frame (symbols, exchanges, ids)
// are interned, so that a steady stream of trades for known symbols decodes
// without allocating; a book allocates once, for its levels.
//
// Every value the typed methods produce owns its memory: the input buffer
// may be reused as soon as they return. Only Frame.Data and Frame.Raw alias
// the input.
//
// The server's documentation and its SDKs disagree on a few details: a
// serial or a time sent as a number or as a string, an error code at the top
// level or inside "data", the misspelt "changePercnet". The decoder accepts
// every variant. Fields may be missing, and a missing field is not the same
// as zero: each payload type reports presence through its Has method. JSON
// null counts as absent.
//
// Decode is a convenience for tools, tests and fuzzing: it decodes any frame
// into a Message at the cost of a few allocations.
package messages
