package record

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression is how a recording is compressed.
type Compression uint8

// The compressions. Create picks one from the file name's suffix.
const (
	None Compression = iota // ".ndjson"
	Gzip                    // ".ndjson.gz"
	Zstd                    // ".ndjson.zst"
)

// String returns the compression's name.
func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return "Compression(?)"
}

// Rotation is how often Create starts a new file.
type Rotation uint8

// The rotations. A rotated file's name has its period inserted before the
// suffix: "trades.ndjson.zst" becomes "trades-2026-05-29T09.ndjson.zst"
// (hourly) or "trades-2026-05-29.ndjson.zst" (daily). An existing file is
// never overwritten: the name then gains ".1", ".2", ... before the suffix.
const (
	RotateNone Rotation = iota
	RotateHourly
	RotateDaily
)

// Options configure a Writer. The zero value is usable.
type Options struct {
	// QueueSize is how many frames and markers may wait for the writer
	// goroutine; beyond it they are dropped and counted. Default 8192.
	QueueSize int
	// FlushInterval bounds how long a line may sit in buffers before it is
	// handed to the operating system (not fsynced). Default 1 s.
	FlushInterval time.Duration
	// Rotate starts a new file every hour or day (Create only).
	Rotate Rotation
	// Location decides where hours and days begin for Rotate and the
	// period in file names. Default time.Local.
	Location *time.Location
	// Endpoint, Product and SDK go into the header line. Endpoint is
	// redacted like every URL (see RedactURL).
	Endpoint string
	Product  string
	SDK      string
	// Clock is the time source for header, lost and end lines and for
	// closing a rotated file on time when no frame arrives. Frames are
	// stamped, and filed into rotation periods, by the time given to Frame.
	// Default time.Now; tests inject one.
	Clock func() time.Time
}

func (o Options) withDefaults() Options {
	if o.QueueSize <= 0 {
		o.QueueSize = 8192
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	o.Endpoint = RedactURL(o.Endpoint)
	return o
}

// Stats counts what a Writer did with what it was handed.
type Stats struct {
	Written  uint64 // frames written
	Lost     uint64 // frames and markers dropped: queue full, after Close, or after a write error
	Redacted uint64 // frames refused as auth frames (or unparsable outbound frames)
	Bytes    uint64 // bytes handed to the file or io.Writer, after compression
	Files    uint64 // files created (Create only)
}

// Writer records frames and connection markers. Its methods are safe for
// concurrent use and never block on the output, except Close.
type Writer struct {
	opt  Options
	comp Compression
	path string    // Create: the name given; "" for NewWriter
	dst  io.Writer // NewWriter: the destination

	q     chan *entry
	nudge chan struct{} // the queue is half full: drain now
	stop  chan struct{}
	done  chan struct{}

	mu     sync.RWMutex // guards closed against a send racing Close
	closed bool

	pending                                 atomic.Uint64 // drops not yet reported by a lost line
	written, lost, redacted, nbytes, nfiles atomic.Uint64

	errMu sync.Mutex
	err   error

	// Owned by the writer goroutine (and by the constructor before it starts).
	out   *output
	until time.Time // end of the current rotation period
	conns map[uint64]openMark
	// when creating the next rotated file last failed
	openFailed time.Time
	line       []byte // scratch for the entry being written
	aux        []byte // scratch for lines a file writes of its own
}

type openMark struct {
	at  int64
	url string
}

// entry is one queued frame or marker, pooled so the tap does not allocate.
type entry struct {
	kind       Kind
	dir        Direction
	conn       uint64
	at         int64
	lostBefore uint64 // drops just before this entry
	code       int
	text       string // open: URL; close: reason
	buf        []byte
}

var entryPool = sync.Pool{New: func() any { return &entry{buf: make([]byte, 0, 512)} }}

func putEntry(e *entry) {
	if cap(e.buf) > 64<<10 {
		e.buf = nil // a rare huge frame should not pin its buffer in the pool
	}
	e.buf = e.buf[:0]
	e.text = ""
	e.lostBefore = 0
	entryPool.Put(e)
}

// Create starts a recording at path, compressed as its suffix says
// (".ndjson", ".ndjson.gz" or ".ndjson.zst"). Without rotation an existing
// file is truncated; with rotation the name is a pattern (see Rotation) and
// the first file is created now, so a bad directory fails here.
func Create(path string, opt Options) (*Writer, error) {
	comp, _, ok := splitSuffix(path)
	if !ok {
		return nil, ErrSuffix
	}
	w := newWriter(comp, opt)
	w.path = path
	if err := w.openFile(w.opt.Clock()); err != nil {
		return nil, err
	}
	w.start()
	return w, nil
}

// NewWriter starts a recording on dst with the given compression. Close
// finishes the stream but does not close dst. Rotation needs Create.
func NewWriter(dst io.Writer, comp Compression, opt Options) (*Writer, error) {
	if comp > Zstd {
		return nil, errors.New("record: unknown compression")
	}
	if opt.Rotate != RotateNone {
		return nil, errors.New("record: rotation needs Create")
	}
	w := newWriter(comp, opt)
	w.dst = dst
	if err := w.openOutput(nil, dst, w.opt.Clock()); err != nil {
		return nil, err
	}
	w.start()
	return w, nil
}

func newWriter(comp Compression, opt Options) *Writer {
	opt = opt.withDefaults()
	return &Writer{
		opt:   opt,
		comp:  comp,
		q:     make(chan *entry, opt.QueueSize),
		nudge: make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		conns: make(map[uint64]openMark),
		line:  make([]byte, 0, 4096),
	}
}

func (w *Writer) start() { go w.run() }

// Tap returns w.Frame as a func value, the shape of the client's frame tap.
func (w *Writer) Tap() func(dir Direction, conn uint64, at time.Time, frame []byte) {
	return w.Frame
}

// Frame records one frame received (In) or sent (Out) at time at on
// connection conn. It copies frame, which may be reused once Frame
// returns, and never blocks: when the queue is full the frame is counted
// as lost. Auth frames are refused later, on the writer goroutine.
func (w *Writer) Frame(dir Direction, conn uint64, at time.Time, frame []byte) {
	e := entryPool.Get().(*entry)
	e.kind, e.dir, e.conn, e.at = KindFrame, dir, conn, at.UnixNano()
	e.buf = append(e.buf[:0], frame...)
	w.enqueue(e)
}

// Open records that connection conn was established to url at time at.
// The URL is redacted (see RedactURL).
func (w *Writer) Open(conn uint64, at time.Time, url string) {
	e := entryPool.Get().(*entry)
	e.kind, e.conn, e.at, e.text = KindOpen, conn, at.UnixNano(), RedactURL(url)
	w.enqueue(e)
}

// Closed records that connection conn ended at time at with the given
// WebSocket close code and reason.
func (w *Writer) Closed(conn uint64, at time.Time, code int, reason string) {
	e := entryPool.Get().(*entry)
	e.kind, e.conn, e.at, e.code, e.text = KindClose, conn, at.UnixNano(), code, reason
	w.enqueue(e)
}

func (w *Writer) enqueue(e *entry) {
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		w.lost.Add(1)
		putEntry(e)
		return
	}
	// Earlier drops ride on the next entry that gets in, so the lost line
	// lands where the gap is.
	if w.pending.Load() != 0 {
		e.lostBefore = w.pending.Swap(0)
	}
	select {
	case w.q <- e:
		w.mu.RUnlock()
		if len(w.q) >= cap(w.q)/2 {
			select {
			case w.nudge <- struct{}{}:
			default:
			}
		}
	default:
		w.mu.RUnlock()
		w.pending.Add(e.lostBefore + 1)
		w.lost.Add(1)
		putEntry(e)
	}
}

// Stats returns the counters so far.
func (w *Writer) Stats() Stats {
	return Stats{
		Written:  w.written.Load(),
		Lost:     w.lost.Load(),
		Redacted: w.redacted.Load(),
		Bytes:    w.nbytes.Load(),
		Files:    w.nfiles.Load(),
	}
}

// Err returns the first write, flush or close error, or nil.
func (w *Writer) Err() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

func (w *Writer) setErr(err error) {
	w.errMu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.errMu.Unlock()
}

// Close writes everything queued, the end line and the compressor's
// trailer, closes the file (not an io.Writer given to NewWriter), and
// returns Err. Frames handed in after Close are counted as lost. Close
// waits for the output: a destination that blocks forever blocks it.
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.stop)
	}
	w.mu.Unlock()
	<-w.done
	return w.Err()
}

// The writer goroutine does not wait on the queue itself: a receiver
// parked on a channel makes every send a goroutine wake-up, several times
// the cost of the copy. It wakes every drainEvery, or when the queue is
// half full, and drains it in a batch; the data waits in buffers for the
// flush anyway.
const drainEvery = 50 * time.Millisecond

func (w *Writer) run() {
	defer close(w.done)
	every := min(w.opt.FlushInterval, drainEvery)
	t := time.NewTicker(every)
	defer t.Stop()
	lastFlush := time.Now()
	for {
		select {
		case <-t.C:
		case <-w.nudge:
		case <-w.stop:
			// closed is set, so nothing more can be queued.
			for len(w.q) > 0 {
				w.handle(<-w.q)
			}
			now := w.opt.Clock()
			if n := w.pending.Swap(0); n > 0 {
				w.writeLost(now, n)
			}
			w.closeOutput(now)
			return
		}
		// At most one queue's worth per round, so a flood cannot starve
		// the flush.
		for n := cap(w.q); n > 0 && len(w.q) > 0; n-- {
			w.handle(<-w.q)
		}
		w.idle()
		// Flush on the last wake-up before the interval is over, so that
		// no line waits longer than FlushInterval.
		if now := time.Now(); now.Sub(lastFlush)+every > w.opt.FlushInterval {
			lastFlush = now
			w.flush()
		}
	}
}

func (w *Writer) handle(e *entry) {
	defer putEntry(e)
	at := time.Unix(0, e.at)
	if w.opt.Rotate != RotateNone && w.out != nil && !at.Before(w.until) {
		w.closeOutput(at)
	}
	if e.lostBefore > 0 {
		w.writeLost(at, e.lostBefore)
	}
	switch e.kind {
	case KindFrame:
		// An outbound frame that is not JSON cannot be checked for a
		// credential, so it is refused too.
		if isAuthFrame(e.buf) || (e.dir == Out && !json.Valid(e.buf)) {
			clear(e.buf) // do not leave a credential in pooled memory
			w.redacted.Add(1)
			return
		}
		w.line = appendFrameLine(w.line[:0], e.at, e.conn, e.dir, e.buf)
		if w.emit(at, w.line) {
			w.written.Add(1)
		} else {
			w.lost.Add(1)
		}
	case KindOpen:
		w.conns[e.conn] = openMark{e.at, e.text}
		w.line = appendOpenLine(w.line[:0], e.at, e.conn, e.text)
		if !w.emit(at, w.line) {
			w.lost.Add(1)
		}
	case KindClose:
		delete(w.conns, e.conn)
		w.line = appendCloseLine(w.line[:0], e.at, e.conn, e.code, e.text)
		if !w.emit(at, w.line) {
			w.lost.Add(1)
		}
	}
}

// idle reports drops no entry carried and ends a rotated file whose
// period is over, both only with the queue empty, lest the lost line or
// the file's end come before lines queued earlier.
func (w *Writer) idle() {
	if len(w.q) != 0 {
		return
	}
	now := w.opt.Clock()
	if n := w.pending.Swap(0); n > 0 {
		w.writeLost(now, n)
	}
	if w.opt.Rotate != RotateNone && w.out != nil && !now.Before(w.until) {
		w.closeOutput(now)
	}
}

func (w *Writer) flush() {
	if w.out != nil && w.out.dirty {
		w.out.dirty = false
		if err := w.out.flush(); err != nil {
			w.setErr(err)
		}
	}
}

func (w *Writer) writeLost(at time.Time, n uint64) {
	w.line = appendLostLine(w.line[:0], at.UnixNano(), n)
	w.emit(at, w.line)
}

// emit writes one line, opening the next rotated file first if needed. It
// reports false when the line did not make it. Opening a file writes lines
// of its own through aux, so line must not be aux.
func (w *Writer) emit(at time.Time, line []byte) bool {
	if w.out == nil {
		// After a failed create, retry once per FlushInterval, not per line.
		if w.path == "" || time.Since(w.openFailed) < w.opt.FlushInterval {
			return false
		}
		if err := w.openFile(at); err != nil {
			w.openFailed = time.Now()
			w.setErr(err)
			return false
		}
	}
	if w.out.err != nil {
		return false
	}
	if _, err := w.out.bw.Write(line); err != nil {
		w.out.err = err
		w.setErr(err)
		return false
	}
	w.out.dirty = true
	return true
}

// openFile creates the file for the period holding at (never one already
// closed) and writes its header and the open lines of live connections.
func (w *Writer) openFile(at time.Time) error {
	name := w.path
	var f *os.File
	var err error
	if w.opt.Rotate == RotateNone {
		f, err = os.Create(name)
	} else {
		if at.Before(w.until) {
			at = w.until
		}
		var start time.Time
		start, w.until = period(at, w.opt.Rotate, w.opt.Location)
		f, err = createExclusive(w.path, w.opt.Rotate, start, w.opt.Location)
	}
	if err != nil {
		return err
	}
	w.nfiles.Add(1)
	if err := w.openOutput(f, f, w.opt.Clock()); err != nil {
		_ = f.Close()
		return err
	}
	for _, conn := range slices.Sorted(maps.Keys(w.conns)) {
		m := w.conns[conn]
		w.aux = appendOpenLine(w.aux[:0], m.at, conn, m.url)
		w.emit(at, w.aux)
	}
	return nil
}

func (w *Writer) openOutput(f *os.File, dst io.Writer, now time.Time) error {
	o := &output{f: f}
	o.cw = countWriter{w: dst, n: &w.nbytes}
	var next io.Writer = &o.cw
	switch w.comp {
	case Gzip:
		gz, err := gzip.NewWriterLevel(&o.cw, gzip.DefaultCompression)
		if err != nil {
			return err
		}
		o.enc, next = gz, gz
	case Zstd:
		// One goroutine-free encoder per file: concurrency 1 encodes
		// synchronously; a 1 MiB window is plenty for line-local repetition
		// and keeps memory small.
		zw, err := zstd.NewWriter(&o.cw, zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(1<<20), zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			return err
		}
		o.enc, next = zw, zw
	}
	o.bw = bufio.NewWriterSize(next, 64<<10)
	w.out = o
	w.aux = appendHeaderLine(w.aux[:0], now.UnixNano(), Header{
		Endpoint: w.opt.Endpoint, Product: w.opt.Product, SDK: w.opt.SDK,
	})
	w.emit(now, w.aux)
	return nil
}

// closeOutput ends the current output with the end line and the
// compressor's trailer, and closes its file.
func (w *Writer) closeOutput(now time.Time) {
	o := w.out
	if o == nil {
		return
	}
	w.aux = appendEndLine(w.aux[:0], now.UnixNano())
	w.emit(now, w.aux)
	w.out = nil
	if o.err == nil {
		if err := o.bw.Flush(); err != nil {
			o.err = err
		} else if o.enc != nil {
			o.err = o.enc.Close()
		}
		if o.err != nil {
			w.setErr(o.err)
		}
	}
	if o.f != nil {
		if err := o.f.Close(); err != nil {
			w.setErr(err)
		}
	}
}

// output is one open file or stream: lines go to bw, then the compressor
// (if any), then cw, which counts bytes and keeps the first error.
type output struct {
	f     *os.File // nil for NewWriter
	cw    countWriter
	enc   encoder
	bw    *bufio.Writer
	dirty bool  // written since the last flush
	err   error // the output is broken: nothing more is written to it
}

type encoder interface {
	io.WriteCloser
	Flush() error
}

func (o *output) flush() error {
	if o.err != nil {
		return nil // already reported
	}
	if err := o.bw.Flush(); err != nil {
		o.err = err
		return err
	}
	if o.enc != nil {
		if err := o.enc.Flush(); err != nil {
			o.err = err
			return err
		}
	}
	return nil
}

type countWriter struct {
	w   io.Writer
	n   *atomic.Uint64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n.Add(uint64(n))
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}
