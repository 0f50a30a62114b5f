// Receives a stream with the official Node SDK (@fugle/marketdata) the way
// its users must: every 'message' is a raw string, parsed with JSON.parse in
// the handler. Counts data messages until n, then prints one JSON line:
// {"messages": n, "elapsed_ns": "<first message to the nth>",
//  "startup_cpu_us": <process.cpuUsage() user+system at the first message>}.
// The bench takes startup_cpu_us (node's start, loading the SDK, connecting)
// out of the process's CPU, keeping what the stream cost.
//
//   node throughput.mjs '{"baseUrl":"ws://127.0.0.1:PORT/marketdata","n":1000000,
//                         "moduleDir":"/path/to/interop/node","subs":[{"channel":"trades","symbols":[...]}]}'
//
// moduleDir is a folder whose node_modules holds the pinned SDK
// (interop/node after `npm ci` there).
import { createRequire } from 'node:module';
import path from 'node:path';

const cfg = JSON.parse(process.argv[2]);
const require = createRequire(path.join(path.resolve(cfg.moduleDir), 'package.json'));
const { WebSocketClient } = require('@fugle/marketdata');

const fail = (why) => {
  console.error(`node-sdk: ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail(`timed out with ${count} of ${cfg.n} messages`), cfg.timeoutMs);

const client = new WebSocketClient({ apiKey: 'bench', baseUrl: cfg.baseUrl });
const stock = client.stock;
let count = 0;
let first = 0n;
let startupCPU = 0;
let sum = 0;
let acks = 0;
stock.on('message', (raw) => {
  const msg = JSON.parse(raw);
  if (msg.event !== 'data') {
    if (msg.event === 'subscribed') acks++;
    return;
  }
  if (count === 0) {
    first = process.hrtime.bigint();
    const u = process.cpuUsage();
    startupCPU = u.user + u.system;
  }
  count++;
  sum += msg.data.symbol.length; // touch the value, as a consumer would
  if (count === cfg.n) {
    const elapsed = process.hrtime.bigint() - first;
    clearTimeout(timer);
    stock.once('disconnect', () => {
      console.log(JSON.stringify({ messages: count, elapsed_ns: String(elapsed), startup_cpu_us: startupCPU, checksum: sum, acks }));
      process.exit(0);
    });
    stock.disconnect();
  }
});
stock.on('error', (err) => fail(`socket error: ${err && err.message ? err.message : err}`));

try {
  await stock.connect();
} catch (err) {
  fail(`authentication failed: ${JSON.stringify(err)}`);
}
for (const sub of cfg.subs) stock.subscribe({ channel: sub.channel, symbols: sub.symbols });
