// Package marketdata is a client for the Fugle MarketData streaming API.
package marketdata

import (
	_ "github.com/cenkalti/backoff/v4"
	_ "github.com/gorilla/websocket"
	_ "github.com/tidwall/gjson"
)
