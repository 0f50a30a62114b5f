// Command mockserver runs the mock Fugle MarketData streaming endpoint of
// package marketdatatest as a standalone program, with a simulated market
// feed, for trying clients (this SDK's or the official ones) without a key
// or a network.
//
//	go run ./cmd/mockserver -addr 127.0.0.1:8080
//
// The first line on standard output is the base URL to give a client, such
// as ws://127.0.0.1:8080/marketdata; the streaming endpoints are below it at
// /v1.0/stock/streaming, /v1.0/futopt/streaming and /v1.1/futopt/streaming.
// The same address serves the REST API too, at the same base with http://
// (http://127.0.0.1:8080/marketdata, as package rest and the official SDKs
// take it), answering from what the feed has streamed; the log names it.
// Nothing else is written to standard output, so a script can read that line
// to learn the port chosen for -addr 127.0.0.1:0. The log goes to standard
// error and never shows a credential. SIGINT or SIGTERM closes every
// connection with close code 1001 and exits with status 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mockserver:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("mockserver", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`; port 0 picks a free port")
	apiKey := fs.String("apikey", "", "accept only this API `key` (default: any non-empty credential)")
	rate := fs.Float64("rate", 5, "simulated frames per second per subscription (0 disables the feed)")
	heartbeat := fs.Duration("heartbeat", 30*time.Second, "heartbeat interval (0 disables heartbeats)")
	stringTimes := fs.Bool("string-times", false, "send heartbeat and pong times as JSON strings")
	quiet := fs.Bool("quiet", false, "log nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}

	logger := log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds)
	opts := []marketdatatest.Option{
		marketdatatest.WithAddr(*addr),
		marketdatatest.WithSimulatedFeed(*rate),
		marketdatatest.WithHeartbeat(*heartbeat),
		marketdatatest.WithStringTimes(*stringTimes),
	}
	if !*quiet {
		opts = append(opts, marketdatatest.WithLogf(logger.Printf))
	}
	if *apiKey != "" {
		opts = append(opts, marketdatatest.WithAPIKey(*apiKey))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv, err := newServer(opts)
	if err != nil {
		return err
	}
	// os.Stdout is unbuffered: the line is out before anything else happens.
	if _, err := fmt.Fprintln(os.Stdout, srv.URL()); err != nil {
		srv.Close()
		return err
	}
	if !*quiet {
		logger.Printf("serving %s (feed %.3g frames/s per subscription, heartbeat %v) and REST at %s", srv.URL(), *rate, *heartbeat, srv.RESTURL())
	}
	<-ctx.Done()
	if !*quiet {
		logger.Printf("shutting down")
	}
	srv.Close()
	return nil
}

// newServer turns marketdatatest's panic on a busy or invalid address into
// an error, as a program should report it.
func newServer(opts []marketdatatest.Option) (srv *marketdatatest.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return marketdatatest.NewServer(opts...), nil
}
