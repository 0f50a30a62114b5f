// Command mockserver runs the mock Fugle MarketData streaming endpoint of
// package marketdatatest as a standalone program, with a simulated market
// feed, for trying clients (this SDK's or the official ones) without a key
// or a network.
//
//	go run ./cmd/mockserver -addr 127.0.0.1:8080
//
// With -replay FILE it serves a recording (see examples/stream -record)
// instead of the simulated feed, to any client, at -speed 1 (as recorded),
// N (N times faster) or max (as fast as the clients take it):
//
//	go run ./cmd/mockserver -replay day.ndjson.zst -speed 10
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
	"math"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/go-fugle/marketdata/marketdatatest"
	"github.com/go-fugle/marketdata/replay"
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
	replayFile := fs.String("replay", "", "serve this recording `file` instead of the simulated feed")
	speed := fs.String("speed", "1", "replay `speed`: 1 as recorded, N times faster, or max")
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

	var (
		srv *marketdatatest.Server
		rp  *replay.Server
		err error
	)
	if *replayFile != "" {
		x, perr := parseSpeed(*speed)
		if perr != nil {
			return perr
		}
		rp, err = newReplay(*replayFile, x, opts)
		if err != nil {
			return err
		}
		srv = rp.Server
	} else if srv, err = newServer(opts); err != nil {
		return err
	}
	// os.Stdout is unbuffered: the line is out before anything else happens.
	if _, err := fmt.Fprintln(os.Stdout, srv.URL()); err != nil {
		srv.Close()
		return err
	}
	switch {
	case rp != nil:
		if !*quiet {
			h := rp.Header()
			logger.Printf("replaying %s (%s, recorded from %s) at speed %s on %s; the clock starts when a client subscribes", *replayFile, h.Product, h.Endpoint, *speed, rp.Endpoint())
		}
		go func() {
			<-rp.Done()
			if err := rp.Err(); err != nil {
				logger.Printf("replay stopped: %v", err)
			} else if !*quiet {
				st := rp.Stats()
				logger.Printf("replay finished: %d frames, %d disconnects reproduced, %d lost by the recorder; still serving", st.Frames, st.Disconnects, st.Lost)
			}
		}()
	case !*quiet:
		logger.Printf("serving %s (feed %.3g frames/s per subscription, heartbeat %v) and REST at %s", srv.URL(), *rate, *heartbeat, srv.RESTURL())
	}
	<-ctx.Done()
	if !*quiet {
		logger.Printf("shutting down")
	}
	if rp != nil {
		rp.Close()
	} else {
		srv.Close()
	}
	return nil
}

// parseSpeed reads -speed: a positive number or "max".
func parseSpeed(s string) (float64, error) {
	if s == "max" {
		return replay.Max, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || !(x > 0) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("-speed %q: want a positive number or max", s)
	}
	return x, nil
}

// newReplay serves a recording; the simulated feed is off.
func newReplay(path string, speed float64, opts []marketdatatest.Option) (rp *replay.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return replay.NewServer(path, replay.Speed(speed), replay.ServerOptions(opts...))
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
