package rest

import (
	"context"
	"iter"
	"slices"

	"github.com/go-fugle/marketdata"
	"github.com/go-fugle/marketdata/messages"
)

// Backfill returns c as the WebSocket client's backfill source, so that the
// trades and candles a subscription missed during a reconnect are fetched
// over REST, within c's rate budget (shared with c's other calls):
//
//	rc, _ := rest.NewClient(rest.Option{RatePerMinute: rest.PlanDeveloperPerMinute})
//	opt.Backfill = rc.Backfill()
//
// Stock trades are paged newest first from offset 0 down to the last serial
// seen before the gap. Futures and options trades carry no serial in REST:
// the day's trades after the gap's start time are fetched, best effort.
func (c *Client) Backfill() marketdata.BackfillSource { return backfill{c} }

type backfill struct{ c *Client }

func (b backfill) Trades(ctx context.Context, req marketdata.BackfillRequest) ([]marketdata.Trade, error) {
	sub := req.Subscription
	p := AllTradesParams{OddLot: sub.IntradayOddLot, AfterHours: sub.AfterHours}
	var rows iter.Seq2[messages.Trade, error]
	if req.FutOpt {
		rows = b.c.FutOpt.Intraday.AllTrades(ctx, sub.Symbol, p)
	} else {
		p.After = req.AfterSerial
		rows = b.c.Stock.Intraday.AllTrades(ctx, sub.Symbol, p)
	}
	since := messages.Timestamp(req.Since.UnixMicro())
	var out []marketdata.Trade
	for t, err := range rows {
		if err != nil {
			return nil, err
		}
		if req.FutOpt && !req.Since.IsZero() && t.Time <= since {
			continue
		}
		out = append(out, t)
	}
	slices.Reverse(out) // oldest first
	return out, nil
}

func (b backfill) Candles(ctx context.Context, req marketdata.BackfillRequest) ([]marketdata.Candle, error) {
	sub := req.Subscription
	var (
		day *Candles
		err error
	)
	if req.FutOpt {
		day, err = b.c.FutOpt.Intraday.Candles(ctx, sub.Symbol, CandlesParams{AfterHours: sub.AfterHours})
	} else {
		day, err = b.c.Stock.Intraday.Candles(ctx, sub.Symbol, CandlesParams{OddLot: sub.IntradayOddLot})
	}
	if err != nil {
		return nil, err
	}
	return day.Data, nil
}
