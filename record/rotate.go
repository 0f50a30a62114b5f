package record

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

var suffixes = [...]struct {
	ext  string
	comp Compression
}{{".ndjson.gz", Gzip}, {".ndjson.zst", Zstd}, {".ndjson", None}}

// splitSuffix returns the compression a name asks for and the name without
// its suffix.
func splitSuffix(name string) (Compression, string, bool) {
	for _, s := range suffixes {
		if stem, ok := strings.CutSuffix(name, s.ext); ok && stem != "" && !strings.HasSuffix(stem, string(os.PathSeparator)) {
			return s.comp, stem, true
		}
	}
	return None, "", false
}

// period returns the rotation period holding t: its start and its end.
// Hours are cut on the zone's offset at t, not by time.Date, so that a
// repeated hour at a DST change is a period of its own and periods always
// move forward.
func period(t time.Time, r Rotation, loc *time.Location) (start, end time.Time) {
	t = t.In(loc)
	if r == RotateDaily {
		y, m, d := t.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	}
	_, off := t.Zone()
	shift := time.Duration(off) * time.Second
	start = t.Add(shift).Truncate(time.Hour).Add(-shift).In(loc)
	return start, start.Add(time.Hour)
}

// RotatedName returns the name of the file Create uses for the period
// starting at start: the period is inserted before the suffix. It returns
// name unchanged for RotateNone.
func RotatedName(name string, r Rotation, start time.Time) string {
	if r == RotateNone {
		return name
	}
	_, stem, ok := splitSuffix(name)
	if !ok {
		return name
	}
	layout := "2006-01-02T15"
	if r == RotateDaily {
		layout = "2006-01-02"
	}
	return stem + "-" + start.Format(layout) + name[len(stem):]
}

// createExclusive creates the period's file, never reusing an existing
// one: a restart within the hour, or an hour repeated by DST, gets a new
// name with ".1", ".2", ... before the suffix.
func createExclusive(name string, r Rotation, start time.Time, loc *time.Location) (*os.File, error) {
	base := RotatedName(name, r, start.In(loc))
	_, stem, _ := splitSuffix(base)
	ext := base[len(stem):]
	for i := 0; ; i++ {
		p := base
		if i > 0 {
			p = stem + "." + strconv.Itoa(i) + ext
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil || !errors.Is(err, fs.ErrExist) || i >= 1000 {
			return f, err
		}
	}
}
