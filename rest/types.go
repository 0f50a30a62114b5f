package rest

import (
	"encoding/json"

	"github.com/go-fugle/marketdata/messages"
)

// Quote is the answer of the intraday quote endpoints: the same object as
// the WebSocket aggregates payload, decoded by the same decoder. Has tells
// an absent field (such as previousClose outside trading hours, or a false
// flag, which the server omits) from a zero one.
type Quote = messages.Aggregate

// Trades is a page of the intraday trades endpoints, newest first unless
// asked otherwise. Each row is a messages.Trade decoded by the streaming
// decoder, with the envelope's symbol, type, exchange and market copied in
// (so Has reports those four as present). Has reports what the row carried
// of the rest: a row without bid, ask or volume (the after-hours fixed-price
// trade, serial 99999999) has Has("volume") false.
type Trades struct {
	Date     string           `json:"date"`
	Type     string           `json:"type"`
	Exchange string           `json:"exchange"`
	Market   string           `json:"market,omitempty"`
	Symbol   string           `json:"symbol"`
	Data     []messages.Trade `json:"data"`
}

// Candles is the day of bars of the intraday candles endpoints. Each bar is
// a messages.Candle (Date is the bar's start in ISO 8601, +08:00). A bar
// sent with a numeric "time" instead of "date" gets Date formatted from it.
type Candles struct {
	Date     string `json:"date"`
	Type     string `json:"type"`
	Exchange string `json:"exchange"`
	Market   string `json:"market,omitempty"`
	Symbol   string `json:"symbol"`
	// Timeframe is echoed only when the request sent one.
	Timeframe string            `json:"timeframe,omitempty"`
	Data      []messages.Candle `json:"data"`
}

// Volumes is the volume at each price of the day, highest price first.
type Volumes struct {
	Date     string          `json:"date"`
	Type     string          `json:"type"`
	Exchange string          `json:"exchange"`
	Market   string          `json:"market,omitempty"`
	Symbol   string          `json:"symbol"`
	Data     []VolumeAtPrice `json:"data"`
}

// VolumeAtPrice is one row of Volumes. Futures and options rows have no
// bid/ask split.
type VolumeAtPrice struct {
	Price       float64 `json:"price"`
	Volume      int64   `json:"volume"`
	VolumeAtBid int64   `json:"volumeAtBid,omitempty"`
	VolumeAtAsk int64   `json:"volumeAtAsk,omitempty"`
}

// StockTicker is the reference data of one stock, index or warrant.
type StockTicker struct {
	Date           string  `json:"date"`
	Type           string  `json:"type"`
	Exchange       string  `json:"exchange"`
	Market         string  `json:"market,omitempty"`
	Symbol         string  `json:"symbol"`
	Name           string  `json:"name"`
	NameEn         string  `json:"nameEn,omitempty"`
	Industry       string  `json:"industry,omitempty"`
	SecurityType   string  `json:"securityType,omitempty"`
	ReferencePrice float64 `json:"referencePrice,omitempty"`
	LimitUpPrice   float64 `json:"limitUpPrice,omitempty"`
	LimitDownPrice float64 `json:"limitDownPrice,omitempty"`
	PreviousClose  float64 `json:"previousClose,omitempty"`

	CanDayTrade                 bool `json:"canDayTrade"`
	CanBuyDayTrade              bool `json:"canBuyDayTrade"`
	CanBelowFlatMarginShortSell bool `json:"canBelowFlatMarginShortSell"`
	CanBelowFlatSBLShortSell    bool `json:"canBelowFlatSBLShortSell"`
	IsAttention                 bool `json:"isAttention"`
	IsDisposition               bool `json:"isDisposition"`
	IsUnusuallyRecommended      bool `json:"isUnusuallyRecommended"`
	IsSpecificAbnormally        bool `json:"isSpecificAbnormally"`
	IsNewlyCompiled             bool `json:"isNewlyCompiled,omitempty"`

	MatchingInterval float64 `json:"matchingInterval"` // seconds per matching cycle
	SecurityStatus   string  `json:"securityStatus,omitempty"`
	BoardLot         int64   `json:"boardLot,omitempty"`
	TradingCurrency  string  `json:"tradingCurrency,omitempty"`

	// Warrants only. The sources name the barriers capPrice/floorPrice or
	// knockInPrice/knockOutPrice; each lands in its own field.
	ExercisePrice   float64 `json:"exercisePrice,omitempty"`
	ExercisedVolume float64 `json:"exercisedVolume,omitempty"`
	CancelledVolume float64 `json:"cancelledVolume,omitempty"`
	RemainingVolume float64 `json:"remainingVolume,omitempty"`
	ExerciseRatio   float64 `json:"exerciseRatio,omitempty"`
	MaturityDate    string  `json:"maturityDate,omitempty"`
	CapPrice        float64 `json:"capPrice,omitempty"`
	FloorPrice      float64 `json:"floorPrice,omitempty"`
	KnockInPrice    float64 `json:"knockInPrice,omitempty"`
	KnockOutPrice   float64 `json:"knockOutPrice,omitempty"`

	// Indices only.
	OpenTime  string `json:"openTime,omitempty"`
	CloseTime string `json:"closeTime,omitempty"`
}

// StockTickers is the answer of the stock tickers list, with the filters
// echoed.
type StockTickers struct {
	Date          string       `json:"date"`
	Type          string       `json:"type"`
	Exchange      string       `json:"exchange"`
	Market        string       `json:"market,omitempty"`
	Industry      string       `json:"industry,omitempty"`
	IsNormal      bool         `json:"isNormal,omitempty"`
	IsAttention   bool         `json:"isAttention,omitempty"`
	IsDisposition bool         `json:"isDisposition,omitempty"`
	IsHalted      bool         `json:"isHalted,omitempty"`
	Data          []SymbolName `json:"data"`
}

// SymbolName is one row of a tickers list.
type SymbolName struct {
	Symbol string `json:"symbol"`
	Name   string `json:"name"`
}

// HistoricalCandles is the answer of the stock historical candles endpoint.
// A bar's price fields are present only when selected with Fields (and
// turnover and change not on minute timeframes), hence the pointers.
type HistoricalCandles struct {
	Symbol    string             `json:"symbol"`
	Type      string             `json:"type"`
	Exchange  string             `json:"exchange"`
	Market    string             `json:"market"`
	Timeframe string             `json:"timeframe,omitempty"`
	Adjusted  bool               `json:"adjusted,omitempty"`
	Data      []HistoricalCandle `json:"data"`
}

// HistoricalCandle is one bar: Date is YYYY-MM-DD, or a full timestamp for
// minute bars. Volume is in shares, Turnover in TWD.
type HistoricalCandle struct {
	Date     string   `json:"date"`
	Open     *float64 `json:"open,omitempty"`
	High     *float64 `json:"high,omitempty"`
	Low      *float64 `json:"low,omitempty"`
	Close    *float64 `json:"close,omitempty"`
	Volume   *int64   `json:"volume,omitempty"`
	Turnover *float64 `json:"turnover,omitempty"`
	Change   *float64 `json:"change,omitempty"`
}

// Stats is the last trading day and the 52-week range of a stock.
// Production omits changePercent, hence the pointer.
type Stats struct {
	Date          string   `json:"date"`
	Type          string   `json:"type"`
	Exchange      string   `json:"exchange"`
	Market        string   `json:"market"`
	Symbol        string   `json:"symbol"`
	Name          string   `json:"name"`
	OpenPrice     float64  `json:"openPrice"`
	HighPrice     float64  `json:"highPrice"`
	LowPrice      float64  `json:"lowPrice"`
	ClosePrice    float64  `json:"closePrice"`
	Change        float64  `json:"change"`
	ChangePercent *float64 `json:"changePercent,omitempty"`
	TradeVolume   int64    `json:"tradeVolume"`
	TradeValue    float64  `json:"tradeValue"`
	PreviousClose float64  `json:"previousClose"`
	Week52High    float64  `json:"week52High"`
	Week52Low     float64  `json:"week52Low"`
}

// Snapshot is the answer of the snapshot endpoints: one row per symbol of a
// market. Change (movers) or Trade (actives) echoes the request.
type Snapshot struct {
	Date   string        `json:"date"`
	Time   string        `json:"time"` // HHmmss
	Market string        `json:"market"`
	Change string        `json:"change,omitempty"`
	Trade  string        `json:"trade,omitempty"`
	Data   []SnapshotRow `json:"data"`
}

// SnapshotRow is one symbol of a Snapshot.
type SnapshotRow struct {
	Type          string             `json:"type"`
	Symbol        string             `json:"symbol"`
	Name          string             `json:"name"`
	OpenPrice     float64            `json:"openPrice"`
	HighPrice     float64            `json:"highPrice"`
	LowPrice      float64            `json:"lowPrice"`
	ClosePrice    float64            `json:"closePrice"`
	Change        float64            `json:"change"`
	ChangePercent float64            `json:"changePercent"`
	TradeVolume   int64              `json:"tradeVolume"`
	TradeValue    float64            `json:"tradeValue"`
	LastPrice     float64            `json:"lastPrice,omitempty"` // quotes; includes trial
	IsTrial       bool               `json:"isTrial,omitempty"`
	LastUpdated   messages.Timestamp `json:"lastUpdated"`
}

// Indicator is the answer of the technical endpoints. Production may send
// only Symbol, the periods and Data; the rest is echoed when present. Each
// row fills the fields of its indicator: SMA; RSI; K, D, J; MACDLine,
// SignalLine; Upper, Middle, Lower.
type Indicator struct {
	Symbol    string           `json:"symbol"`
	Type      string           `json:"type,omitempty"`
	Exchange  string           `json:"exchange,omitempty"`
	Market    string           `json:"market,omitempty"`
	From      string           `json:"from,omitempty"`
	To        string           `json:"to,omitempty"`
	Timeframe string           `json:"timeframe,omitempty"`
	Period    int              `json:"period,omitempty"`
	RPeriod   int              `json:"rPeriod,omitempty"`
	KPeriod   int              `json:"kPeriod,omitempty"`
	DPeriod   int              `json:"dPeriod,omitempty"`
	Fast      int              `json:"fast,omitempty"`
	Slow      int              `json:"slow,omitempty"`
	Signal    int              `json:"signal,omitempty"`
	Data      []IndicatorPoint `json:"data"`
}

// IndicatorPoint is one row of an Indicator.
type IndicatorPoint struct {
	Date       string  `json:"date"`
	SMA        float64 `json:"sma,omitempty"`
	RSI        float64 `json:"rsi,omitempty"`
	K          float64 `json:"k,omitempty"`
	D          float64 `json:"d,omitempty"`
	J          float64 `json:"j,omitempty"`
	MACDLine   float64 `json:"macdLine,omitempty"`
	SignalLine float64 `json:"signalLine,omitempty"`
	Upper      float64 `json:"upper,omitempty"`
	Middle     float64 `json:"middle,omitempty"`
	Lower      float64 `json:"lower,omitempty"`
}

// CorporateActions is the answer of the corporate actions endpoints, with
// rows of CapitalChange, Dividend or ListingApplicant.
type CorporateActions[T any] struct {
	StartDate string `json:"start_date,omitempty"`
	EndDate   string `json:"end_date,omitempty"`
	Sort      string `json:"sort,omitempty"`
	Data      []T    `json:"data"`
}

// CapitalChange is a row of capital-changes. Raw holds the action's loose
// reference prices and ratios.
type CapitalChange struct {
	Symbol     string                     `json:"symbol"`
	Name       string                     `json:"name"`
	ActionType string                     `json:"actionType"` // capital_reduction, par_value_change, etf_split_or_merge
	ResumeDate string                     `json:"resumeDate"`
	HaltDate   string                     `json:"haltDate,omitempty"`
	Exchange   string                     `json:"exchange"`
	Raw        map[string]json.RawMessage `json:"raw,omitempty"`
}

// Dividend is a row of dividends; nil pointers are nulls (announced, future
// events).
type Dividend struct {
	Date                     string   `json:"date"` // ex-date
	Exchange                 string   `json:"exchange"`
	Symbol                   string   `json:"symbol"`
	Name                     string   `json:"name"`
	PreviousClose            *float64 `json:"previousClose"`
	ReferencePrice           *float64 `json:"referencePrice"`
	Dividend                 *float64 `json:"dividend"`
	DividendType             *string  `json:"dividendType"`
	LimitUpPrice             *float64 `json:"limitUpPrice"`
	LimitDownPrice           *float64 `json:"limitDownPrice"`
	OpeningReferencePrice    *float64 `json:"openingReferencePrice"`
	ExdividendReferencePrice *float64 `json:"exdividendReferencePrice"`
	CashDividend             *float64 `json:"cashDividend"`
	StockDividendShares      *float64 `json:"stockDividendShares"`
}

// ListingApplicant is a row of listing-applicants. The sources spell one
// date contractApprovalDate or contractFilingDate; each has its field.
type ListingApplicant struct {
	Symbol               string   `json:"symbol"`
	Name                 string   `json:"name"`
	Exchange             string   `json:"exchange"`
	ApplicationDate      string   `json:"applicationDate"`
	Chairman             string   `json:"chairman"`
	CapitalAtApplication *float64 `json:"capitalAtApplication"`
	ReviewCommitteeDate  *string  `json:"reviewCommitteeDate"`
	BoardApprovalDate    *string  `json:"boardApprovalDate"`
	ContractApprovalDate *string  `json:"contractApprovalDate,omitempty"`
	ContractFilingDate   *string  `json:"contractFilingDate,omitempty"`
	ListedDate           *string  `json:"listedDate"`
	Underwriter          *string  `json:"underwriter"`
	UnderwritingPrice    *float64 `json:"underwritingPrice"`
	Remarks              string   `json:"remarks"`
}

// FutOptProducts is the product (contract family) list.
type FutOptProducts struct {
	Date         string          `json:"date,omitempty"`
	Type         string          `json:"type"`
	Exchange     string          `json:"exchange,omitempty"`
	Session      string          `json:"session,omitempty"`
	ContractType string          `json:"contractType,omitempty"`
	Status       string          `json:"status,omitempty"`
	Data         []FutOptProduct `json:"data"`
}

// FutOptProduct is one product. EndSession is "0" (regular) or "1"
// (after-hours), sent as a string or a number.
type FutOptProduct struct {
	Symbol           string      `json:"symbol"`
	Type             string      `json:"type"`
	Name             string      `json:"name"`
	Exchange         string      `json:"exchange,omitempty"`
	UnderlyingSymbol string      `json:"underlyingSymbol"`
	UnderlyingType   string      `json:"underlyingType"`
	ContractType     string      `json:"contractType"`
	StatusCode       string      `json:"statusCode"`
	TradingCurrency  string      `json:"tradingCurrency"`
	ContractSize     float64     `json:"contractSize"`
	MarketCloseGroup int         `json:"marketCloseGroup"`
	QuoteAcceptable  bool        `json:"quoteAcceptable"`
	CanBlockTrade    bool        `json:"canBlockTrade"`
	StartDate        string      `json:"startDate"`
	ExpiryType       string      `json:"expiryType"`
	EndSession       json.Number `json:"endSession"`
}

// FutOptTickers is the contract list.
type FutOptTickers struct {
	Date         string         `json:"date,omitempty"`
	Type         string         `json:"type"`
	Exchange     string         `json:"exchange"`
	Session      string         `json:"session,omitempty"`
	Product      string         `json:"product,omitempty"`
	ContractType string         `json:"contractType,omitempty"`
	IsSpread     bool           `json:"isSpread,omitempty"`
	Data         []FutOptTicker `json:"data"`
}

// FutOptTicker is the reference data of one contract, alone (the ticker
// endpoint, with Date) or as a row of FutOptTickers. ReferencePrice is read
// from a number or a numeric string.
type FutOptTicker struct {
	Date             string      `json:"date,omitempty"`
	Type             string      `json:"type"`
	Exchange         string      `json:"exchange,omitempty"`
	Symbol           string      `json:"symbol"`
	Name             string      `json:"name"`
	ContractType     string      `json:"contractType,omitempty"`
	ReferencePrice   json.Number `json:"referencePrice,omitempty"`
	StartDate        string      `json:"startDate,omitempty"`
	EndDate          string      `json:"endDate,omitempty"`
	SettlementDate   string      `json:"settlementDate,omitempty"`
	FlowGroup        int         `json:"flowGroup,omitempty"`
	IsDynamicBanding bool        `json:"isDynamicBanding,omitempty"`
	IsSpread         bool        `json:"isSpread,omitempty"`
}

// FutOptHistoricalCandles is the answer of the futopt historical candles
// endpoint, in either recorded shape: keyed by Product (the current
// gateway) or by Symbol (the older one, with turnover).
type FutOptHistoricalCandles struct {
	Product       string                   `json:"product,omitempty"`
	Symbol        string                   `json:"symbol,omitempty"`
	ContractMonth string                   `json:"contractMonth,omitempty"`
	Exchange      string                   `json:"exchange"`
	Session       string                   `json:"session,omitempty"`
	Timeframe     string                   `json:"timeframe,omitempty"`
	Sort          string                   `json:"sort,omitempty"`
	Data          []FutOptHistoricalCandle `json:"data"`
}

// FutOptHistoricalCandle is one bar; fields not selected are nil.
// ContractMonth changes where a continuous alias rolled over.
type FutOptHistoricalCandle struct {
	Date          string   `json:"date"`
	ContractMonth string   `json:"contractMonth,omitempty"`
	Open          *float64 `json:"open,omitempty"`
	High          *float64 `json:"high,omitempty"`
	Low           *float64 `json:"low,omitempty"`
	Close         *float64 `json:"close,omitempty"`
	Volume        *int64   `json:"volume,omitempty"`
	Average       *float64 `json:"average,omitempty"`
	Transaction   *int64   `json:"transaction,omitempty"`
	Turnover      *float64 `json:"turnover,omitempty"`
	Change        *float64 `json:"change,omitempty"`
}

// FutOptDaily is one day of every contract of a product.
type FutOptDaily struct {
	Date          string           `json:"date"`
	Product       string           `json:"product,omitempty"`
	Symbol        string           `json:"symbol,omitempty"`
	Exchange      string           `json:"exchange"`
	Session       string           `json:"session,omitempty"`
	ContractMonth string           `json:"contractMonth,omitempty"`
	Data          []FutOptDailyRow `json:"data"`
}

// FutOptDailyRow is one contract's day; nil pointers are nulls.
type FutOptDailyRow struct {
	ContractMonth   string   `json:"contractMonth"`
	CallPut         *string  `json:"callPut"`
	StrikePrice     *float64 `json:"strikePrice"`
	Exchange        string   `json:"exchange,omitempty"`
	OpenPrice       *float64 `json:"openPrice"`
	HighPrice       *float64 `json:"highPrice"`
	LowPrice        *float64 `json:"lowPrice"`
	ClosePrice      *float64 `json:"closePrice"`
	Change          *float64 `json:"change"`
	ChangePercent   *float64 `json:"changePercent"`
	SettlementPrice *float64 `json:"settlementPrice"`
	Volume          *int64   `json:"volume"`
	OpenInterest    *int64   `json:"openInterest"`
	VolumeSpread    *int64   `json:"volumeSpread,omitempty"`
}
