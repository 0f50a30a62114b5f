package rest

import (
	"context"
	"fmt"
	"iter"

	"github.com/go-fugle/marketdata/messages"
)

// DefaultPageSize is the page size of AllTrades when none is set: the
// server's own default, the only size on record. The maximum the server
// accepts is not documented.
const DefaultPageSize = 50

// maxStalledPages is how many pages in a row may bring nothing new.
const maxStalledPages = 8

// AllTradesParams are the parameters of AllTrades.
type AllTradesParams struct {
	// OddLot selects odd-lot trades (stock only).
	OddLot bool
	// AfterHours selects the night session (futures and options only).
	AfterHours bool
	// PageSize is the limit of each request. Default DefaultPageSize.
	PageSize int
	// After, when positive, yields only trades with a serial above it and
	// stops paging at the first older one: the trades since the last one a
	// consumer holds.
	After int64
	// IsTrial, when true, walks trial matches only.
	IsTrial *bool
}

// AllTrades walks today's trades of symbol, newest first, one page of
// PageSize at a time (offset and limit, sort desc), until a page comes back
// empty or reaches p.After. Trades arriving meanwhile push older rows down
// the pages, so a row may come twice but none is skipped: each trade is
// yielded once, by serial (by time, price and size for a row without one).
// Every page draws on the budget. An error ends the walk after being yielded
// with a zero Trade; ErrPagingStalled ends a walk whose pages keep bringing
// nothing new.
func (s StockIntraday) AllTrades(ctx context.Context, symbol string, p AllTradesParams) iter.Seq2[messages.Trade, error] {
	return allTrades(ctx, s.c, "stock", symbol, p)
}

// AllTrades walks today's trades of one contract, as StockIntraday.AllTrades
// does.
func (f FutOptIntraday) AllTrades(ctx context.Context, symbol string, p AllTradesParams) iter.Seq2[messages.Trade, error] {
	return allTrades(ctx, f.c, "futopt", symbol, p)
}

type tradeKey struct {
	serial int64
	time   messages.Timestamp
	price  float64
	size   int64
}

func keyOf(t *messages.Trade) tradeKey {
	if t.Has("serial") {
		return tradeKey{serial: t.Serial}
	}
	return tradeKey{serial: -1, time: t.Time, price: t.Price, size: t.Size}
}

func allTrades(ctx context.Context, c *Client, product, symbol string, p AllTradesParams) iter.Seq2[messages.Trade, error] {
	return func(yield func(messages.Trade, error) bool) {
		size := p.PageSize
		switch {
		case size < 0:
			yield(messages.Trade{}, fmt.Errorf("%w: negative PageSize", ErrInvalidRequest))
			return
		case size == 0:
			size = DefaultPageSize
		}
		seen := map[tradeKey]struct{}{}
		offset, stalled := 0, 0
		for {
			tp := TradesParams{OddLot: p.OddLot, AfterHours: p.AfterHours, Offset: offset, Limit: size, IsTrial: p.IsTrial}
			if product == "stock" {
				tp.Sort = "desc"
			}
			page, err := trades(ctx, c, product, symbol, tp)
			if err != nil {
				yield(messages.Trade{}, err)
				return
			}
			if len(page.Data) == 0 {
				return
			}
			fresh := false
			for i := range page.Data {
				t := &page.Data[i]
				if p.After > 0 && t.Has("serial") && t.Serial <= p.After {
					return
				}
				k := keyOf(t)
				if _, dup := seen[k]; dup {
					continue
				}
				seen[k] = struct{}{}
				fresh = true
				if !yield(*t, nil) {
					return
				}
			}
			if stalled++; fresh {
				stalled = 0
			}
			if stalled >= maxStalledPages {
				yield(messages.Trade{}, fmt.Errorf("%w: %d pages in a row at offset %d", ErrPagingStalled, stalled, offset))
				return
			}
			offset += len(page.Data)
		}
	}
}
