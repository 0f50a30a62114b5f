package natsbus

import "testing"

// The stream sequence comes from both forms of JetStream's ack subject;
// anything else is refused, so the reader falls back to Metadata.
func TestStreamSeqReadsBothAckSubjectForms(t *testing.T) {
	for _, c := range []struct {
		reply string
		seq   uint64
		ok    bool
	}{
		{"$JS.ACK.FUGLE.c1.1.42.7.1700000000000000000.0", 42, true},
		{"$JS.ACK._.ACCHASH.FUGLE.c1.1.43.8.1700000000000000000.5.abc", 43, true},
		{"$JS.ACK.hub.ACCHASH.FUGLE.c1.2.44.9.1700000000000000000.0", 44, true},
		{"$JS.ACK.FUGLE.c1.1.x.7.1700000000000000000.0", 0, false},
		{"$JS.ACK.FUGLE.c1.1.42.7.17", 0, false},
		{"$JS.ACK._.ACCHASH.FUGLE.c1.1.43.8.1700000000000000000", 0, false},
		{"_INBOX.abc.1", 0, false},
		{"", 0, false},
	} {
		seq, ok := streamSeq(c.reply)
		if seq != c.seq || ok != c.ok {
			t.Errorf("streamSeq(%q) = %d, %v; want %d, %v", c.reply, seq, ok, c.seq, c.ok)
		}
	}
}
