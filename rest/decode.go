package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-fugle/marketdata/messages"
	"github.com/tidwall/gjson"
)

// checkObject accepts exactly one JSON object.
func checkObject(body []byte) error {
	t := bytes.TrimSpace(body)
	if len(t) == 0 {
		return errors.New("empty body")
	}
	if !json.Valid(t) {
		if t[0] == '<' {
			return errors.New("the body is not JSON (an HTML page?)")
		}
		return errors.New("the body is not valid JSON")
	}
	if t[0] != '{' {
		return fmt.Errorf("the body is a JSON %s, not an object", jsonType(t[0]))
	}
	if !utf8.Valid(t) {
		return errors.New("the body is not valid UTF-8")
	}
	return nil
}

func jsonType(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// errorMessage reads "message" from an error body: a string, or an array of
// strings (the validation pipe's form). It returns "" for anything else.
func errorMessage(body []byte) string {
	if !gjson.ValidBytes(body) {
		return ""
	}
	m := gjson.GetBytes(body, "message")
	switch {
	case m.Type == gjson.String:
		return truncate(m.Str)
	case m.IsArray():
		var parts []string
		for _, v := range m.Array() {
			parts = append(parts, v.String())
		}
		return truncate(strings.Join(parts, "; "))
	}
	return ""
}

func truncate(s string) string {
	const max = 256
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// malformed wraps a decoding failure of a body that was read whole.
func malformed(display string, err error, body []byte) error {
	return &ResponseError{StatusCode: 200, Path: display, ContentType: "application/json", Kind: ErrMalformedResponse, Err: err, Body: snippet(body, "")}
}

// decodeJSON decodes an own-typed result with encoding/json: unknown fields
// pass, null leaves the zero value, a wrong type is an error.
func decodeJSON(display string, body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return malformed(display, err, body)
	}
	return nil
}

// framePrefix wraps a payload as a WebSocket data frame for the decoder.
func wrapFrame(buf []byte, channel string, payload []byte) []byte {
	buf = append(buf[:0], `{"event":"data","channel":"`...)
	buf = append(buf, channel...)
	buf = append(buf, `","data":`...)
	buf = append(buf, payload...)
	return append(buf, '}')
}

// withFields returns row (a JSON object) with the given members prepended,
// so that the envelope's symbol reaches each row as the stream carries it.
// Members the row has itself win, as the decoder keeps the last.
func withFields(buf []byte, row []byte, fields [][2]string) []byte {
	buf = append(buf[:0], '{')
	for i, f := range fields {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendQuote(buf, f[0])
		buf = append(buf, ':')
		buf, _ = appendJSONString(buf, f[1])
	}
	rest := bytes.TrimSpace(row)[1:] // after '{'
	if r := bytes.TrimSpace(rest); len(r) > 0 && r[0] != '}' && len(fields) > 0 {
		buf = append(buf, ',')
	}
	return append(buf, rest...)
}

func appendJSONString(buf []byte, s string) ([]byte, error) {
	b, err := json.Marshal(s)
	return append(buf, b...), err
}

// decodeAggregate decodes a quote body as an aggregates payload.
func (c *Client) decodeAggregate(display string, body []byte) (*messages.Aggregate, error) {
	d := c.decoders.Get().(*messages.Decoder)
	defer c.decoders.Put(d)
	f, err := d.Frame(wrapFrame(nil, "aggregates", body))
	if err != nil {
		return nil, malformed(display, err, body)
	}
	out := new(messages.Aggregate)
	if err := d.Aggregate(&f, out); err != nil {
		return nil, malformed(display, err, body)
	}
	out.Meta = messages.Meta{}
	return out, nil
}

// envelope is the common head of the list responses.
type envelope struct {
	Date      string            `json:"date"`
	Type      string            `json:"type"`
	Exchange  string            `json:"exchange"`
	Market    string            `json:"market"`
	Symbol    string            `json:"symbol"`
	Timeframe json.RawMessage   `json:"timeframe"`
	Data      []json.RawMessage `json:"data"`
}

func (e *envelope) rowFields() [][2]string {
	f := [][2]string{{"symbol", e.Symbol}}
	for _, kv := range [][2]string{{"type", e.Type}, {"exchange", e.Exchange}, {"market", e.Market}} {
		if kv[1] != "" {
			f = append(f, kv)
		}
	}
	return f
}

// rowObject checks that a row of data is an object.
func rowObject(i int, row json.RawMessage) error {
	t := bytes.TrimSpace(row)
	if len(t) == 0 || t[0] != '{' {
		got := "missing"
		if len(t) > 0 {
			got = jsonType(t[0])
		}
		return fmt.Errorf("data[%d]: want an object, got %s", i, got)
	}
	return nil
}

// decodeTrades decodes a trades body: its rows are trades payloads.
func (c *Client) decodeTrades(display string, body []byte) (*Trades, error) {
	var env envelope
	if err := decodeJSON(display, body, &env); err != nil {
		return nil, err
	}
	out := &Trades{Date: env.Date, Type: env.Type, Exchange: env.Exchange, Market: env.Market, Symbol: env.Symbol, Data: make([]messages.Trade, len(env.Data))}
	d := c.decoders.Get().(*messages.Decoder)
	defer c.decoders.Put(d)
	fields := env.rowFields()
	var rowBuf, frameBuf []byte
	for i, row := range env.Data {
		if err := rowObject(i, row); err != nil {
			return nil, malformed(display, err, body)
		}
		rowBuf = withFields(rowBuf, row, fields)
		frameBuf = wrapFrame(frameBuf, "trades", rowBuf)
		f, err := d.Frame(frameBuf)
		if err == nil {
			err = d.Trade(&f, &out.Data[i])
		}
		if err != nil {
			return nil, malformed(display, fmt.Errorf("data[%d]: %w", i, err), body)
		}
		out.Data[i].Meta = messages.Meta{}
	}
	return out, nil
}

// decodeCandles decodes an intraday candles body: its rows are candles
// payloads.
func (c *Client) decodeCandles(display string, body []byte) (*Candles, error) {
	var env envelope
	if err := decodeJSON(display, body, &env); err != nil {
		return nil, err
	}
	out := &Candles{Date: env.Date, Type: env.Type, Exchange: env.Exchange, Market: env.Market, Symbol: env.Symbol, Data: make([]messages.Candle, len(env.Data))}
	if tf := gjson.ParseBytes(env.Timeframe); tf.Exists() && tf.Type != gjson.Null {
		if tf.Type != gjson.String && tf.Type != gjson.Number {
			return nil, malformed(display, errors.New("timeframe: want a string or a number"), body)
		}
		out.Timeframe = tf.String()
	}
	d := c.decoders.Get().(*messages.Decoder)
	defer c.decoders.Put(d)
	fields := env.rowFields()
	var rowBuf, frameBuf []byte
	for i, row := range env.Data {
		if err := rowObject(i, row); err != nil {
			return nil, malformed(display, err, body)
		}
		rowBuf = withFields(rowBuf, row, fields)
		frameBuf = wrapFrame(frameBuf, "candles", rowBuf)
		f, err := d.Frame(frameBuf)
		if err == nil {
			err = d.Candle(&f, &out.Data[i])
		}
		if err != nil {
			return nil, malformed(display, fmt.Errorf("data[%d]: %w", i, err), body)
		}
		bar := &out.Data[i]
		bar.Meta = messages.Meta{}
		if !bar.Has("date") {
			// One official type declaration has a numeric bar time instead.
			if t := gjson.GetBytes(row, "time"); t.Type == gjson.Number {
				bar.Date = barDate(t.Int())
			}
		}
	}
	return out, nil
}

// barDate formats a bar time (epoch µs, or ms by its magnitude) as the ISO
// date the samples carry.
func barDate(v int64) string {
	var t time.Time
	if v > 1e14 {
		t = time.UnixMicro(v)
	} else {
		t = time.UnixMilli(v)
	}
	return t.In(taipei).Format("2006-01-02T15:04:05.000-07:00")
}

var taipei = time.FixedZone("Asia/Taipei", 8*3600)
