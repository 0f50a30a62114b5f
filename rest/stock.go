package rest

import (
	"context"
	"fmt"
	"net/url"
)

// Stock groups the stock endpoints, as the official SDKs do.
type Stock struct {
	Intraday         StockIntraday         // /stock/intraday
	Historical       StockHistorical       // /stock/historical
	Snapshot         StockSnapshot         // /stock/snapshot
	Technical        StockTechnical        // /stock/technical
	CorporateActions StockCorporateActions // /stock/corporate-actions
}

// StockIntraday calls /stock/intraday: today's data of one symbol.
type StockIntraday struct{ c *Client }

// StockHistorical calls /stock/historical.
type StockHistorical struct{ c *Client }

// StockSnapshot calls /stock/snapshot: one row per symbol of a market
// (Developer and Advanced plans).
type StockSnapshot struct{ c *Client }

// StockTechnical calls /stock/technical: indicators over daily or minute
// bars.
type StockTechnical struct{ c *Client }

// StockCorporateActions calls /stock/corporate-actions (Developer and
// Advanced plans, 30 requests per minute).
type StockCorporateActions struct{ c *Client }

// getJSON calls path and decodes the body into a new T with encoding/json.
func getJSON[T any](ctx context.Context, c *Client, path string, q query) (*T, error) {
	body, display, err := c.get(ctx, path, url.Values(q))
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := decodeJSON(display, body, out); err != nil {
		return nil, err
	}
	return out, nil
}

func required(name, v string) error {
	if v == "" {
		return fmt.Errorf("%w: %s is required", ErrInvalidRequest, name)
	}
	return nil
}

// IntradayParams are the parameters of the stock ticker, quote and volumes
// endpoints.
type IntradayParams struct {
	// OddLot selects intraday odd-lot (盤中零股) data: type=oddlot.
	OddLot bool
}

func (p IntradayParams) query() query {
	q := query{}
	if p.OddLot {
		q.str("type", "oddlot")
	}
	return q
}

// StockTickersParams filter the stock tickers list.
type StockTickersParams struct {
	// Type is required: EQUITY, INDEX, WARRANT or ODDLOT.
	Type string
	// Exchange is TWSE or TPEx.
	Exchange string
	// Market is TSE, OTC, ESB, TIB or PSB.
	Market string
	// Industry is a two-digit industry code, such as "24".
	Industry string
	// IsNormal, IsAttention, IsDisposition and IsHalted filter by status
	// when set.
	IsNormal, IsAttention, IsDisposition, IsHalted *bool
	// Symbols restricts the list to these symbols.
	Symbols []string
}

// Tickers lists the symbols matching p: GET /stock/intraday/tickers.
func (s StockIntraday) Tickers(ctx context.Context, p StockTickersParams) (*StockTickers, error) {
	if err := required("Type", p.Type); err != nil {
		return nil, err
	}
	q := query{}
	q.str("type", p.Type)
	q.str("exchange", p.Exchange)
	q.str("market", p.Market)
	q.str("industry", p.Industry)
	q.boolp("isNormal", p.IsNormal)
	q.boolp("isAttention", p.IsAttention)
	q.boolp("isDisposition", p.IsDisposition)
	q.boolp("isHalted", p.IsHalted)
	q.list("symbol", p.Symbols)
	return getJSON[StockTickers](ctx, s.c, "/stock/intraday/tickers", q)
}

// Ticker returns the reference data of symbol: GET
// /stock/intraday/ticker/{symbol}.
func (s StockIntraday) Ticker(ctx context.Context, symbol string, p IntradayParams) (*StockTicker, error) {
	seg, err := segment("symbol", symbol)
	if err != nil {
		return nil, err
	}
	return getJSON[StockTicker](ctx, s.c, "/stock/intraday/ticker/"+seg, p.query())
}

// Quote returns the current quote of symbol, the WebSocket aggregates
// payload: GET /stock/intraday/quote/{symbol}.
func (s StockIntraday) Quote(ctx context.Context, symbol string, p IntradayParams) (*Quote, error) {
	seg, err := segment("symbol", symbol)
	if err != nil {
		return nil, err
	}
	body, display, err := s.c.get(ctx, "/stock/intraday/quote/"+seg, url.Values(p.query()))
	if err != nil {
		return nil, err
	}
	return s.c.decodeAggregate(display, body)
}

// CandlesParams are the parameters of the intraday candles endpoints.
type CandlesParams struct {
	// OddLot selects odd-lot bars (stock only).
	OddLot bool
	// AfterHours selects the night session (futures and options only).
	AfterHours bool
	// Timeframe is minutes per bar: "1" (the server's default), "3" (stock),
	// "5", "10", "15", "30" or "60".
	Timeframe string
	// Sort is "asc" (the server's default) or "desc" (stock only).
	Sort string
}

// Candles returns today's bars of symbol: GET
// /stock/intraday/candles/{symbol}.
func (s StockIntraday) Candles(ctx context.Context, symbol string, p CandlesParams) (*Candles, error) {
	seg, err := segment("symbol", symbol)
	if err != nil {
		return nil, err
	}
	q := IntradayParams{OddLot: p.OddLot}.query()
	q.str("timeframe", p.Timeframe)
	q.str("sort", p.Sort)
	body, display, err := s.c.get(ctx, "/stock/intraday/candles/"+seg, url.Values(q))
	if err != nil {
		return nil, err
	}
	return s.c.decodeCandles(display, body)
}

// TradesParams are the parameters of the intraday trades endpoints.
type TradesParams struct {
	// OddLot selects odd-lot trades (stock only).
	OddLot bool
	// AfterHours selects the night session (futures and options only).
	AfterHours bool
	// Offset is the number of rows to skip; 0 is the newest trade.
	Offset int
	// Limit is the page size; 0 leaves the server's default (50 for stock).
	Limit int
	// Sort is "desc" (newest first, the server's default) or "asc" (stock
	// only).
	Sort string
	// IsTrial, when true, asks for trial matches (試撮) only.
	IsTrial *bool
}

func (p TradesParams) query(product string) query {
	q := query{}
	if product == "stock" && p.OddLot {
		q.str("type", "oddlot")
	}
	if product == "futopt" && p.AfterHours {
		q.str("session", "afterhours")
	}
	q.int("offset", p.Offset)
	q.int("limit", p.Limit)
	if product == "stock" {
		q.str("sort", p.Sort)
	}
	q.boolp("isTrial", p.IsTrial)
	return q
}

// Trades returns one page of today's trades of symbol, newest first by
// default: GET /stock/intraday/trades/{symbol}. AllTrades walks every page.
func (s StockIntraday) Trades(ctx context.Context, symbol string, p TradesParams) (*Trades, error) {
	return trades(ctx, s.c, "stock", symbol, p)
}

func trades(ctx context.Context, c *Client, product, symbol string, p TradesParams) (*Trades, error) {
	seg, err := segment("symbol", symbol)
	if err != nil {
		return nil, err
	}
	if p.Offset < 0 || p.Limit < 0 {
		return nil, fmt.Errorf("%w: negative Offset or Limit", ErrInvalidRequest)
	}
	body, display, err := c.get(ctx, "/"+product+"/intraday/trades/"+seg, url.Values(p.query(product)))
	if err != nil {
		return nil, err
	}
	return c.decodeTrades(display, body)
}

// Volumes returns the volume traded at each price today: GET
// /stock/intraday/volumes/{symbol}.
func (s StockIntraday) Volumes(ctx context.Context, symbol string, p IntradayParams) (*Volumes, error) {
	seg, err := segment("symbol", symbol)
	if err != nil {
		return nil, err
	}
	return getJSON[Volumes](ctx, s.c, "/stock/intraday/volumes/"+seg, p.query())
}

// HistoricalCandlesParams are the parameters of the historical candles
// endpoints.
type HistoricalCandlesParams struct {
	// From and To are YYYY-MM-DD; one request spans at most a year.
	From, To string
	// Timeframe is D, W, M, or minutes: 1, 3, 5, 10, 15, 30, 60 (minute
	// bars ignore From and To and cover recent days only).
	Timeframe string
	// Fields selects the bar fields: open, high, low, close, volume,
	// turnover, change.
	Fields []string
	// Sort is "desc" (the server's default) or "asc".
	Sort string
	// Adjusted asks for prices adjusted for dividends and splits (還原).
	Adjusted *bool
}

// Candles returns past bars of symbol: GET
// /stock/historical/candles/{symbol}.
func (s StockHistorical) Candles(ctx context.Context, symbol string, p HistoricalCandlesParams) (*HistoricalCandles, error) {
	seg, err := segment("symbol", symbol)
	if err != nil {
		return nil, err
	}
	q := query{}
	q.str("from", p.From)
	q.str("to", p.To)
	q.str("timeframe", p.Timeframe)
	q.list("fields", p.Fields)
	q.str("sort", p.Sort)
	q.boolp("adjusted", p.Adjusted)
	return getJSON[HistoricalCandles](ctx, s.c, "/stock/historical/candles/"+seg, q)
}

// Stats returns the last trading day and the 52-week range of symbol: GET
// /stock/historical/stats/{symbol}.
func (s StockHistorical) Stats(ctx context.Context, symbol string) (*Stats, error) {
	seg, err := segment("symbol", symbol)
	if err != nil {
		return nil, err
	}
	return getJSON[Stats](ctx, s.c, "/stock/historical/stats/"+seg, query{})
}

// SnapshotParams are the parameters of the snapshot quotes endpoint.
type SnapshotParams struct {
	// Type is ALLBUT0999 (common and preferred stock and ETFs),
	// COMMONSTOCK or ALL; default: every security.
	Type string
}

// Quotes returns a snapshot of every symbol of market (TSE, OTC, ESB, TIB,
// PSB): GET /stock/snapshot/quotes/{market}.
func (s StockSnapshot) Quotes(ctx context.Context, market string, p SnapshotParams) (*Snapshot, error) {
	seg, err := segment("market", market)
	if err != nil {
		return nil, err
	}
	q := query{}
	q.str("type", p.Type)
	return getJSON[Snapshot](ctx, s.c, "/stock/snapshot/quotes/"+seg, q)
}

// MoversParams are the parameters of the snapshot movers endpoint.
type MoversParams struct {
	// Direction is required: up or down.
	Direction string
	// Change is required: percent or value.
	Change string
	// Type is as in SnapshotParams.
	Type string
	// GT, GTE, LT, LTE and EQ filter on the chosen change metric.
	GT, GTE, LT, LTE, EQ *float64
}

// Movers returns the biggest movers of market: GET
// /stock/snapshot/movers/{market}.
func (s StockSnapshot) Movers(ctx context.Context, market string, p MoversParams) (*Snapshot, error) {
	seg, err := segment("market", market)
	if err != nil {
		return nil, err
	}
	if err := required("Direction", p.Direction); err != nil {
		return nil, err
	}
	if err := required("Change", p.Change); err != nil {
		return nil, err
	}
	q := query{}
	q.str("direction", p.Direction)
	q.str("change", p.Change)
	q.str("type", p.Type)
	q.floatp("gt", p.GT)
	q.floatp("gte", p.GTE)
	q.floatp("lt", p.LT)
	q.floatp("lte", p.LTE)
	q.floatp("eq", p.EQ)
	return getJSON[Snapshot](ctx, s.c, "/stock/snapshot/movers/"+seg, q)
}

// ActivesParams are the parameters of the snapshot actives endpoint.
type ActivesParams struct {
	// Trade is required: volume or value.
	Trade string
	// Type is as in SnapshotParams.
	Type string
}

// Actives returns the most traded symbols of market: GET
// /stock/snapshot/actives/{market}.
func (s StockSnapshot) Actives(ctx context.Context, market string, p ActivesParams) (*Snapshot, error) {
	seg, err := segment("market", market)
	if err != nil {
		return nil, err
	}
	if err := required("Trade", p.Trade); err != nil {
		return nil, err
	}
	q := query{}
	q.str("trade", p.Trade)
	q.str("type", p.Type)
	return getJSON[Snapshot](ctx, s.c, "/stock/snapshot/actives/"+seg, q)
}

// TechnicalParams are the parameters of the technical endpoints. Each
// indicator reads its own periods: SMA, RSI and BB read Period; KDJ reads
// RPeriod, KPeriod and DPeriod; MACD reads Fast, Slow and Signal. The
// server answers 400 without them.
type TechnicalParams struct {
	// From and To are YYYY-MM-DD; without them the server picks a range.
	From, To string
	// Timeframe is D, W, M, or minutes: 1, 3, 5, 10, 15, 30, 60.
	Timeframe string

	Period                    int
	RPeriod, KPeriod, DPeriod int
	Fast, Slow, Signal        int
}

// kv is one required indicator period.
type kv struct {
	k string
	v int
}

func (s StockTechnical) indicator(ctx context.Context, name, symbol string, p TechnicalParams, periods ...kv) (*Indicator, error) {
	seg, err := segment("symbol", symbol)
	if err != nil {
		return nil, err
	}
	q := query{}
	q.str("from", p.From)
	q.str("to", p.To)
	q.str("timeframe", p.Timeframe)
	for _, kv := range periods {
		if kv.v <= 0 {
			return nil, fmt.Errorf("%w: %s needs %s", ErrInvalidRequest, name, kv.k)
		}
		q.int(kv.k, kv.v)
	}
	return getJSON[Indicator](ctx, s.c, "/stock/technical/"+name+"/"+seg, q)
}

// SMA returns the simple moving average of symbol: GET
// /stock/technical/sma/{symbol}.
func (s StockTechnical) SMA(ctx context.Context, symbol string, p TechnicalParams) (*Indicator, error) {
	return s.indicator(ctx, "sma", symbol, p, kv{"period", p.Period})
}

// RSI returns the relative strength index: GET /stock/technical/rsi/{symbol}.
func (s StockTechnical) RSI(ctx context.Context, symbol string, p TechnicalParams) (*Indicator, error) {
	return s.indicator(ctx, "rsi", symbol, p, kv{"period", p.Period})
}

// KDJ returns the stochastic oscillator: GET /stock/technical/kdj/{symbol}.
func (s StockTechnical) KDJ(ctx context.Context, symbol string, p TechnicalParams) (*Indicator, error) {
	return s.indicator(ctx, "kdj", symbol, p, kv{"rPeriod", p.RPeriod}, kv{"kPeriod", p.KPeriod}, kv{"dPeriod", p.DPeriod})
}

// MACD returns the MACD and signal lines: GET /stock/technical/macd/{symbol}.
func (s StockTechnical) MACD(ctx context.Context, symbol string, p TechnicalParams) (*Indicator, error) {
	return s.indicator(ctx, "macd", symbol, p, kv{"fast", p.Fast}, kv{"slow", p.Slow}, kv{"signal", p.Signal})
}

// BB returns the Bollinger bands: GET /stock/technical/bb/{symbol}. The
// server uses its own multiplier of the deviation.
func (s StockTechnical) BB(ctx context.Context, symbol string, p TechnicalParams) (*Indicator, error) {
	return s.indicator(ctx, "bb", symbol, p, kv{"period", p.Period})
}

// CorporateActionsParams are the parameters of the corporate actions
// endpoints, all optional.
type CorporateActionsParams struct {
	// StartDate and EndDate are YYYY-MM-DD; EndDate may be in the future.
	StartDate, EndDate string
	// Exchange is TWSE or TPEx (not for capital changes: the server
	// refuses unknown keys there).
	Exchange string
	// Sort is asc or desc.
	Sort string
}

func (p CorporateActionsParams) query() query {
	q := query{}
	q.str("start_date", p.StartDate)
	q.str("end_date", p.EndDate)
	q.str("exchange", p.Exchange)
	q.str("sort", p.Sort)
	return q
}

// CapitalChanges lists capital reductions, par value changes and ETF splits:
// GET /stock/corporate-actions/capital-changes.
func (s StockCorporateActions) CapitalChanges(ctx context.Context, p CorporateActionsParams) (*CorporateActions[CapitalChange], error) {
	if p.Exchange != "" {
		return nil, fmt.Errorf("%w: capital-changes takes no exchange", ErrInvalidRequest)
	}
	return getJSON[CorporateActions[CapitalChange]](ctx, s.c, "/stock/corporate-actions/capital-changes", p.query())
}

// Dividends lists ex-dividend and ex-rights events: GET
// /stock/corporate-actions/dividends.
func (s StockCorporateActions) Dividends(ctx context.Context, p CorporateActionsParams) (*CorporateActions[Dividend], error) {
	return getJSON[CorporateActions[Dividend]](ctx, s.c, "/stock/corporate-actions/dividends", p.query())
}

// ListingApplicants lists companies applying for a listing: GET
// /stock/corporate-actions/listing-applicants.
func (s StockCorporateActions) ListingApplicants(ctx context.Context, p CorporateActionsParams) (*CorporateActions[ListingApplicant], error) {
	return getJSON[CorporateActions[ListingApplicant]](ctx, s.c, "/stock/corporate-actions/listing-applicants", p.query())
}
