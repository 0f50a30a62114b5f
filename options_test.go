package marketdata

import (
	"errors"
	"fmt"
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
