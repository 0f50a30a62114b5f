// Package natsbus fans the Fugle feed out over NATS JetStream: one
// Gateway holds the Fugle connections an API key allows and republishes
// the feed, and any number of Clients, in any process on any machine that
// reaches the NATS servers, read it through the same marketdata.Stream API
// as the WebSocket client.
//
// Routing, persistence, replay, clustering and backpressure are NATS's:
//
//   - Every data frame is published byte for byte on
//     <prefix>.<product>.<channel>.<symbol>, with "oddlot" or "afterhours"
//     as a last token for those sessions (fugle.stock.trades.2330,
//     fugle.stock.trades.2330.oddlot, fugle.futopt.books.TXFA6.afterhours),
//     into one stream (FUGLE by default) that keeps a trading day.
//   - Each frame's message id is derived from its data, not its envelope,
//     so the same frame published twice (by a second gateway, or after a
//     restart) is stored once: JetStream drops the duplicate.
//   - When a Fugle connection drops, a gap marker (header Fugle-Marker:
//     gap-start) follows the last frame on the subject of every key it
//     carried, and another (gap-end) precedes the first frame once the key
//     is back. Clients deliver them as marketdata.Gap events in place.
//   - Clients ask for keys with a request on <prefix>.control.subscribe
//     and keep a lease by publishing their whole set on
//     <prefix>.control.renew; the gateway subscribes a key at Fugle while
//     any client holds it and unsubscribes it when the last one releases
//     it or its lease lapses. A gateway that restarts, or a second one,
//     learns the sets from the renewals.
//   - Each client reads through its own JetStream pull consumer: a slow
//     one holds back only itself. A live client starts at Connect; a
//     durable one (ClientOption.Durable) resumes where it stopped.
//   - The gateway's own events go, as JSON, to
//     <prefix>.gateway.<name>.events; its metrics to Prometheus.
//
// Fugle's terms allow fanning a feed out to your own processes, not
// redistributing it to others: keep the NATS servers to yourself.
package natsbus
