package record

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors from a Reader are *LineError values wrapping one
// of these; test with errors.Is.
var (
	// ErrTruncated: the recording ends before its end line, mid-line or
	// mid-stream. Every complete line before the cut was returned.
	ErrTruncated = errors.New("record: truncated")
	// ErrSyntax: a line is not a JSON object of this format.
	ErrSyntax = errors.New("record: malformed line")
	// ErrLineTooLong: a line exceeds the reader's limit (see MaxLineSize).
	ErrLineTooLong = errors.New("record: line too long")
	// ErrNoHeader: the first line is not a header.
	ErrNoHeader = errors.New("record: no header line")
	// ErrVersion: the header names a format version this package cannot read.
	ErrVersion = errors.New("record: unsupported format version")
	// ErrCorrupt: the compressed stream is damaged (not merely cut short).
	ErrCorrupt = errors.New("record: corrupt compressed stream")
	// ErrSuffix: Create was given a name whose suffix picks no format.
	ErrSuffix = errors.New(`record: file name must end in ".ndjson", ".ndjson.gz" or ".ndjson.zst"`)
	// ErrClosed: the Writer was closed.
	ErrClosed = errors.New("record: writer closed")
)

// LineError says where in a recording reading failed. Line is the 1-based
// number of the line that could not be read, Offset the byte offset of its
// start in the decompressed stream. Err wraps a sentinel above and, where
// there is one, the underlying cause.
type LineError struct {
	Line   int
	Offset int64
	Err    error
}

// Error reads like "record: truncated: unexpected EOF, at line 12 (byte offset 3456)".
func (e *LineError) Error() string {
	return fmt.Sprintf("%v, at line %d (byte offset %d)", e.Err, e.Line, e.Offset)
}

// Unwrap returns the wrapped errors.
func (e *LineError) Unwrap() error { return e.Err }
