// lifecycle.js -- EventSource's lifecycle, one scenario at a time, measured.
//
// Scenarios (?run=all or ?run=reconnect,gone,... runs them at once, in order):
//  reconnect   the response ends without [DONE]: the browser reconnects by itself
//              after retry: ms, sending Last-Event-ID; the page closes on [DONE].
//  gone        the reconnection is answered 204: readyState CLOSED, for good.
//  wrong-type  200 with text/plain: the connection fails, no retry (CLOSED).
//  named       event: status/token/usage/done reach addEventListener, not onmessage.
//  six         seven streams to one origin over HTTP/1.1: the seventh waits until
//              one of the six closes (the browser's connection limit per origin).
// Each result goes to window.sseLab.results[name] and is POSTed to reports.

import { ms, report } from "./report.js";
import { N_, t } from "./i18n.js";

const STATES = ["0 CONNECTING", "1 OPEN", "2 CLOSED"];
const lab = (window.sseLab = { results: {}, running: null, finished: false });
const container = document.getElementById("scenarios");
const sleep = (delay) => new Promise((r) => setTimeout(r, delay));
const tag = (name) => `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

async function serverLog(id) {
  const r = await fetch(`lifecycle/log?tag=${encodeURIComponent(id)}`, { cache: "no-store" });
  return r.json();
}

/** Resolve when check() is true, or after timeout ms (resolves false). */
async function until(check, timeout) {
  const end = performance.now() + timeout;
  while (performance.now() < end) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

function box(name, title, what) {
  let el = document.getElementById(`sc-${name}`);
  if (!el) {
    el = document.createElement("section");
    el.className = "scenario";
    el.id = `sc-${name}`;
    const h = document.createElement("h2");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = t("run");
    button.addEventListener("click", () => run([name]));
    h.append(t(title) + " ", button);
    const p = document.createElement("div");
    p.className = "muted";
    p.textContent = t(what);
    const state = document.createElement("div");
    state.className = "row states";
    const log = document.createElement("div");
    log.className = "log";
    el.append(h, p, state, log);
    container.append(el);
  }
  return el;
}

/** A scenario's view: live readyState of its sources, and a log with times. */
function view(name) {
  const el = document.getElementById(`sc-${name}`);
  const states = el.querySelector(".states");
  const log = el.querySelector(".log");
  log.replaceChildren();
  const t0 = performance.now();
  const entries = [];
  const sources = [];
  const spans = [];
  const timer = setInterval(() => {
    sources.forEach((s, i) => {
      spans[i].textContent = `${sources.length > 1 ? `#${i + 1} ` : ""}${STATES[s.readyState]}`;
      spans[i].className = `state state-${s.readyState}`;
    });
  }, 50);
  return {
    t0,
    entries,
    add(source) {
      const span = document.createElement("span");
      states.append(span);
      sources.push(source);
      spans.push(span);
      return source;
    },
    line(text) {
      const dt = performance.now() - t0;
      entries.push({ t: ms(dt), text });
      log.textContent += `${dt.toFixed(0).padStart(6)} ms  ${text}\n`;  // text, not HTML
      log.scrollTop = log.scrollHeight;
    },
    stop() {
      clearInterval(timer);
      sources.forEach((s, i) => {
        spans[i].textContent = `${sources.length > 1 ? `#${i + 1} ` : ""}${STATES[s.readyState]}`;
        spans[i].className = `state state-${s.readyState}`;
      });
    },
  };
}

const SCENARIOS = {
  async reconnect(v) {
    const id = tag("reconnect");
    const es = v.add(new EventSource(`lifecycle/ends?tag=${id}&per=3&total=9&retry=300&interval=0.05`));
    const r = { tag: id, opens: [], errors: [], events: [], ids: [], done: false };
    es.onopen = () => { r.opens.push(ms(performance.now() - v.t0)); v.line("open"); };
    es.onerror = () => {
      r.errors.push({ t: ms(performance.now() - v.t0), readyState: es.readyState });
      v.line(t("error, readyState {state} (the browser will reconnect)", { state: STATES[es.readyState] }));
    };
    es.onmessage = (e) => {
      if (e.data === "[DONE]") { es.close(); r.done = true; v.line("[DONE] -> close()"); return; }
      r.events.push(ms(performance.now() - v.t0));
      r.ids.push(e.lastEventId);
      v.line(`message id=${e.lastEventId} ${e.data}`);
    };
    await until(() => r.done || es.readyState === 2, 15000);
    es.close();
    r.readyState = es.readyState;
    r.reconnects = r.opens.length - 1;
    // time from each error to the next open: the retry: 300 ms the server asked for
    r.reconnectGapsMs = r.errors.map((e, i) => (r.opens[i + 1] ?? NaN) - e.t).filter((x) => x === x).map(ms);
    r.server = await serverLog(id);
    v.line(t("server saw Last-Event-ID: {ids}", { ids: r.server.map((e) => e.last_event_id ?? t("(none)")).join(", ") }));
    return r;
  },

  async gone(v) {
    const id = tag("gone");
    const es = v.add(new EventSource(`lifecycle/gone?tag=${id}&retry=300&interval=0.05`));
    const r = { tag: id, opens: 0, errors: [], events: 0 };
    es.onopen = () => { r.opens += 1; v.line("open"); };
    es.onmessage = (e) => { r.events += 1; v.line(`message id=${e.lastEventId} ${e.data}`); };
    es.onerror = () => {
      r.errors.push(es.readyState);
      v.line(`error, readyState ${STATES[es.readyState]}`);
    };
    await until(() => es.readyState === 2, 10000);
    r.readyState = es.readyState;  // CLOSED: the browser will never try again
    r.server = await serverLog(id);
    v.line(t("server answered: {answers} -- and no request after the 204", { answers: r.server.map((e) => e.answer).join(", ") }));
    es.close();
    return r;
  },

  async "wrong-type"(v) {
    const id = tag("wrongtype");
    const es = v.add(new EventSource(`lifecycle/wrong-type?tag=${id}`));
    const r = { tag: id, opens: 0, errors: [], events: 0 };
    es.onopen = () => { r.opens += 1; v.line("open"); };
    es.onmessage = () => { r.events += 1; };
    es.onerror = () => {
      r.errors.push(es.readyState);
      v.line(t("error, readyState {state} (text/plain is not an event stream)", { state: STATES[es.readyState] }));
    };
    await until(() => es.readyState === 2, 10000);
    r.readyState = es.readyState;
    r.server = await serverLog(id);
    v.line(t("server got {n} request(s)", { n: r.server.length }));
    es.close();
    return r;
  },

  async named(v) {
    const id = tag("named");
    const es = v.add(new EventSource(`lifecycle/named?tag=${id}&interval=0.05`));
    const r = { tag: id, status: [], tokens: [], usage: null, messages: [], done: false };
    es.onmessage = (e) => { r.messages.push(e.data); v.line(`onmessage: ${e.data}`); };
    es.addEventListener("status", (e) => { r.status.push(e.data); v.line(`status: ${e.data}`); });
    es.addEventListener("token", (e) => { r.tokens.push(e.data); v.line(`token: ${e.data}`); });
    es.addEventListener("usage", (e) => { r.usage = JSON.parse(e.data); v.line(`usage: ${e.data}`); });
    es.addEventListener("done", () => { r.done = true; es.close(); v.line("done -> close()"); });
    await until(() => r.done || es.readyState === 2, 10000);
    es.close();
    r.text = r.tokens.join("");
    return r;
  },

  async six(v) {
    const id = tag("six");
    const r = { tag: id, openedAt: Array(7).fill(null) };
    const sources = [];
    for (let i = 0; i < 7; i += 1) {
      const es = v.add(new EventSource(`lifecycle/slow?tag=${id}&seconds=30&interval=0.5&n=${i}`));
      es.onopen = () => { if (r.openedAt[i] === null) { r.openedAt[i] = ms(performance.now() - v.t0); v.line(t("#{n} open", { n: i + 1 })); } };
      sources.push(es);
    }
    await until(() => sources.slice(0, 6).every((s) => s.readyState === 1), 10000);
    await sleep(1000);  // give the seventh every chance to open (it cannot)
    r.seventhWhileSixOpen = sources[6].readyState;
    v.line(t("six open; #7 is {state}", { state: STATES[r.seventhWhileSixOpen] }));
    const closedAt = performance.now();
    sources[0].close();
    v.line("#1 close()");
    await until(() => sources[6].readyState === 1, 10000);
    r.seventhWaitAfterCloseMs = ms(performance.now() - closedAt);
    r.seventhAfterClose = sources[6].readyState;
    v.line(t("#7 {state} {ms} ms after #1 closed", { state: STATES[sources[6].readyState], ms: r.seventhWaitAfterCloseMs }));
    sources.forEach((s) => s.close());
    await sleep(100);
    // (Not before: while six streams hold the six connections, this fetch
    // would queue behind them like the seventh.)
    r.server = await serverLog(id);
    const times = r.server.map((e) => e.t).sort((a, b) => a - b);
    // When the server saw the 7th request, after the 6th (server clock, ms)
    r.serverSeventhAfterSixthMs = times.length === 7 ? ms((times[6] - times[5]) * 1000) : null;
    v.line(t("server: 7th request arrived {ms} ms after the 6th", { ms: r.serverSeventhAfterSixthMs }));
    return r;
  },
};

const TITLES = {
  reconnect: [N_("Automatic reconnect with Last-Event-ID"), N_("The response ends after 3 events; the browser reconnects after retry: 300 ms and says where it was. close() on [DONE].")],
  gone: [N_("204 No Content stops reconnection"), N_("Two events, the response ends, the browser reconnects, the server answers 204: CLOSED for good.")],
  "wrong-type": [N_("A wrong Content-Type fails for good"), N_("200 text/plain: onerror, readyState CLOSED, onopen never, no retry.")],
  named: [N_("Named events need addEventListener"), N_("event: status / token / usage / done; onmessage sees only the unnamed one.")],
  six: [N_("Six connections per origin (HTTP/1.1)"), N_("Seven slow streams at once: six open, the seventh waits for a free connection.")],
};

async function run(names) {
  if (lab.running) return;
  lab.finished = false;
  for (const name of names) {
    lab.running = name;
    const v = view(name);
    let result;
    try {
      result = await SCENARIOS[name](v);
    } catch (e) {
      result = { error: String(e) };
      v.line(t("failed: {error}", { error: String(e) }));
    }
    v.stop();
    result.log = v.entries;
    lab.results[name] = result;
    result.seq = await report("lifecycle", { scenario: name, ...result });
  }
  lab.running = null;
  lab.finished = true;
}

for (const [name, [title, what]] of Object.entries(TITLES)) box(name, title, what);
document.getElementById("run-all").addEventListener("click", () => run(Object.keys(SCENARIOS)));
const asked = new URLSearchParams(location.search).get("run");
if (asked) run(asked === "all" ? Object.keys(SCENARIOS) : asked.split(",").filter((n) => n in SCENARIOS));
