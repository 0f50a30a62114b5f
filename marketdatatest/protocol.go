package marketdatatest

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"
)

// channels lists the channels each product serves.
var channels = map[string]map[string]bool{
	"stock":  {"trades": true, "candles": true, "books": true, "aggregates": true, "indices": true},
	"futopt": {"trades": true, "candles": true, "books": true, "aggregates": true},
}

// handle answers one text frame from the client.
func (c *Conn) handle(data []byte) {
	if !gjson.ValidBytes(data) {
		c.replyError(CodeInvalidRequest, "Invalid message format: not JSON")
		return
	}
	msg := gjson.ParseBytes(data)
	event := msg.Get("event")
	if !msg.IsObject() || event.Type != gjson.String {
		c.replyError(CodeInvalidRequest, "Invalid message format: missing event")
		return
	}
	if event.Str == "auth" {
		c.handleAuth(msg.Get("data"))
		return
	}
	if !c.Authenticated() {
		c.replyError(CodeUnauthenticated, "Unauthenticated")
		return
	}
	switch event.Str {
	case "subscribe":
		c.handleSubscribe(msg.Get("data"))
	case "unsubscribe":
		c.handleUnsubscribe(msg.Get("data"))
	case "ping":
		c.handlePing(msg.Get("data"))
	case "subscriptions":
		c.handleSubscriptions()
	default:
		c.replyError(CodeInvalidRequest, "Invalid event")
	}
}

// credential extracts the one credential of an auth frame.
func credential(data gjson.Result) (kind, value string, ok bool) {
	if !data.IsObject() {
		return "", "", false
	}
	n := 0
	for _, k := range []string{"apikey", "token", "sdkToken"} {
		if v := data.Get(k); v.Exists() {
			n++
			kind, value = k, v.Str
			if v.Type != gjson.String || v.Str == "" {
				return "", "", false
			}
		}
	}
	return kind, value, n == 1
}

func (s *Server) credentialOK(kind, value string) bool {
	if !s.cfg.credsConfigured {
		return true
	}
	switch kind {
	case "apikey":
		return s.cfg.apiKeys[value]
	case "token":
		return s.cfg.tokens[value]
	case "sdkToken":
		return s.cfg.sdkTokens[value]
	}
	return false
}

func (c *Conn) handleAuth(data gjson.Result) {
	s := c.srv
	kind, value, ok := credential(data)
	if !ok {
		c.replyError(CodeInvalidRequest, "Invalid auth request: exactly one of apikey, token or sdkToken is required")
		return
	}
	if f, failing := s.takeFailAuth(); failing {
		s.cfg.logf("marketdatatest: conn %d: auth failed on purpose (%d %s)", c.id, f.code, f.message)
		c.replyError(f.code, f.message)
		c.enqueue(item{kind: itemClose, code: websocket.CloseInternalServerErr, reason: f.message}, true)
		return
	}
	if !s.credentialOK(kind, value) {
		s.cfg.logf("marketdatatest: conn %d: rejected %s credential", c.id, kind)
		c.replyError(CodeInvalidCredentials, MessageInvalidCredentials)
		c.enqueue(item{kind: itemClose, code: websocket.ClosePolicyViolation, reason: MessageInvalidCredentials}, true)
		return
	}

	// The connection limit is checked and the connection counted under one
	// lock, so that two connections authenticating at once cannot both
	// take the last place.
	s.mu.Lock()
	if s.cfg.maxConnections > 0 && !c.Authenticated() {
		n := 0
		for _, l := range s.live {
			if l != c && l.Authenticated() {
				n++
			}
		}
		if n >= s.cfg.maxConnections {
			s.mu.Unlock()
			const msg = "Maximum number of connections reached"
			c.replyError(CodeLimitExceeded, msg)
			c.enqueue(item{kind: itemClose, code: websocket.CloseGoingAway, reason: msg}, true)
			return
		}
	}
	dropAfter := s.dropAfterAuth
	silent := s.silent.Load()
	c.mu.Lock()
	first := !c.authenticated
	c.authenticated = true
	if !silent {
		c.enqueueLocked(item{kind: itemText, data: []byte(`{"event":"authenticated","data":{"message":"Authenticated successfully"}}`)})
	}
	if first {
		c.enqueueLocked(item{kind: itemStartHeartbeat})
		s.authenticated++
	}
	if dropAfter {
		c.enqueueLocked(item{kind: itemDrop})
	}
	c.mu.Unlock()
	s.mu.Unlock()
	c.wakeWriter()
	s.cfg.logf("marketdatatest: conn %d authenticated with %s", c.id, kind)
	s.notify()
}

func (c *Conn) handleSubscribe(data gjson.Result) {
	s := c.srv
	if !data.IsObject() {
		c.replyError(CodeInvalidRequest, "Invalid subscribe request")
		return
	}
	channel := data.Get("channel")
	if channel.Type != gjson.String || !channels[c.ep.product][channel.Str] {
		c.replyError(CodeInvalidRequest, "Invalid channel")
		return
	}
	symbols, many, msg := symbolList(data)
	if msg != "" {
		c.replyError(CodeInvalidRequest, msg)
		return
	}
	oddLot, ok1 := flag(data, "intradayOddLot")
	afterHours, ok2 := flag(data, "afterHours")
	if !ok1 || !ok2 {
		c.replyError(CodeInvalidRequest, "Invalid modifier: intradayOddLot and afterHours must be booleans")
		return
	}
	for _, sym := range symbols {
		if r, rejected := s.rejection(channel.Str, sym); rejected {
			c.replyError(r.code, r.message)
			return
		}
	}

	kept := symbols[:0:0]
	for _, sym := range symbols {
		if !s.isIgnored(channel.Str, sym) {
			kept = append(kept, sym)
		}
	}
	if len(kept) == 0 {
		many = true // an empty ack is an empty array
	}
	symbols = kept

	c.mu.Lock()
	// First find what is new, so that a request over the limit leaves no
	// trace, then give the new entries their ids.
	var fresh []Subscription
	acks := make([]Subscription, 0, len(symbols))
	for _, sym := range symbols {
		sub, found := c.findLocked(channel.Str, sym, oddLot, afterHours)
		if !found {
			sub = Subscription{Channel: channel.Str, Symbol: sym, IntradayOddLot: oddLot, AfterHours: afterHours}
			if !containsSub(fresh, sub) {
				fresh = append(fresh, sub)
			}
		}
		acks = append(acks, sub)
	}
	if limit := s.cfg.maxSubscriptions; limit > 0 && len(c.subs)+len(fresh) > limit {
		c.mu.Unlock()
		c.replyError(CodeLimitExceeded, "Maximum number of subscriptions reached")
		return
	}
	for i := range fresh {
		fresh[i].ID = c.idLocked(idKey{channel.Str, s.canonical(fresh[i].Symbol), oddLot, afterHours})
	}
	for i := range acks {
		if acks[i].ID == "" {
			acks[i].ID = c.ids[idKey{channel.Str, s.canonical(acks[i].Symbol), oddLot, afterHours}]
		}
	}
	c.subs = append(c.subs, fresh...)
	if !s.silent.Load() {
		c.enqueueLocked(item{kind: itemText, data: ackFrame("subscribed", acks, many)})
		if s.feed != nil {
			for _, sub := range fresh {
				payload := s.feed.snapshot(c.ep, sub)
				c.enqueueLocked(item{kind: itemText, data: SnapshotFrame(sub.Channel, sub.ID, payload)})
			}
		}
	}
	c.mu.Unlock()
	c.wakeWriter()
	s.cfg.logf("marketdatatest: conn %d subscribed to %s %s", c.id, channel.Str, strings.Join(symbols, ","))
	s.notify()
}

// symbolList reads exactly one of symbol and symbols; msg is the validation
// error, if any.
func symbolList(data gjson.Result) (symbols []string, many bool, msg string) {
	one, list := data.Get("symbol"), data.Get("symbols")
	if one.Exists() == list.Exists() {
		return nil, false, "Invalid symbol: exactly one of symbol or symbols is required"
	}
	if one.Exists() {
		if one.Type != gjson.String || one.Str == "" {
			return nil, false, "Invalid symbol"
		}
		return []string{one.Str}, false, ""
	}
	if !list.IsArray() {
		return nil, true, "Invalid symbols"
	}
	for _, v := range list.Array() {
		if v.Type != gjson.String || v.Str == "" {
			return nil, true, "Invalid symbol"
		}
		symbols = append(symbols, v.Str)
	}
	if len(symbols) == 0 {
		return nil, true, "Invalid symbols: empty list"
	}
	return symbols, true, ""
}

// flag reads an optional boolean modifier.
func flag(data gjson.Result, name string) (value, ok bool) {
	v := data.Get(name)
	switch v.Type {
	case gjson.Null: // absent or null: not set
		return false, true
	case gjson.True:
		return true, true
	case gjson.False:
		return false, true
	}
	return false, false
}

func containsSub(list []Subscription, s Subscription) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (c *Conn) findLocked(channel, symbol string, oddLot, afterHours bool) (Subscription, bool) {
	for _, s := range c.subs {
		if s.Channel == channel && s.Symbol == symbol && s.IntradayOddLot == oddLot && s.AfterHours == afterHours {
			return s, true
		}
	}
	return Subscription{}, false
}

// idLocked returns the id shared by every subscription with this key,
// making one up the first time.
func (c *Conn) idLocked(k idKey) string {
	if id, ok := c.ids[k]; ok {
		return id
	}
	id := newID()
	c.ids[k] = id
	return id
}

func newID() string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 20)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

func (c *Conn) handleUnsubscribe(data gjson.Result) {
	if !data.IsObject() {
		c.replyError(CodeInvalidRequest, "Invalid unsubscribe request")
		return
	}
	one, list := data.Get("id"), data.Get("ids")
	if one.Exists() == list.Exists() {
		c.replyError(CodeInvalidRequest, "Invalid unsubscribe request: exactly one of id or ids is required")
		return
	}
	var ids []string
	if one.Exists() {
		if one.Type != gjson.String || one.Str == "" {
			c.replyError(CodeInvalidRequest, "Invalid id")
			return
		}
		ids = []string{one.Str}
	} else {
		if !list.IsArray() || len(list.Array()) == 0 {
			c.replyError(CodeInvalidRequest, "Invalid ids")
			return
		}
		for _, v := range list.Array() {
			if v.Type != gjson.String || v.Str == "" {
				c.replyError(CodeInvalidRequest, "Invalid id")
				return
			}
			if !contains(ids, v.Str) {
				ids = append(ids, v.Str)
			}
		}
	}

	c.mu.Lock()
	acks := make([]Subscription, 0, len(ids))
	for _, id := range ids {
		i := c.indexLocked(id)
		if i < 0 {
			c.mu.Unlock()
			c.replyError(CodeInvalidRequest, "Subscription not found: "+id)
			return
		}
		acks = append(acks, c.subs[i])
	}
	// Every entry sharing an id goes: an alias and its contract are one
	// subscription on the server.
	kept := c.subs[:0]
	for _, s := range c.subs {
		if !contains(ids, s.ID) {
			kept = append(kept, s)
		}
	}
	clear(c.subs[len(kept):])
	c.subs = kept
	for k, id := range c.ids {
		if contains(ids, id) {
			delete(c.ids, k)
		}
	}
	if !c.srv.silent.Load() {
		c.enqueueLocked(item{kind: itemText, data: ackFrame("unsubscribed", acks, !one.Exists())})
	}
	c.mu.Unlock()
	c.wakeWriter()
	c.srv.cfg.logf("marketdatatest: conn %d unsubscribed %d id(s)", c.id, len(ids))
	c.srv.notify()
}

func (c *Conn) indexLocked(id string) int {
	for i, s := range c.subs {
		if s.ID == id {
			return i
		}
	}
	return -1
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (c *Conn) handlePing(data gjson.Result) {
	var state []byte
	if data.IsObject() {
		if v := data.Get("state"); v.Exists() {
			state = []byte(v.Raw)
		}
	}
	c.reply(PongFrame(time.Now(), c.srv.cfg.stringTimes, state))
}

func (c *Conn) handleSubscriptions() {
	subs := c.Subscriptions()
	c.reply(ackFrame("subscriptions", subs, true))
}

// ackFrame builds a subscribed, unsubscribed or subscriptions frame: data is
// an array for a many-symbol request and an object otherwise.
func ackFrame(event string, subs []Subscription, array bool) []byte {
	b := make([]byte, 0, 32+len(subs)*80)
	b = append(b, `{"event":`...)
	b = appendString(b, event)
	b = append(b, `,"data":`...)
	if array {
		b = append(b, '[')
	}
	for i, s := range subs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendAck(b, s)
	}
	if array {
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendAck(b []byte, s Subscription) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, s.ID)
	b = appendStringField(b, "channel", s.Channel)
	b = appendStringField(b, "symbol", s.Symbol)
	if s.IntradayOddLot {
		b = append(b, `,"intradayOddLot":true`...)
	}
	if s.AfterHours {
		b = append(b, `,"afterHours":true`...)
	}
	return append(b, '}')
}
