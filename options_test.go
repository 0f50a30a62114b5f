package marketdata

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

func TestEndpointWithUserInfoIsRefusedWithoutItsPassword(t *testing.T) {
	const password = "pa55-word-xyz"
	for _, endpoint := range []string{
		"ws://alice:" + password + "@127.0.0.1:9/marketdata/v1.0/stock/streaming",
		"wss://alice:" + password + "@example.invalid/x",
		"ws://alice:" + password + "@127.0.0.1:9/%zz", // does not parse
	} {
		opt := WebSocketClientOption{Endpoint: endpoint, APIKey: testKey}
		for _, s := range []string{opt.String(), fmt.Sprintf("%v %+v %#v", opt, opt, opt)} {
			if strings.Contains(s, password) {
				t.Fatalf("option printed the password: %s", s)
			}
		}
		c, err := NewWebSocketClient(opt)
		if err == nil {
			_ = c.Close()
			t.Fatalf("%s accepted", endpoint)
		}
		if !errors.Is(err, ErrInvalidOption) {
			t.Fatalf("err = %v, want ErrInvalidOption", err)
		}
		if strings.Contains(err.Error(), password) {
			t.Fatalf("error reveals the password: %v", err)
		}
	}
}

// The one rule: zero is the default, negative is off where the field has
// an off and an error elsewhere.
func TestOptionRuleForZeroAndNegative(t *testing.T) {
	build := func(edit func(*WebSocketClientOption)) (WebSocketClientOption, error) {
		o := WebSocketClientOption{APIKey: testKey}
		edit(&o)
		c, err := NewWebSocketClient(o)
		if err != nil {
			return WebSocketClientOption{}, err
		}
		defer c.Close()
		return c.opt, nil
	}
	zero, err := build(func(*WebSocketClientOption) {})
	if err != nil {
		t.Fatal(err)
	}
	if zero.HeartbeatTimeout != DefaultHeartbeatTimeout || zero.ReconnectInitialInterval != DefaultReconnectInitialInterval ||
		zero.ReconnectMultiplier != DefaultReconnectMultiplier || zero.ReconnectJitter != DefaultReconnectJitter ||
		zero.PingInterval != 0 || zero.ReconnectMaxAttempts != 0 || zero.ReconnectMaxElapsed != 0 {
		t.Fatalf("defaults not applied: %+v", zero)
	}
	off, err := build(func(o *WebSocketClientOption) {
		o.HeartbeatTimeout, o.PingInterval, o.ReconnectJitter, o.ReconnectMaxAttempts, o.ReconnectMaxElapsed, o.BlockTimeout = -1, -1, -1, -1, -1, -1
	})
	if err != nil {
		t.Fatalf("negative on a field with an off: %v", err)
	}
	if off.HeartbeatTimeout != 0 || off.PingInterval != 0 || off.BlockTimeout != 0 || off.ReconnectJitter != 0 || off.ReconnectMaxAttempts != 0 || off.ReconnectMaxElapsed != 0 {
		t.Fatalf("negative did not turn off: %+v", off)
	}
	for name, edit := range map[string]func(*WebSocketClientOption){
		"AuthTimeout":      func(o *WebSocketClientOption) { o.AuthTimeout = -1 },
		"HandshakeTimeout": func(o *WebSocketClientOption) { o.HandshakeTimeout = -1 },
		"CloseTimeout":     func(o *WebSocketClientOption) { o.CloseTimeout = -1 },
		"StableAfter":      func(o *WebSocketClientOption) { o.StableAfter = -1 },
		"EventBufferSize":  func(o *WebSocketClientOption) { o.EventBufferSize = -1 },
		"ReadLimit":        func(o *WebSocketClientOption) { o.ReadLimit = -1 },
		"Multiplier":       func(o *WebSocketClientOption) { o.ReconnectMultiplier = 0.5 },
	} {
		if _, err := build(edit); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s negative: err = %v, want ErrInvalidOption", name, err)
		}
	}
}

// Every field's doc says its default, so a reader never has to guess.
func TestEveryOptionFieldStatesItsDefault(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "options.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "WebSocketClientOption" {
			return true
		}
		found = true
		for _, field := range ts.Type.(*ast.StructType).Fields.List {
			doc := field.Doc.Text()
			if !strings.Contains(doc, "Default") {
				t.Errorf("field %s: doc does not state its default: %q", field.Names[0].Name, doc)
			}
		}
		return false
	})
	if !found {
		t.Fatal("WebSocketClientOption not found")
	}
}
