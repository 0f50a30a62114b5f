package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-fugle/marketdata/messages"
	"github.com/gorilla/websocket"
)

// decoderClient is a diagnostic, not a rival (-clients raw-decode or
// raw-decode-chan): gorilla-raw's read loop with the SDK's own decoder added,
// so that the gap between the bound and the sdk row can be split. Each
// message is read into a reused buffer, as the SDK's reader does, and decoded
// with messages.Decoder (Frame, then the typed method). With handOff false
// the values are consumed on the reader goroutine: the bound, measured end to
// end. With handOff true they go over buffered channels as deep as the SDK's
// to a consumer goroutine that selects on them as the sdk client's does: the
// bound plus the hand-off, without the SDK's clock reads, counters and drop
// policy.
func decoderClient(ctx context.Context, base string, w *workload, n, buffer int, handOff bool) (run clientRun, err error) {
	ws, err := dialSubscribed(ctx, base, w)
	if err != nil {
		return clientRun{}, err
	}
	stop := context.AfterFunc(ctx, func() { _ = ws.Close() })
	defer stop()

	var (
		trades = make(chan messages.Trade, buffer)
		books  = make(chan messages.Book, buffer)
		aggs   = make(chan messages.Aggregate, buffer)
		quit   = make(chan struct{})
		sum    int64
		count  int
		first  time.Time
	)
	got := func(v int64) {
		sum += v
		if count == 0 {
			first = time.Now()
		}
		count++
	}
	readerDone := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		dec := messages.NewDecoder()
		buf := make([]byte, 0, 4096)
		var (
			tr messages.Trade
			bk messages.Book
			ag messages.Aggregate
		)
		for i := 0; ; i++ {
			if !handOff && i == n {
				readerDone <- nil
				return
			}
			_, r, err := ws.NextReader()
			if err == nil {
				buf, err = readAll(buf[:0], r)
			}
			if err == nil {
				var f messages.Frame
				if f, err = dec.Frame(buf); err == nil {
					switch f.Channel {
					case messages.ChannelTrades:
						if err = dec.Trade(&f, &tr); err == nil {
							if !handOff {
								got(tr.Serial)
							} else {
								select {
								case trades <- tr:
								case <-quit:
								}
							}
						}
					case messages.ChannelBooks:
						if err = dec.Book(&f, &bk); err == nil {
							if !handOff {
								got(bk.Bids[0].Size)
							} else {
								select {
								case books <- bk:
								case <-quit:
								}
							}
						}
					default:
						if err = dec.Aggregate(&f, &ag); err == nil {
							if !handOff {
								got(ag.Serial)
							} else {
								select {
								case aggs <- ag:
								case <-quit:
								}
							}
						}
					}
				}
			}
			if err != nil {
				readerDone <- fmt.Errorf("after %d messages: %w", i, err)
				return
			}
		}
	}()
	defer func() {
		close(quit)
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = ws.Close()
		wg.Wait()
	}()
	if !handOff {
		if err := <-readerDone; err != nil {
			return run, err
		}
	} else {
		for count < n {
			select {
			case v := <-trades:
				got(v.Serial)
			case v := <-books:
				got(v.Bids[0].Size)
			case v := <-aggs:
				got(v.Serial)
			case err := <-readerDone:
				return run, err
			case <-ctx.Done():
				return run, ctx.Err()
			}
		}
	}
	run.elapsed, run.messages = time.Since(first), count
	checksum.Add(sum)
	return run, nil
}
