package marketdatatest

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The simulated session's times never run ahead of the clock: before 09:00
// Taipei the session that opened is yesterday's.
func TestFeedTimesNeverAheadOfTheClock(t *testing.T) {
	for _, hhmm := range [][2]int{{0, 30}, {8, 59}, {9, 0}, {13, 30}, {23, 59}} {
		now := time.Date(2026, 12, 2, hhmm[0], hhmm[1], 0, 0, taipei)
		m := newMarket(marketKey{product: "stock", symbol: "2330"}, now, rand.New(rand.NewPCG(1, 2)))
		if open := time.UnixMicro(m.openTime); open.After(now) || now.Sub(open) > 24*time.Hour || open.In(taipei).Hour() != 9 {
			t.Errorf("at %s the session opened %s", now.Format("15:04"), open.In(taipei).Format(time.DateTime))
		}
		if last := time.UnixMicro(m.lastTime); last.After(now) {
			t.Errorf("at %s the last trade is stamped %s", now.Format("15:04"), last.In(taipei).Format(time.DateTime))
		}
	}
}
