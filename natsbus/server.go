package natsbus

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerOption configures an embedded NATS server with JetStream.
type ServerOption struct {
	// Listen is the client address. Default "127.0.0.1:4222"; port 0
	// picks a free one.
	Listen string
	// StoreDir holds JetStream's files. Required: the stream outlives the
	// process only if the directory does.
	StoreDir string
	// Name is the server's name, unique in a cluster. Default: chosen by
	// the server.
	Name string
}

// DefaultListen is ServerOption.Listen's default.
const DefaultListen = "127.0.0.1:4222"

// RunServer starts an embedded NATS server with JetStream and returns once
// it accepts connections. Stop it with Shutdown, then WaitForShutdown.
func RunServer(opt ServerOption) (*server.Server, error) {
	if opt.Listen == "" {
		opt.Listen = DefaultListen
	}
	if opt.StoreDir == "" {
		return nil, errors.New("natsbus: ServerOption.StoreDir is required")
	}
	host, portText, err := net.SplitHostPort(opt.Listen)
	if err != nil {
		return nil, fmt.Errorf("natsbus: listen address %q: %w", opt.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("natsbus: listen port %q: %w", portText, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return StartServer(&server.Options{
		ServerName: opt.Name, Host: host, Port: port,
		JetStream: true, StoreDir: opt.StoreDir,
		NoLog: true, NoSigs: true,
	})
}

// StartServer starts a NATS server with the given options (for clusters
// and anything else RunServer does not cover) and returns once it accepts
// connections and, when JetStream is on, JetStream is ready.
func StartServer(opts *server.Options) (*server.Server, error) {
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsbus: nats server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, errors.New("natsbus: nats server not ready after 10 s")
	}
	return s, nil
}
