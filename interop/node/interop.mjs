// Runs the official Node SDK, @fugle/marketdata, against the Go mock
// endpoint: connect and authenticate, subscribe to trades for 2330 and books
// for 2317, wait for data on both, ping with a state and check the pong
// echoes it, then disconnect.
//
//   node interop.mjs ws://127.0.0.1:PORT/marketdata   (or MOCK_URL=... node interop.mjs)
//
// Exits 0 after printing one summary line, or 1 with the reason.
import { isDeepStrictEqual } from 'node:util';
import marketdata from '@fugle/marketdata';

const { WebSocketClient } = marketdata;
const TIMEOUT_MS = 20_000;

const baseUrl = process.argv[2] || process.env.MOCK_URL;
if (!baseUrl) {
  console.error('interop: usage: node interop.mjs <base URL> (or set MOCK_URL)');
  process.exit(1);
}

let finished = false;
function fail(message) {
  if (finished) return;
  finished = true;
  console.error(`interop: FAIL: ${message}`);
  process.exit(1);
}

const timer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS / 1000} s (${progress()})`), TIMEOUT_MS);
process.on('uncaughtException', (err) => fail(`uncaught exception: ${err && err.stack ? err.stack : err}`));
process.on('unhandledRejection', (err) => fail(`unhandled rejection: ${JSON.stringify(err) ?? err}`));

const client = new WebSocketClient({ apiKey: 'interop-key', baseUrl });
const stock = client.stock;
const expectedUrl = `${baseUrl.replace(/\/+$/, '')}/v1.0/stock/streaming`;
if (stock.url !== expectedUrl) {
  fail(`the SDK composed ${stock.url}, expected ${expectedUrl}`);
}

const wanted = [
  { channel: 'trades', symbol: '2330' },
  { channel: 'books', symbol: '2317' },
];
const ids = new Map();    // "channel/symbol" -> subscription id
const counts = new Map(); // "channel/symbol" -> data frames seen
let frames = 0;
let heartbeats = 0;
let expectingDisconnect = false;
const pingState = { nonce: Math.random().toString(36).slice(2), list: [1, 'two', null] };
let resolvePong;
const pong = new Promise((resolve) => { resolvePong = resolve; });
let resolveData;
const dataSeen = new Promise((resolve) => { resolveData = resolve; });

function progress() {
  return wanted.map(({ channel, symbol }) => `${channel}/${symbol}: ${counts.get(`${channel}/${symbol}`) ?? 0} data`).join(', ');
}

stock.on('message', (raw) => {
  frames++;
  let msg;
  try {
    msg = JSON.parse(String(raw));
  } catch (err) {
    fail(`not JSON: ${raw}`);
    return;
  }
  switch (msg.event) {
    case 'subscribed': {
      const acks = Array.isArray(msg.data) ? msg.data : [msg.data];
      for (const ack of acks) {
        if (!ack || typeof ack.id !== 'string' || !ack.id) fail(`ack without id: ${raw}`);
        ids.set(`${ack.channel}/${ack.symbol}`, ack.id);
      }
      break;
    }
    case 'snapshot':
    case 'data': {
      const key = `${msg.channel}/${msg.data && msg.data.symbol}`;
      if (!ids.has(key)) fail(`${msg.event} before its ack: ${raw}`);
      if (ids.get(key) !== msg.id) fail(`${msg.event} with id ${msg.id}, ack said ${ids.get(key)}`);
      if (msg.event === 'data') {
        if (msg.channel === 'trades' && typeof msg.data.price !== 'number') fail(`trade without price: ${raw}`);
        if (msg.channel === 'books' && !(Array.isArray(msg.data.bids) && msg.data.bids.length === 5)) fail(`books without 5 bids: ${raw}`);
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (wanted.every(({ channel, symbol }) => (counts.get(`${channel}/${symbol}`) ?? 0) >= 1)) resolveData();
      }
      break;
    }
    case 'pong':
      resolvePong(msg);
      break;
    case 'heartbeat':
      heartbeats++;
      break;
    case 'error':
      fail(`server error: ${raw}`);
      break;
    default:
      break;
  }
});
stock.on('error', (err) => fail(`socket error: ${err && err.message ? err.message : err}`));
stock.on('disconnect', (event) => {
  if (!expectingDisconnect) fail(`disconnected unexpectedly: code ${event && event.code} ${event && event.reason}`);
});

try {
  await stock.connect();
} catch (err) {
  fail(`authentication failed: ${JSON.stringify(err)}`);
}
for (const sub of wanted) stock.subscribe(sub);
await dataSeen;

stock.ping({ state: pingState });
const reply = await pong;
if (!reply.data || !isDeepStrictEqual(reply.data.state, pingState)) {
  fail(`pong did not echo the state: sent ${JSON.stringify(pingState)}, got ${JSON.stringify(reply)}`);
}
if (typeof reply.data.time !== 'number' && typeof reply.data.time !== 'string') {
  fail(`pong without time: ${JSON.stringify(reply)}`);
}

expectingDisconnect = true;
const closed = new Promise((resolve) => stock.once('disconnect', resolve));
stock.disconnect();
const closeEvent = await closed;
clearTimeout(timer);
if (!finished) {
  finished = true;
  console.log(`interop: OK: @fugle/marketdata at ${stock.url}: authenticated, ${progress()}, pong echoed state, ${frames} frames, ${heartbeats} heartbeats, closed with code ${closeEvent.code}`);
  process.exit(0);
}
