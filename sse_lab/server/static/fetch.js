// fetch.js -- the fetch chat page: POST + ReadableStream + a spec-following parser,
// Stop through AbortController, and every timing reported back to the lab.
//
// window.sseLab holds what the page measured (tests and the devtools console read it).
// ?prompt=&seed=&speed=&autostart=1 starts at once; &stop_after=N clicks Stop
// after N tokens; &then_stop_after=N runs a complete answer first, then a
// stopped one (the notebook and the tests use them).

import { EventStreamParser } from "./sse-parser.js";
import { ms, postHeaders, report, stats } from "./report.js";
import { N_, t } from "./i18n.js";

const form = document.getElementById("form");
const answer = document.getElementById("answer");
const statusEl = document.getElementById("status");
const metrics = document.getElementById("metrics");
const sendBtn = document.getElementById("send");
const stopBtn = document.getElementById("stop");

const lab = (window.sseLab = { state: "idle", reports: [] });
let controller = null;
let stopAfter = null;
let requestId = null;
// ?cancel=0: Stop only aborts the fetch (no POST cancel), to see what a
// proxy that does not pass the disconnect on does to the model.
const sendCancel = new URLSearchParams(location.search).get("cancel") !== "0";

function randomId() {
  // crypto.randomUUID() needs a secure context; getRandomValues does not.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function reset(values) {
  Object.assign(lab, {
    state: "connecting", prompt: values.prompt, seed: values.seed, speed: values.speed,
    text: "", tokens: [], times: [], events: 0, start: performance.now(),
    ttfb: null, firstByte: null, firstToken: null, done: false, stopped: false, error: null,
    stopAt: null, tokensAtStop: null, abortToStopMs: null, eventsSent: null,
    eventsAfterStop: null, tasksBefore: null, tasksAfterStop: null, finishReason: null,
    cancelled: null, finished: false,
  });
  answer.replaceChildren();
}

// The states lab.state takes (English, for tests); shown translated.
N_("idle"); N_("connecting"); N_("streaming"); N_("done"); N_("ended without [DONE]");
N_("stopped"); N_("error");

function setStatus(state) {
  lab.state = state;
  const b = document.createElement("b");
  b.textContent = t(state);
  const parts = [t("{n} tokens", { n: lab.tokens.length })];
  if (lab.firstToken !== null) parts.unshift(t("first token {ms:.0f} ms", { ms: lab.firstToken }));
  if (lab.abortToStopMs !== null) parts.push(t("server stopped {ms:.1f} ms after Stop", { ms: lab.abortToStopMs }));
  statusEl.replaceChildren(b, " · " + parts.join(" · "));  // text nodes, never HTML
}

function showMetrics() {
  const rows = [
    [t("response headers (TTFB)"), lab.ttfb], [t("first body bytes"), lab.firstByte],
    [t("first token"), lab.firstToken],
    [t("last token"), lab.times.length ? lab.times[lab.times.length - 1] : null],
    [t("abort → server stopped"), lab.abortToStopMs],
  ];
  metrics.replaceChildren(...rows.map(([name, v]) => {
    const row = document.createElement("tr");
    const a = document.createElement("td"), b = document.createElement("td");
    a.textContent = name;
    b.textContent = v === null ? "–" : `${v.toFixed(1)} ms`;
    row.append(a, b);
    return row;
  }));
}

function onEvent(event, now) {
  lab.events += 1;
  if (event.data === "[DONE]") { lab.done = true; return; }
  let chunk;
  try { chunk = JSON.parse(event.data); } catch (e) { return; }
  const choice = chunk.choices && chunk.choices[0];
  if (!choice) return;  // the usage-only chunk
  if (choice.finish_reason) lab.finishReason = choice.finish_reason;
  const content = choice.delta && choice.delta.content;
  if (!content) return;
  if (lab.firstToken === null) lab.firstToken = now;
  lab.tokens.push(content);
  lab.times.push(now);
  lab.text += content;
  answer.textContent = lab.text;  // model output is text, never HTML
  if (stopAfter !== null && lab.tokens.length >= stopAfter) {
    stopAfter = null;
    queueMicrotask(stop);
  }
}

async function send(values) {
  if (controller) controller.abort();
  reset(values);
  setStatus("connecting");
  sendBtn.disabled = true;
  stopBtn.disabled = false;
  try {
    lab.tasksBefore = (await stats()).generation_tasks;
  } catch (e) { lab.tasksBefore = 0; }
  const eventsBefore = await stats().then((s) => s.events_sent, () => null);
  const body = {
    model: "sse-lab-sim", stream: true, seed: Number(values.seed) || 0,
    messages: [{ role: "user", content: values.prompt }],
  };
  if (values.speed) body.speed = Number(values.speed);
  controller = new AbortController();
  requestId = randomId();
  const t0 = (lab.start = performance.now());
  try {
    // Accept: text/event-stream also tells jupyter-server-proxy to stream, not buffer.
    const res = await fetch("v1/chat/completions", {
      method: "POST", body: JSON.stringify(body), signal: controller.signal, cache: "no-store",
      headers: postHeaders({ Accept: "text/event-stream", "X-SSE-Lab-Request": requestId }),
    });
    lab.ttfb = performance.now() - t0;
    const type = res.headers.get("Content-Type") || "";
    if (!res.ok || !type.startsWith("text/event-stream")) {
      throw new Error(`HTTP ${res.status} ${type}: ${(await res.text()).slice(0, 300)}`);
    }
    setStatus("streaming");
    const reader = res.body.getReader();
    const parser = new EventStreamParser();
    for (;;) {
      const { done, value } = await reader.read();
      const now = performance.now() - t0;
      if (!done && lab.firstByte === null) lab.firstByte = now;
      for (const e of done ? parser.close() : parser.feed(value)) onEvent(e, now);
      if (done) break;
      if (lab.tokens.length % 4 === 0) setStatus("streaming");
    }
    setStatus(lab.done ? "done" : "ended without [DONE]");
  } catch (e) {
    if (e.name === "AbortError") {
      lab.stopped = true;
      setStatus("stopped");  // the partial answer stays on the page
    } else {
      lab.error = String(e.message || e);
      const note = document.createElement("div");
      note.className = "bad";
      note.textContent = lab.error;
      answer.appendChild(note);
      setStatus("error");
    }
  } finally {
    controller = null;
    sendBtn.disabled = false;
    stopBtn.disabled = true;
  }
  if (lab.stopped) {
    await measureStop(eventsBefore);
    lab.cancelled = await lab.cancelled;  // true: the server was still generating
  }
  showMetrics();
  setStatus(lab.state);
  const seq = await report("fetch", {
    kind: lab.stopped ? "stopped" : "completed", prompt: lab.prompt, seed: lab.seed,
    speed: lab.speed, ttfbMs: ms(lab.ttfb), firstByteMs: ms(lab.firstByte),
    firstTokenMs: ms(lab.firstToken), arrivalsMs: lab.times.map(ms), tokens: lab.tokens.length,
    texts: lab.tokens,
    done: lab.done, stopped: lab.stopped, stopAtMs: ms(lab.stopAt), tokensAtStop: lab.tokensAtStop,
    abortToStopMs: ms(lab.abortToStopMs), eventsSent: lab.eventsSent, eventsReceived: lab.events,
    eventsAfterStop: lab.eventsAfterStop, tasksAfterStop: lab.tasksAfterStop, error: lab.error,
    cancelSent: sendCancel, cancelFoundStream: lab.cancelled,
  });
  lab.reports.push(seq);
  lab.finished = true;
}

// After abort(): poll /stats until the server's live generation tasks are back
// to what they were before Send. The time that took (one /stats round trip
// included, so an upper bound) is the abort-to-stop latency.
async function measureStop(eventsBefore) {
  const tAbort = lab.start + lab.stopAt;
  const deadline = performance.now() + 5000;
  let s = null;
  while (performance.now() < deadline) {
    s = await stats();
    if (s.generation_tasks <= lab.tasksBefore) break;
  }
  lab.abortToStopMs = performance.now() - tAbort;
  lab.tasksAfterStop = s ? s.generation_tasks : null;
  if (s && eventsBefore !== null) {
    lab.eventsSent = s.events_sent - eventsBefore;
    lab.eventsAfterStop = Math.max(0, lab.eventsSent - lab.events);
  }
}

function stop() {
  if (!controller) return;
  lab.stopAt = performance.now() - lab.start;
  lab.tokensAtStop = lab.tokens.length;
  controller.abort();
  // Closing the connection stops the model when the page talks to the lab
  // server directly. A proxy may keep its own upstream request open (as
  // jupyter-server-proxy does), so say it in words too, by the request's id.
  if (sendCancel) {
    lab.cancelled = fetch("cancel", {
      method: "POST", headers: postHeaders(), body: JSON.stringify({ request: requestId }),
      keepalive: true,
    }).then((r) => r.json()).then((j) => j.cancelled, () => null);
  }
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  send(Object.fromEntries(new FormData(form)));
});
stopBtn.addEventListener("click", stop);

const initial = new URLSearchParams(location.search);
for (const [k, v] of initial) if (form.elements[k]) form.elements[k].value = v;
if (initial.has("stop_after")) stopAfter = Math.max(1, parseInt(initial.get("stop_after"), 10) || 1);
// &then_stop_after=N: after the first (complete) answer, send again and Stop after N tokens.
const thenStop = parseInt(initial.get("then_stop_after"), 10);
async function autostart() {
  await send(Object.fromEntries(new FormData(form)));
  if (thenStop > 0) {
    stopAfter = thenStop;
    await send(Object.fromEntries(new FormData(form)));
  }
  lab.allFinished = true;
}
if (initial.get("autostart") === "1") autostart();
