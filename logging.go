package marketdata

import (
	"context"
	"log/slog"
)

// logEvent writes e to the Logger, if any: Info for the connection's life,
// Warn for what loses data or needs attention, Debug for the routine.
// Events hold no credential, so neither do the records.
func logEvent(l *slog.Logger, e Event) {
	if l == nil {
		return
	}
	ctx := context.Background()
	switch e := e.(type) {
	case Connected:
		l.LogAttrs(ctx, slog.LevelInfo, "marketdata: connected", slog.Uint64("conn", e.Conn), slog.String("url", redactURL(e.URL)))
	case Authenticated:
		l.LogAttrs(ctx, slog.LevelInfo, "marketdata: authenticated", slog.Uint64("conn", e.Conn))
	case Disconnected:
		level := slog.LevelInfo
		if e.Err != nil {
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{slog.Uint64("conn", e.Conn), slog.Int("code", e.Code), slog.Bool("willReconnect", e.WillReconnect), slog.Duration("uptime", e.Uptime)}
		if e.Reason != "" {
			attrs = append(attrs, slog.String("reason", e.Reason))
		}
		if e.Err != nil {
			attrs = append(attrs, slog.String("err", e.Err.Error()))
		}
		l.LogAttrs(ctx, level, "marketdata: disconnected", attrs...)
	case Reconnecting:
		attrs := []slog.Attr{slog.Int("attempt", e.Attempt), slog.Duration("delay", e.Delay)}
		if e.Err != nil {
			attrs = append(attrs, slog.String("err", e.Err.Error()))
		}
		l.LogAttrs(ctx, slog.LevelWarn, "marketdata: retrying", attrs...)
	case Reconnected:
		l.LogAttrs(ctx, slog.LevelInfo, "marketdata: reconnected", slog.Uint64("conn", e.Conn), slog.Int("attempts", e.Attempts), slog.Duration("downtime", e.Downtime))
	case Resubscribed:
		level := slog.LevelInfo
		if len(e.Failed) > 0 || len(e.Unconfirmed) > 0 {
			level = slog.LevelWarn
		}
		l.LogAttrs(ctx, level, "marketdata: resubscribed", slog.Uint64("conn", e.Conn), slog.Int("restored", len(e.Restored)),
			slog.Int("failed", len(e.Failed)), slog.Int("unconfirmed", len(e.Unconfirmed)))
	case Dropped:
		l.LogAttrs(ctx, slog.LevelWarn, "marketdata: dropped values", slog.String("channel", e.Channel), slog.String("policy", e.Policy.String()),
			slog.Uint64("count", e.Count), slog.Uint64("total", e.Total), slog.Duration("duration", e.Duration))
	case Backfilled:
		level := slog.LevelInfo
		attrs := []slog.Attr{slog.Uint64("conn", e.Conn), slog.String("subscription", e.Subscription.String()), slog.Int("count", e.Count), slog.Bool("complete", e.Complete)}
		if e.Err != nil {
			level = slog.LevelWarn
			attrs = append(attrs, slog.String("err", e.Err.Error()))
		}
		l.LogAttrs(ctx, level, "marketdata: backfilled", attrs...)
	case ErrorEvent:
		l.LogAttrs(ctx, slog.LevelWarn, "marketdata: error", slog.Uint64("conn", e.Conn), slog.String("err", e.Err.Error()))
	case Heartbeat:
		l.LogAttrs(ctx, slog.LevelDebug, "marketdata: heartbeat", slog.Uint64("conn", e.Conn), slog.Int64("time", int64(e.Time)))
	case Pong:
		l.LogAttrs(ctx, slog.LevelDebug, "marketdata: pong", slog.Uint64("conn", e.Conn))
	case Unknown:
		l.LogAttrs(ctx, slog.LevelDebug, "marketdata: unknown event", slog.Uint64("conn", e.Conn), slog.String("event", e.Event))
	}
}

// logRefused warns of subscriptions the server refused or left unconfirmed.
func (c *WebSocketClient) logRefused(conn uint64, failed []SubscriptionFailure, unconfirmed []Subscription) {
	l := c.opt.Logger
	if l == nil {
		return
	}
	for _, f := range failed {
		l.LogAttrs(context.Background(), slog.LevelWarn, "marketdata: subscription refused", slog.Uint64("conn", conn),
			slog.String("subscription", f.Subscription.String()), slog.String("err", f.Err.Error()))
	}
	for _, u := range unconfirmed {
		l.LogAttrs(context.Background(), slog.LevelWarn, "marketdata: subscription not confirmed", slog.Uint64("conn", conn), slog.String("subscription", u.String()))
	}
}

// logFrame writes a frame at Debug, when the Logger asks for Debug. The
// auth frame never comes here.
func logFrame(l *slog.Logger, dir string, conn uint64, frame []byte) {
	if l == nil || !l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	const max = 512
	text := frame
	if len(text) > max {
		text = text[:max]
	}
	l.LogAttrs(context.Background(), slog.LevelDebug, "marketdata: frame", slog.String("dir", dir), slog.Uint64("conn", conn),
		slog.Int("bytes", len(frame)), slog.String("frame", string(text)))
}
