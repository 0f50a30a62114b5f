package record

import (
	"time"

	"github.com/go-fugle/marketdata"
)

// ClientTap adapts w to the client's frame tap, so that recording a session
// is one option:
//
//	w, err := record.Create("day.ndjson.zst", record.Options{Endpoint: endpoint, Product: "stock"})
//	...
//	opt.Tap = w.ClientTap()
//	defer w.Close() // after the client's Close
func (w *Writer) ClientTap() marketdata.FrameTap { return clientTap{w} }

type clientTap struct{ w *Writer }

func (t clientTap) Frame(dir marketdata.FrameDirection, conn uint64, at time.Time, frame []byte) {
	d := In
	if dir == marketdata.FrameOut {
		d = Out
	}
	t.w.Frame(d, conn, at, frame)
}

func (t clientTap) Opened(conn uint64, at time.Time, url string) { t.w.Open(conn, at, url) }

func (t clientTap) Closed(conn uint64, at time.Time, code int, reason string) {
	t.w.Closed(conn, at, code, reason)
}
