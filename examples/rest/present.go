package main

import (
	"encoding/json"

	"github.com/go-fugle/marketdata/messages"
	"github.com/go-fugle/marketdata/rest"
)

// present turns a result into JSON values that leave out what the server
// did not send: the messages types keep an absent field as a zero (Has
// tells them apart) and carry routing fields a REST answer has no use for.
func present(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	m, _ := out.(map[string]any)
	rows, _ := m["data"].([]any)
	switch r := v.(type) {
	case *messages.Aggregate:
		prune(m, r.Has)
	case *rest.Trades:
		for i := range rows {
			prune(rows[i], r.Data[i].Has)
		}
	case *rest.Candles:
		for i := range rows {
			prune(rows[i], r.Data[i].Has)
		}
	}
	return out, nil
}

// nested are the objects whose members Has reports by a dotted name.
var nested = map[string]bool{"total": true, "lastTrade": true, "lastTrial": true, "priceLimits": true}

// prune deletes the members of obj that has reports absent, inside the
// nested objects too, and the routing members.
func prune(obj any, has func(string) bool) {
	m, ok := obj.(map[string]any)
	if !ok {
		return
	}
	for _, k := range []string{"id", "channel", "snapshot", "conn"} {
		delete(m, k)
	}
	for k, v := range m {
		if !has(k) {
			delete(m, k)
			continue
		}
		if sub, ok := v.(map[string]any); ok && nested[k] {
			for sk := range sub {
				if !has(k + "." + sk) {
					delete(sub, sk)
				}
			}
		}
	}
}
