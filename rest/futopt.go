package rest

import (
	"context"
	"net/url"
)

// FutOpt groups the futures and options endpoints, as the official SDKs do.
type FutOpt struct {
	Intraday   FutOptIntraday   // /futopt/intraday
	Historical FutOptHistorical // /futopt/historical
}

// FutOptIntraday calls /futopt/intraday. Symbols are contract codes
// (TXFA4, TXO18000C4), spreads with a slash (TXFC4/TXFD4, sent as one
// escaped path segment) or continuous aliases (TXF1!).
type FutOptIntraday struct{ c *Client }

// FutOptHistorical calls /futopt/historical, keyed by product (TXF, TXO),
// not by contract.
type FutOptHistorical struct{ c *Client }

// FutOptParams are the parameters of the futopt ticker, quote and volumes
// endpoints.
type FutOptParams struct {
	// AfterHours selects the night session (夜盤): session=afterhours.
	AfterHours bool
}

func (p FutOptParams) query() query {
	q := query{}
	if p.AfterHours {
		q.str("session", "afterhours")
	}
	return q
}

// FutOptProductsParams filter the product list.
type FutOptProductsParams struct {
	// Type is required: FUTURE or OPTION.
	Type string
	// Exchange is TAIFEX.
	Exchange string
	// AfterHours lists the night session (sent as session=AFTERHOURS: the
	// list endpoints want it in upper case).
	AfterHours bool
	// ContractType is I (index), R (rate), B (bond), C (commodity), S
	// (stock) or E (currency).
	ContractType string
	// Status is N (normal), P (suspended) or U (about to list).
	Status string
}

// Products lists the products (contract families): GET
// /futopt/intraday/products.
func (f FutOptIntraday) Products(ctx context.Context, p FutOptProductsParams) (*FutOptProducts, error) {
	if err := required("Type", p.Type); err != nil {
		return nil, err
	}
	q := query{}
	q.str("type", p.Type)
	q.str("exchange", p.Exchange)
	if p.AfterHours {
		q.str("session", "AFTERHOURS")
	}
	q.str("contractType", p.ContractType)
	q.str("status", p.Status)
	return getJSON[FutOptProducts](ctx, f.c, "/futopt/intraday/products", q)
}

// FutOptTickersParams filter the contract list.
type FutOptTickersParams struct {
	// Type is required: FUTURE or OPTION.
	Type string
	// Exchange is TAIFEX.
	Exchange string
	// AfterHours lists the night session (session=AFTERHOURS).
	AfterHours bool
	// Product is a product code such as TXF; without it the list is long.
	Product string
	// ContractType is as in FutOptProductsParams.
	ContractType string
	// IsSpread, when set, lists spreads only (true) or no spreads.
	IsSpread *bool
}

// Tickers lists the contracts matching p: GET /futopt/intraday/tickers.
func (f FutOptIntraday) Tickers(ctx context.Context, p FutOptTickersParams) (*FutOptTickers, error) {
	if err := required("Type", p.Type); err != nil {
		return nil, err
	}
	q := query{}
	q.str("type", p.Type)
	q.str("exchange", p.Exchange)
	if p.AfterHours {
		q.str("session", "AFTERHOURS")
	}
	q.str("product", p.Product)
	q.str("contractType", p.ContractType)
	q.boolp("isSpread", p.IsSpread)
	return getJSON[FutOptTickers](ctx, f.c, "/futopt/intraday/tickers", q)
}

// Ticker returns the reference data of one contract: GET
// /futopt/intraday/ticker/{symbol}.
func (f FutOptIntraday) Ticker(ctx context.Context, symbol string, p FutOptParams) (*FutOptTicker, error) {
	seg, err := segment("symbol", symbol)
	if err != nil {
		return nil, err
	}
	return getJSON[FutOptTicker](ctx, f.c, "/futopt/intraday/ticker/"+seg, p.query())
}

// Quote returns the current quote of one contract, the WebSocket aggregates
// payload (lastTrade.serial, a zero-padded string there, reads as a
// number): GET /futopt/intraday/quote/{symbol}.
func (f FutOptIntraday) Quote(ctx context.Context, symbol string, p FutOptParams) (*Quote, error) {
	seg, err := segment("symbol", symbol)
	if err != nil {
		return nil, err
	}
	body, display, err := f.c.get(ctx, "/futopt/intraday/quote/"+seg, url.Values(p.query()))
	if err != nil {
		return nil, err
	}
	return f.c.decodeAggregate(display, body)
}

// Candles returns today's bars of one contract: GET
// /futopt/intraday/candles/{symbol}. It reads AfterHours and Timeframe.
func (f FutOptIntraday) Candles(ctx context.Context, symbol string, p CandlesParams) (*Candles, error) {
	seg, err := segment("symbol", symbol)
	if err != nil {
		return nil, err
	}
	q := FutOptParams{AfterHours: p.AfterHours}.query()
	q.str("timeframe", p.Timeframe)
	body, display, err := f.c.get(ctx, "/futopt/intraday/candles/"+seg, url.Values(q))
	if err != nil {
		return nil, err
	}
	return f.c.decodeCandles(display, body)
}

// Trades returns one page of today's trades of one contract, newest first:
// GET /futopt/intraday/trades/{symbol}. It reads AfterHours, Offset, Limit
// and IsTrial (the endpoint has no sort). AllTrades walks every page.
func (f FutOptIntraday) Trades(ctx context.Context, symbol string, p TradesParams) (*Trades, error) {
	return trades(ctx, f.c, "futopt", symbol, p)
}

// Volumes returns the volume traded at each price today: GET
// /futopt/intraday/volumes/{symbol}.
func (f FutOptIntraday) Volumes(ctx context.Context, symbol string, p FutOptParams) (*Volumes, error) {
	seg, err := segment("symbol", symbol)
	if err != nil {
		return nil, err
	}
	return getJSON[Volumes](ctx, f.c, "/futopt/intraday/volumes/"+seg, p.query())
}

// FutOptHistoricalCandlesParams are the parameters of the futopt historical
// candles endpoint.
type FutOptHistoricalCandlesParams struct {
	// From and To are YYYY-MM-DD.
	From, To string
	// ContractMonth is YYYYMM or a continuous alias: 1! (front, the
	// server's default), 2!, 3!.
	ContractMonth string
	// Fields selects bar fields: open, high, low, close, volume, average,
	// transaction, change.
	Fields []string
	// Timeframe is D, W, M, or minutes: 1, 5, 10, 15, 30, 60.
	Timeframe string
	// Sort is asc or desc.
	Sort string
	// StrikePrice and CallPut (CALL or PUT) select an option series.
	StrikePrice *float64
	CallPut     string
	// AfterHours selects the night session.
	AfterHours bool
}

// Candles returns past bars of product (TXF, not TXFJ6): GET
// /futopt/historical/candles/{product}.
func (f FutOptHistorical) Candles(ctx context.Context, product string, p FutOptHistoricalCandlesParams) (*FutOptHistoricalCandles, error) {
	seg, err := segment("product", product)
	if err != nil {
		return nil, err
	}
	q := FutOptParams{AfterHours: p.AfterHours}.query()
	q.str("from", p.From)
	q.str("to", p.To)
	q.str("contractMonth", p.ContractMonth)
	q.list("fields", p.Fields)
	q.str("timeframe", p.Timeframe)
	q.str("sort", p.Sort)
	q.floatp("strikePrice", p.StrikePrice)
	q.str("callPut", p.CallPut)
	return getJSON[FutOptHistoricalCandles](ctx, f.c, "/futopt/historical/candles/"+seg, q)
}

// FutOptDailyParams are the parameters of the futopt daily endpoint.
type FutOptDailyParams struct {
	// Date is YYYY-MM-DD; default today.
	Date string
	// ContractMonth is YYYYMM, a weekly YYYYMMWn or YYYYMMFn, a spread
	// YYYYMM/YYYYMM, or 1!, 2!, 3! (futures). Default: every contract.
	ContractMonth string
	// AfterHours selects the night session.
	AfterHours bool
}

// Daily returns one day of every contract of product: GET
// /futopt/historical/daily/{product}.
func (f FutOptHistorical) Daily(ctx context.Context, product string, p FutOptDailyParams) (*FutOptDaily, error) {
	seg, err := segment("product", product)
	if err != nil {
		return nil, err
	}
	q := FutOptParams{AfterHours: p.AfterHours}.query()
	q.str("date", p.Date)
	q.str("contractMonth", p.ContractMonth)
	return getJSON[FutOptDaily](ctx, f.c, "/futopt/historical/daily/"+seg, q)
}
