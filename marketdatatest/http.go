package marketdatatest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
)

// The server reads exactly one HTTP request per TCP connection itself rather
// than running net/http's server: that way every goroutine it starts is its
// own, Close can wait for all of them, and Stop can cut connections that are
// still mid-handshake.

// hijackResponse is the minimal http.ResponseWriter gorilla's Upgrader needs:
// it hands over the raw connection, or buffers the error response that the
// Upgrader writes when the request is not a valid upgrade.
type hijackResponse struct {
	nc       net.Conn
	br       *bufio.Reader
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *hijackResponse) Header() http.Header { return w.header }

func (w *hijackResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *hijackResponse) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

func (w *hijackResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, errors.New("marketdatatest: connection already hijacked")
	}
	w.hijacked = true
	return w.nc, bufio.NewReadWriter(w.br, bufio.NewWriterSize(w.nc, 4096)), nil
}

// flush writes the buffered response, if the Upgrader wrote one.
func (w *hijackResponse) flush() {
	if w.hijacked || w.status == 0 {
		return
	}
	writeResponse(w.nc, w.status, w.header, w.body.Bytes())
}

// writeResponse writes a complete HTTP/1.1 response that ends the connection.
func writeResponse(nc net.Conn, status int, header http.Header, body []byte) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	if header == nil {
		header = http.Header{}
	}
	if header.Get("Content-Type") == "" {
		header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	header.Set("Content-Length", strconv.Itoa(len(body)))
	header.Set("Connection", "close")
	_ = header.Write(&b)
	b.WriteString("\r\n")
	b.Write(body)
	_, _ = nc.Write(b.Bytes())
}

func writeStatus(nc net.Conn, status int) {
	writeResponse(nc, status, nil, []byte(http.StatusText(status)+"\n"))
}
