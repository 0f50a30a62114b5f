package messages

import "testing"

// BenchmarkScan measures the validating scan alone (scanEnvelope and
// skipValue), which BenchmarkDecode never reaches: Frame defers the data of
// a frame laid out the way the server writes it. The scan runs on every
// control frame, and on every data frame laid out any other way.
func BenchmarkScan(b *testing.B) {
	frames := []struct{ name, raw string }{
		{"heartbeat", sampleHeartbeat},
		{"subscribed", sampleSubscribed},
	}
	for _, name := range []string{"stock_trades", "stock_books", "stock_aggregates", "futopt_trades"} {
		frames = append(frames, struct{ name, raw string }{name, string(loadSample(b, name))})
	}
	for _, f := range frames {
		b.Run(f.name, func(b *testing.B) {
			d := NewDecoder()
			d.noDefer = true
			buf := []byte(f.raw)
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.Frame(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
