package messages

// Message is any decoded frame: *Trade, *Candle, *Book, *Aggregate, *Index,
// *ErrorFrame, *Heartbeat, *Pong, *Authenticated, *AckFrame or *Unknown.
type Message interface {
	Kind() Kind
}

// AckFrame is a decoded "subscribed" or "unsubscribed" frame.
type AckFrame struct {
	Unsubscribed bool // false for "subscribed"
	Acks         []Ack
}

// Kind returns KindSubscribed or KindUnsubscribed.
func (a *AckFrame) Kind() Kind {
	if a.Unsubscribed {
		return KindUnsubscribed
	}
	return KindSubscribed
}

// Unknown is a frame passed through undecoded: an event this package does
// not know, the reply to "subscriptions", or a data frame whose channel is
// missing or unknown.
type Unknown struct {
	Event string
	Raw   []byte // a copy of the whole frame
}

// Kind returns KindSubscriptions for the reply to "subscriptions" and
// KindUnknown for anything else.
func (u *Unknown) Kind() Kind {
	if u.Event == "subscriptions" {
		return KindSubscriptions
	}
	return KindUnknown
}

// Decode decodes one frame of any kind. It is a convenience for tools,
// tests and fuzzing and allocates freely; a streaming reader should keep a
// Decoder and call its methods instead. Data and snapshot frames are routed
// by their top-level channel; one whose channel is missing or unknown
// decodes as *Unknown, not as an error. Nothing in the result aliases raw.
func Decode(raw []byte) (Message, error) {
	d := Decoder{noIntern: true}
	f, err := d.Frame(raw)
	if err != nil {
		return nil, err
	}
	switch f.Kind {
	case KindData, KindSnapshot:
		switch f.Channel {
		case ChannelTrades:
			m := new(Trade)
			return decoded(m, d.Trade(&f, m))
		case ChannelCandles:
			m := new(Candle)
			return decoded(m, d.Candle(&f, m))
		case ChannelBooks:
			m := new(Book)
			return decoded(m, d.Book(&f, m))
		case ChannelAggregates:
			m := new(Aggregate)
			return decoded(m, d.Aggregate(&f, m))
		case ChannelIndices:
			m := new(Index)
			return decoded(m, d.Index(&f, m))
		}
	case KindError:
		m := new(ErrorFrame)
		return decoded(m, d.Error(&f, m))
	case KindHeartbeat:
		m := new(Heartbeat)
		return decoded(m, d.Heartbeat(&f, m))
	case KindPong:
		m := new(Pong)
		return decoded(m, d.Pong(&f, m))
	case KindAuthenticated:
		m := new(Authenticated)
		return decoded(m, d.Authenticated(&f, m))
	case KindSubscribed, KindUnsubscribed:
		m := &AckFrame{Unsubscribed: f.Kind == KindUnsubscribed}
		acks, err := d.Acks(&f, nil)
		m.Acks = acks
		return decoded(m, err)
	}
	return &Unknown{Event: f.Event, Raw: append([]byte(nil), raw...)}, nil
}

func decoded(m Message, err error) (Message, error) {
	if err != nil {
		return nil, err
	}
	return m, nil
}
