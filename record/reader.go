package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// DefaultMaxLineSize is the longest line a Reader accepts unless told
// otherwise: a bound on memory for a damaged or hostile file.
const DefaultMaxLineSize = 16 << 20

// zstd frames may ask for any window up to 3.75 TiB; refuse more than this
// rather than allocate it. zstd's own levels up to 19 use at most 8 MiB.
const maxZstdWindow = 32 << 20

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// ReaderOption configures a Reader.
type ReaderOption func(*Reader)

// MaxLineSize sets the longest line accepted (without its '\n'); a longer
// one ends reading with ErrLineTooLong. Default DefaultMaxLineSize.
func MaxLineSize(n int) ReaderOption {
	return func(r *Reader) {
		if n > 0 {
			r.max = n
		}
	}
}

// Reader reads a recording line by line. It is not safe for concurrent use.
type Reader struct {
	comp    Compression
	src     *errSource // the compressed (or plain) bytes, remembering I/O errors
	br      *bufio.Reader
	closers []func() error
	max     int

	hdr       Header
	hdrLine   Line
	hdrUnread bool

	line     int   // complete lines read
	off      int64 // decompressed offset just after them
	lastKind Kind
	buf      []byte
	wl       wireLine
	err      error // sticky: io.EOF or a *LineError
}

// Open opens a recording, whatever its compression, and reads its header.
func Open(path string, opts ...ReaderOption) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, opts...)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	r.closers = append(r.closers, f.Close)
	return r, nil
}

// NewReader reads a recording from src, detecting plain, gzip or zstd by
// the magic bytes, and reads its header. Close releases the decompressor;
// it does not close src.
func NewReader(src io.Reader, opts ...ReaderOption) (*Reader, error) {
	r := &Reader{max: DefaultMaxLineSize, src: &errSource{r: src}}
	for _, o := range opts {
		o(r)
	}
	in := bufio.NewReaderSize(r.src, 32<<10)
	magic, _ := in.Peek(len(zstdMagic))
	if r.src.err != nil && r.src.err != io.EOF {
		return nil, &LineError{Line: 1, Err: r.src.err}
	}
	var data io.Reader = in
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		r.comp = Gzip
		gz, err := gzip.NewReader(in)
		if err != nil {
			return nil, r.fail(err)
		}
		r.closers = append(r.closers, gz.Close)
		data = gz
	case bytes.HasPrefix(magic, zstdMagic):
		r.comp = Zstd
		zr, err := zstd.NewReader(in, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(256<<20))
		if err != nil {
			return nil, r.fail(err)
		}
		r.closers = append(r.closers, func() error { zr.Close(); return nil })
		data = zr
	case len(magic) < len(zstdMagic) && (bytes.HasPrefix(gzipMagic, magic) || bytes.HasPrefix(zstdMagic, magic)):
		// Too short to tell, and what there is starts like a magic (or is
		// empty): the file was cut before its first line.
		return nil, r.fail(io.ErrUnexpectedEOF)
	}
	r.br = bufio.NewReaderSize(data, 64<<10)
	l, err := r.next() // never io.EOF: no end line has been seen
	if err != nil {
		_ = r.Close()
		return nil, err
	}
	if l.Kind != KindHeader {
		_ = r.Close()
		return nil, &LineError{Line: 1, Err: ErrNoHeader}
	}
	r.hdr, r.hdrLine, r.hdrUnread = l.Header, l, true
	return r, nil
}

// Header returns what the first line says.
func (r *Reader) Header() Header { return r.hdr }

// Compression returns the compression detected.
func (r *Reader) Compression() Compression { return r.comp }

// Next returns the next line, starting with the header line. At the end of
// a complete recording it returns io.EOF; a recording cut short returns
// every complete line and then an error matching ErrTruncated. Any other
// problem is a *LineError. Errors are final: later calls return the same.
func (r *Reader) Next() (Line, error) {
	if r.hdrUnread {
		r.hdrUnread = false
		return r.hdrLine, nil
	}
	if r.err != nil {
		return Line{}, r.err
	}
	l, err := r.next()
	if err != nil {
		r.err = err
	}
	return l, err
}

// Lines iterates over the lines as Next returns them. It stops after the
// last line of a complete recording, or yields one final non-nil error.
func (r *Reader) Lines() iter.Seq2[Line, error] {
	return func(yield func(Line, error) bool) {
		for {
			l, err := r.Next()
			if err == io.EOF {
				return
			}
			if !yield(l, err) || err != nil {
				return
			}
		}
	}
}

// Close releases the decompressor and, for Open, the file.
func (r *Reader) Close() error {
	var first error
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	r.closers = nil
	return first
}

func (r *Reader) next() (Line, error) {
	raw, err := r.readLine()
	if err != nil {
		if err == io.EOF && len(raw) == 0 {
			if r.lastKind == KindEnd {
				return Line{}, io.EOF
			}
			return Line{}, r.fail(errNoEnd)
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the last line has no '\n'
		}
		return Line{}, r.fail(err)
	}
	l, err := r.parse(raw)
	if err != nil {
		return Line{}, &LineError{Line: r.line + 1, Offset: r.off, Err: err}
	}
	r.line++
	r.off += int64(len(raw)) + 1
	l.Number = r.line
	r.lastKind = l.Kind
	return l, nil
}

// readLine returns the next line without its '\n'. The slice is valid
// until the next call. A line the stream ends in the middle of comes back
// with the error.
func (r *Reader) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(r.buf)+len(chunk) > r.max+1 || (err != nil && len(r.buf)+len(chunk) > r.max) {
			return nil, ErrLineTooLong
		}
		switch err {
		case nil:
			if len(r.buf) > 0 {
				r.buf = append(r.buf, chunk...)
				chunk = r.buf
			}
			return chunk[:len(chunk)-1], nil
		case bufio.ErrBufferFull:
			r.buf = append(r.buf, chunk...)
		default:
			r.buf = append(r.buf, chunk...)
			return r.buf, err
		}
	}
}

// fail turns a read error into a *LineError for the line being read,
// telling a cut (ErrTruncated), damage (ErrCorrupt) and the source's own
// I/O errors apart.
func (r *Reader) fail(err error) error {
	var cause error
	switch {
	case errors.Is(err, ErrLineTooLong):
		cause = err
	case r.src.err != nil && r.src.err != io.EOF:
		cause = err // the source failed, not the data
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errNoEnd):
		cause = fmt.Errorf("%w: %w", ErrTruncated, err)
	default:
		cause = fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return &LineError{Line: r.line + 1, Offset: r.off, Err: cause}
}

// errNoEnd: the stream ends cleanly after a complete line, but not after
// an end line.
var errNoEnd = errors.New("no end line")

// wireLine is every member a version 1 line may have.
type wireLine struct {
	Kind     string          `json:"kind"`
	T        *int64          `json:"t"`
	V        *int            `json:"v"`
	Conn     uint64          `json:"conn"`
	Dir      string          `json:"dir"`
	Raw      json.RawMessage `json:"raw"`
	B64      []byte          `json:"b64"`
	URL      string          `json:"url"`
	Code     int             `json:"code"`
	Reason   string          `json:"reason"`
	Count    uint64          `json:"count"`
	Endpoint string          `json:"endpoint"`
	Product  string          `json:"product"`
	SDK      string          `json:"sdk"`
}

func (r *Reader) parse(raw []byte) (Line, error) {
	raw = bytes.TrimSuffix(raw, []byte{'\r'})
	if len(raw) == 0 || raw[0] != '{' {
		return Line{}, ErrSyntax
	}
	keep := r.wl.Raw[:0] // RawMessage appends into its old capacity
	r.wl = wireLine{Raw: keep}
	w := &r.wl
	if err := json.Unmarshal(raw, w); err != nil {
		return Line{}, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	if w.T == nil {
		return Line{}, fmt.Errorf(`%w: no "t"`, ErrSyntax)
	}
	l := Line{Kind: parseKind(w.Kind), Time: time.Unix(0, *w.T), Conn: w.Conn}
	switch l.Kind {
	case KindHeader:
		if w.V == nil || *w.V != Version {
			return Line{}, ErrVersion
		}
		l.Header = Header{Version: *w.V, Time: l.Time, Endpoint: w.Endpoint, Product: w.Product, SDK: w.SDK}
	case KindFrame:
		switch w.Dir {
		case "in":
			l.Dir = In
		case "out":
			l.Dir = Out
		default:
			return Line{}, fmt.Errorf(`%w: "dir" %q`, ErrSyntax, w.Dir)
		}
		switch {
		case len(w.Raw) > 0 && w.B64 == nil:
			l.Raw = w.Raw
		case len(w.Raw) == 0 && w.B64 != nil:
			l.Raw = w.B64
		default:
			return Line{}, fmt.Errorf(`%w: a frame needs exactly one of "raw" and "b64"`, ErrSyntax)
		}
	case KindOpen:
		l.URL = w.URL
	case KindClose:
		l.Code, l.Reason = w.Code, w.Reason
	case KindLost:
		l.Count = w.Count
	}
	return l, nil
}

// errSource remembers the first error its reader returned, so that a
// decompressor's complaint can be told from the source's own failure.
type errSource struct {
	r   io.Reader
	err error
}

func (s *errSource) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.err = err
	return n, err
}
