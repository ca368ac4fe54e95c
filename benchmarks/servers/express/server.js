// Benchmark server: express, written the way the source article writes SSE
// (res.write per event, no await: Node queues the bytes and they coalesce).
// Serves the same contract as benchmarks/common.py describes.
'use strict';
const express = require('express');

const PAYLOAD = 'abcdefghijklmnopqrstuvwxyz0123456789ABCD';
const DONE = '[DONE]';
const port = Number(process.argv[process.argv.indexOf('--port') + 1] || 8765);
const host = process.argv.includes('--host') ? process.argv[process.argv.indexOf('--host') + 1] : '127.0.0.1';

const app = express();
const subscribers = new Set();
let published = 0;
let timer = null;

const monotonicNs = () => process.hrtime.bigint().toString(); // CLOCK_MONOTONIC on Linux

function sseHeaders(res) {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    'X-Accel-Buffering': 'no',
    Connection: 'keep-alive',
  });
  res.socket.setNoDelay(true);
}

function intArg(req, name, dflt) {
  const raw = req.query[name];
  if (raw === undefined) return dflt;
  if (!/^[0-9]+$/.test(raw)) return null;
  return Number(raw);
}

app.get('/stream', (req, res) => {
  const n = intArg(req, 'n', 1000);
  if (n === null) return res.status(400).type('text/plain').send('n must be an integer');
  sseHeaders(res);
  let i = 0;
  let closed = false;
  req.on('close', () => { closed = true; });
  // Write until the socket's buffer is full, then wait for 'drain': the
  // idiomatic Node back-pressure loop.
  function pump() {
    while (i < n && !closed) {
      const ok = res.write(`data: ${i} ${PAYLOAD}\n\n`);
      i += 1;
      if (!ok) return res.once('drain', pump);
    }
    if (!closed) { res.write(`data: ${DONE}\n\n`); res.end(); }
  }
  pump();
});

app.get('/paced', (req, res) => {
  const n = intArg(req, 'n', 100);
  const interval = Number(req.query.interval || '0.01');
  if (n === null || !Number.isFinite(interval) || interval < 0) {
    return res.status(400).type('text/plain').send('n and interval must be numbers');
  }
  sseHeaders(res);
  let i = 0;
  let t = null;
  req.on('close', () => clearTimeout(t));
  function tick() {
    if (i < n) {
      res.write(`data: ${i} ${monotonicNs()}\n\n`);
      i += 1;
      t = setTimeout(tick, interval * 1000);
    } else {
      res.write(`data: ${DONE}\n\n`);
      res.end();
    }
  }
  tick();
});

app.get('/tail', (req, res) => {
  const n = intArg(req, 'n', 200);
  const intervalMs = Number(req.query.interval_ms || '5');
  if (n === null || !Number.isFinite(intervalMs) || intervalMs < 0) {
    return res.status(400).type('text/plain').send('n and interval_ms must be numbers');
  }
  sseHeaders(res);
  let k = 0;
  let t = null;
  req.on('close', () => clearTimeout(t));
  function tick() {
    if (k < n) {
      res.write(`id: ${k}\ndata: ${JSON.stringify({ k, t: Number(process.hrtime.bigint()) })}\n\n`);
      k += 1;
      t = setTimeout(tick, intervalMs);
    } else {
      res.write(`data: ${DONE}\n\n`);
      res.end();
    }
  }
  tick();
});

app.get('/subscribe', (req, res) => {
  sseHeaders(res);
  res.write(': subscribed\n\n');
  subscribers.add(res);
  req.on('close', () => subscribers.delete(res));
});

function publish() {
  const frame = `data: ${published} ${monotonicNs()}\n\n`;
  published += 1;
  for (const res of subscribers) res.write(frame);
}

// Drift-free, like every other server's publisher (benchmarks/common.py):
// ticks at start + k * period; a tick that comes too late skips the missed
// ones. (setInterval re-arms after each callback, so its period creeps.)
function startPublisher(periodMs) {
  let next = performance.now() + periodMs;
  const tick = () => {
    publish();
    const now = performance.now();
    next += periodMs;
    if (next <= now) next += (Math.floor((now - next) / periodMs) + 1) * periodMs;
    timer = setTimeout(tick, Math.max(0, next - now));
  };
  timer = setTimeout(tick, periodMs);
}

app.post('/publisher', (req, res) => {
  let period = Number(req.query.period || '0.1');
  if (!(period >= 0.001 && period <= 60)) period = 0.1;
  if (timer) clearTimeout(timer);
  startPublisher(period * 1000);
  res.json({ period });
});

app.delete('/publisher', (req, res) => {
  if (timer) clearTimeout(timer);
  timer = null;
  res.json({ stopped: true });
});

app.get('/stats', (req, res) => {
  const cpu = process.cpuUsage();
  res.json({
    server: 'express',
    subscribers: subscribers.size,
    published,
    rss_bytes: process.memoryUsage.rss(),
    cpu_s: (cpu.user + cpu.system) / 1e6,
    loop: 'node',
    pid: process.pid,
    node: process.version,
  });
});

const server = app.listen(port, host, () => {
  console.log(`express benchmark server on http://${host}:${port}`);
});
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;
server.requestTimeout = 0; // SSE streams are long-lived
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => { server.close(); process.exit(0); });
}
