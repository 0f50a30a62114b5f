package main

import (
	"encoding/json"
	"reflect"
	"strings"
)

// hasser is a payload that knows which fields its frame carried.
type hasser interface{ Has(name string) bool }

// metaFields come from the envelope and the client, not the payload: they
// are always printed.
var metaFields = map[string]bool{"id": true, "channel": true, "snapshot": true, "conn": true, "received": true, "backfill": true}

// present turns a payload into what its frame said: a JSON object without
// the fields the frame did not carry, so that an absent volume is not
// printed as 0, nor a stock trade's futures totals as zeros.
func present(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var obj map[string]any
	if json.Unmarshal(b, &obj) != nil {
		return v
	}
	prune(reflect.ValueOf(v), obj, true)
	return obj
}

// prune deletes from obj the members that rv's Has denies, recursing into
// nested payloads and their arrays.
func prune(rv reflect.Value, obj map[string]any, top bool) {
	h, ok := rv.Interface().(hasser)
	if !ok {
		return
	}
	elem := rv.Elem()
	for i := 0; i < elem.NumField(); i++ {
		f := elem.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || f.Anonymous || (top && metaFields[name]) {
			continue
		}
		if _, printed := obj[name]; !printed {
			continue
		}
		if !h.Has(name) {
			delete(obj, name)
			continue
		}
		fv := elem.Field(i)
		switch fv.Kind() {
		case reflect.Struct:
			if sub, ok := obj[name].(map[string]any); ok && fv.CanAddr() {
				prune(fv.Addr(), sub, false)
			}
		case reflect.Slice:
			items, _ := obj[name].([]any)
			for j := 0; j < fv.Len() && j < len(items); j++ {
				if sub, ok := items[j].(map[string]any); ok && fv.Index(j).Kind() == reflect.Struct {
					prune(fv.Index(j).Addr(), sub, false)
				}
			}
		}
	}
}
