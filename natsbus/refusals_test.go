package natsbus

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/go-fugle/marketdata"
	"github.com/nats-io/nats.go"
)

func trySubscribe(c *Client, req marketdata.SubscribeRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Subscribe(ctx, req)
}

// Keys the bus cannot carry are refused as ErrInvalidKey, by the client
// and by the gateway for a request that got past a client.
func TestSubscribeRefusesInvalidKeys(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	nc := connect(t, ns.ClientURL())
	startGateway(t, nc, srv, nil)
	c := newClient(t, connect(t, ns.ClientURL()), ClientOption{})

	for name, req := range map[string]marketdata.SubscribeRequest{
		"unknown channel":        {Channel: "foo", Symbols: []string{"2330"}},
		"afterHours for stock":   {Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}, AfterHours: true},
		"symbol with a wildcard": {Channel: marketdata.ChannelTrades, Symbols: []string{"23*"}},
		"no symbols":             {Channel: marketdata.ChannelTrades},
	} {
		if err := trySubscribe(c, req); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s: Subscribe returned %v, want ErrInvalidKey", name, err)
		}
	}
	if subs := c.Subscriptions(); len(subs) != 0 {
		t.Errorf("the client holds %v after refusals", subs)
	}

	// The gateway checks on its own.
	for name, k := range map[string]wireKey{
		"unknown channel":      {Product: Stock, Channel: "foo", Symbol: "2330"},
		"afterHours for stock": {Product: Stock, Channel: marketdata.ChannelTrades, Symbol: "2330", AfterHours: true},
		"product it lacks":     {Product: FutOpt, Channel: marketdata.ChannelTrades, Symbol: "TXFA4"},
	} {
		body, _ := json.Marshal(request{Consumer: "raw", Keys: []wireKey{k}})
		m, err := nc.Request(DefaultPrefix+"."+subjSubscribe, body, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var r reply
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatal(err)
		}
		if r.Error == nil || r.Error.Code != codeInvalid {
			t.Errorf("%s: the gateway answered %+v, want code %q", name, r.Error, codeInvalid)
		}
	}
	if n := srv.SubscriptionCount(); n != 0 {
		t.Errorf("the mock holds %d subscriptions after refusals only", n)
	}
}

// A Subscribe the plan has no room for is refused as ErrPlanFull, and
// leaves nothing of itself behind, at the gateway or at Fugle.
func TestSubscribeOverThePlanIsRefused(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	startGateway(t, connect(t, ns.ClientURL()), srv, func(o *GatewayOption) {
		o.Stock.Plan = marketdata.Plan{Connections: 1, SubscriptionsPerConnection: 2}
	})
	c := newClient(t, connect(t, ns.ClientURL()), ClientOption{})
	subscribe(t, c, marketdata.ChannelTrades, "2330")

	err := trySubscribe(c, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2317", "2454"}})
	if !errors.Is(err, marketdata.ErrPlanFull) {
		t.Fatalf("Subscribe over the plan returned %v, want ErrPlanFull", err)
	}
	var ge *GatewayError
	if !errors.As(err, &ge) || ge.Gateway != "gw1" {
		t.Errorf("the refusal %v is not a *GatewayError from gw1", err)
	}
	if subs := c.Subscriptions(); len(subs) != 1 || subs[0].Symbol != "2330" {
		t.Errorf("after the refusal the client holds %v, want trades 2330 only", subs)
	}
	for _, s := range []string{"2317", "2454"} {
		if n := srv.Subscribers("trades", s); n != 0 {
			t.Errorf("the refused %s is subscribed at the mock", s)
		}
	}
	// A request of several channels (a resumed consumer's, a renewal) is
	// placed one channel at a time: when the last has no room, the gateway
	// takes back the ones already placed.
	body, _ := json.Marshal(request{Consumer: "raw", Keys: []wireKey{
		{Product: Stock, Channel: marketdata.ChannelTrades, Symbol: "2317"},
		{Product: Stock, Channel: marketdata.ChannelBooks, Symbol: "2454"},
	}})
	m, err := connect(t, ns.ClientURL()).Request(DefaultPrefix+"."+subjSubscribe, body, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r reply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Error == nil || r.Error.Code != codePlanFull {
		t.Fatalf("two channels over the plan: the gateway answered %+v, want code %q", r.Error, codePlanFull)
	}
	waitSubscribers(t, srv, "trades", "2317", 0)
	if n := unsubscribeFrames(srv); n != 1 {
		t.Errorf("the gateway sent Fugle %d unsubscribes, want 1: the placed half of the refused request", n)
	}

	// What fits still goes through: the refusals took no room.
	subscribe(t, c, marketdata.ChannelTrades, "2317")
	if err := trySubscribe(c, marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2454"}}); !errors.Is(err, marketdata.ErrPlanFull) {
		t.Errorf("a third key on a plan of two: %v, want ErrPlanFull", err)
	}
}

// With no gateway to answer, Subscribe fails with ErrNoGateway within the
// request timeout, whether no one listens or a listener never answers.
func TestSubscribeWithoutAGatewayFailsPromptly(t *testing.T) {
	ns := startNATS(t, "")
	srv := startMock(t)
	g := startGateway(t, connect(t, ns.ClientURL()), srv, nil)
	// The stream stays; the gateway goes.
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	const timeout = time.Second
	c := newClient(t, connect(t, ns.ClientURL()), ClientOption{RequestTimeout: timeout})
	req := marketdata.SubscribeRequest{Channel: marketdata.ChannelTrades, Symbols: []string{"2330"}}

	start := time.Now()
	err := trySubscribe(c, req)
	if !errors.Is(err, ErrNoGateway) {
		t.Fatalf("with no responder Subscribe returned %v, want ErrNoGateway", err)
	}
	if d := time.Since(start); d > timeout {
		t.Errorf("with no responder Subscribe took %v, more than the request timeout %v", d, timeout)
	}

	// A hung gateway: subscribed to the control subjects, answering nothing.
	hungNC := connect(t, ns.ClientURL())
	hung, err := hungNC.Subscribe(DefaultPrefix+".control.*", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := hungNC.Flush(); err != nil { // the server has the subscription
		t.Fatal(err)
	}
	defer func() { _ = hung.Unsubscribe() }()
	start = time.Now()
	err = trySubscribe(c, req)
	d := time.Since(start)
	if !errors.Is(err, ErrNoGateway) {
		t.Fatalf("with a silent responder Subscribe returned %v, want ErrNoGateway", err)
	}
	if d < timeout || d > timeout+5*time.Second {
		t.Errorf("with a silent responder Subscribe took %v, want about the request timeout %v", d, timeout)
	}
	if subs := c.Subscriptions(); len(subs) != 0 {
		t.Errorf("the client holds %v after failed Subscribes", subs)
	}
	if n := srv.SubscriptionCount(); n != 0 {
		t.Errorf("the mock holds %d subscriptions", n)
	}
}
