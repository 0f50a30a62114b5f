// Package record stores the frames of a Fugle MarketData WebSocket
// connection byte for byte and reads them back.
//
// A Writer plugs into the client's frame tap (Writer.Frame, or Writer.Tap
// for a func value) and into its connect and disconnect hooks
// (Writer.Open, Writer.Closed). The tap never waits: it copies the frame
// into a pooled buffer and hands it to a bounded queue; a background
// goroutine encodes, compresses and writes. When the queue is full the
// frame is dropped and counted, and a lost line with the count is written
// where the gap was. The output is flushed at least every FlushInterval
// (default 1 s), so a crash loses about that much.
//
// The credential never reaches a recording: a frame whose event is "auth"
// is dropped even when handed to the writer, an outbound frame that is not
// valid JSON is dropped (it cannot be proven free of a credential), and
// URLs lose their userinfo and query values.
//
// # File format, version 1
//
// A recording is a sequence of lines, each one JSON object terminated by a
// single '\n' (NDJSON), optionally compressed as a whole with gzip or
// zstd. Create picks the compression by the file name's suffix:
// ".ndjson" (none), ".ndjson.gz" (gzip), ".ndjson.zst" (zstd). The reader
// detects it by the magic bytes, whatever the name.
//
// Every line has "kind" and "t", the time in Unix nanoseconds (for frames,
// the time the client received or sent it). The kinds:
//
//	{"kind":"header","t":1685338200000000000,"v":1,"endpoint":"wss://api.fugle.tw/marketdata/v1.0/stock/streaming","product":"stock","sdk":"v0.4.0"}
//	{"kind":"open","t":1685338200001000000,"conn":1,"url":"wss://api.fugle.tw/marketdata/v1.0/stock/streaming"}
//	{"kind":"frame","t":1685338200002000000,"conn":1,"dir":"out","raw":{"event":"subscribe","data":{"channel":"trades","symbol":"2330"}}}
//	{"kind":"frame","t":1685338200003000000,"conn":1,"dir":"in","raw":{"event":"subscribed","data":{"id":"abc","channel":"trades","symbol":"2330"}}}
//	{"kind":"frame","t":1685338200004000000,"conn":1,"dir":"in","b64":"bm90IGpzb24="}
//	{"kind":"lost","t":1685338200005000000,"count":17}
//	{"kind":"close","t":1685338200006000000,"conn":1,"code":1006,"reason":""}
//	{"kind":"end","t":1685338200007000000}
//
// header is the first line of every file (and of every segment, if files
// are concatenated): "v" is the format version (1), then the endpoint (a
// redacted URL), the product and the SDK version, each omitted when empty.
//
// open and close mark a connection's start and end; "conn" is the client's
// connection number. close carries the WebSocket close code and reason.
// When a file is rotated, the next file repeats the open line (with its
// original time) of every connection still open, so each file stands alone.
//
// frame is one WebSocket message; "dir" is "in" (server to client) or
// "out" (client to server). "raw" holds the message itself, its bytes
// unchanged, when they form valid UTF-8 JSON with no leading or trailing
// whitespace and no CR or LF byte (so the line stays one line). Any other
// message is stored in "b64" instead, standard base64 with padding. A
// reader that keeps the exact bytes of the "raw" value gets the message
// back byte for byte.
//
// lost says that count frames or markers were dropped, because the queue
// was full, between the line before it and the line after it; its "t" is
// when the gap was noticed.
//
// end is the last line of a file closed in order. A file whose last line
// is not end was cut short (a crash, a full disk, a copy in progress); the
// reader then returns every complete line and an error matching
// ErrTruncated, whose *LineError gives the line number and byte offset
// (in the decompressed stream) of the cut. In a compressed file the lines
// written since the last flush may not be decodable: they are lost with
// the cut, at most about one FlushInterval's worth.
//
// The members' order within a line is as shown, but readers must not rely
// on it, and must ignore members and kinds they do not know: version 1 may
// gain both. A change that breaks a version 1 reader bumps "v".
package record
