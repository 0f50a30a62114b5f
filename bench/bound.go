package main

import (
	"fmt"
	"time"

	"github.com/go-fugle/marketdata/messages"
)

// boundResult is the fastest a decoding client can be on this machine: the
// raw read loop's time per message plus the SDK decoder's time per frame
// with no socket, each measured in the same run. A client that reads and
// decodes on one goroutine cannot beat the sum; the SDK also hands every
// value to another goroutine, which the bound leaves out.
type boundResult struct {
	RawNsPerMsg      float64 `json:"raw_ns_per_msg"`      // 1 / gorilla-raw msg/s
	DecodeNsPerFrame float64 `json:"decode_ns_per_frame"` // best pass of the decode loop
	NsPerMsg         float64 `json:"ns_per_msg"`          // the sum
	MsgsPerSec       float64 `json:"msgs_per_sec"`        // 1 / the sum
	Frames           int     `json:"frames_per_pass"`
	Passes           int     `json:"passes"`
}

// newBound combines the two halves; the bound is left out (nil) when
// either is missing.
func newBound(rawMsgsPerSec, decodeNs float64, frames, passes int) *boundResult {
	if rawMsgsPerSec <= 0 || decodeNs <= 0 {
		return nil
	}
	raw := 1e9 / rawMsgsPerSec
	sum := raw + decodeNs
	return &boundResult{
		RawNsPerMsg:      round1(raw),
		DecodeNsPerFrame: round1(decodeNs),
		NsPerMsg:         round1(sum),
		MsgsPerSec:       float64(int64(1e9/sum + 0.5)),
		Frames:           frames,
		Passes:           passes,
	}
}

// decodeNanos times the SDK's decoder over the run's own frames exactly as
// BenchmarkDecodeMix and the SDK's reader do (Frame, then the typed method
// of the frame's channel, into values reused across frames), frames frames
// per pass, and returns the best pass's nanoseconds per frame: the least the
// decode costs here, as the raw loop's figure is the least the socket costs.
func decodeNanos(p *pool, frames, passes int) (float64, error) {
	dec := messages.NewDecoder()
	var (
		tr messages.Trade
		bk messages.Book
		ag messages.Aggregate
	)
	best := time.Duration(0)
	for pass := 0; pass < passes; pass++ {
		began := time.Now()
		for i := 0; i < frames; i++ {
			fr := p.frames[i%len(p.frames)]
			f, err := dec.Frame(p.buf[fr.end-fr.payload : fr.end])
			if err != nil {
				return 0, fmt.Errorf("frame %d: %w", i, err)
			}
			switch f.Channel {
			case messages.ChannelTrades:
				err = dec.Trade(&f, &tr)
			case messages.ChannelBooks:
				err = dec.Book(&f, &bk)
			default:
				err = dec.Aggregate(&f, &ag)
			}
			if err != nil {
				return 0, fmt.Errorf("frame %d: %w", i, err)
			}
		}
		if d := time.Since(began); pass == 0 || d < best {
			best = d
		}
	}
	checksum.Add(tr.Serial + bk.Serial + ag.Serial)
	return float64(best) / float64(frames), nil
}
