// parser-check.js -- grade sse-parser.js on the spec cases in this browser.
import { EventStreamParser } from "./sse-parser.js";
import { ms, report } from "./report.js";
import { t } from "./i18n.js";

const lab = (window.sseLab = { finished: false });

function bytesOf(b64) {
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// A small seeded generator, so a failure at a random split can be replayed.
function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function chunkings(n, index) {
  const out = { whole: [], bytewise: Array.from({ length: Math.max(0, n - 1) }, (_, i) => i + 1) };
  for (let s = 0; s < 3; s += 1) {
    const rand = mulberry32(index * 7919 + s);
    const cuts = new Set();
    for (let k = Math.floor(rand() * n / 2); k > 0; k -= 1) cuts.add(1 + Math.floor(rand() * Math.max(1, n - 1)));
    out[`random${s}`] = [...cuts].filter((c) => c < n).sort((a, b) => a - b);
  }
  return out;
}

function run(bytes, cuts) {
  const p = new EventStreamParser();
  const events = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...p.feed(bytes.subarray(prev, cut)));
    prev = cut;
  }
  const late = p.close();
  return { events: events.concat(late), late, retry: p.retry, lastEventId: p.lastEventId };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function main() {
  const t0 = performance.now();
  const cases = await (await fetch("conformance/cases.json", { cache: "no-store" })).json();
  const failures = [];
  let runs = 0;
  cases.forEach((c, index) => {
    const bytes = bytesOf(c.stream);
    for (const [mode, cuts] of Object.entries(chunkings(bytes.length, index))) {
      runs += 1;
      let why = null;
      try {
        const got = run(bytes, cuts);
        if (!same(got.events, c.events)) why = `events ${JSON.stringify(got.events)}`;
        else if (got.late.length) why = "close() dispatched an unfinished block";
        else if (got.retry !== c.retry) why = `retry ${got.retry}, expected ${c.retry}`;
        else if (got.lastEventId !== c.lastEventId) why = `lastEventId ${JSON.stringify(got.lastEventId)}`;
      } catch (e) {
        why = `raised ${e}`;
      }
      if (why) failures.push({ name: c.name, mode, why, rule: c.rule });
    }
  });
  const failed = new Set(failures.map((f) => f.name));
  Object.assign(lab, { total: cases.length, passed: cases.length - failed.size, runs, failures,
                       tookMs: ms(performance.now() - t0) });
  document.getElementById("score").textContent =
    t("{passed}/{total} spec cases passed ({runs} runs: whole, byte by byte, 3 random splits) in {ms} ms",
      { passed: lab.passed, total: lab.total, runs, ms: lab.tookMs });
  document.getElementById("failures").replaceChildren(...failures.slice(0, 20).map((f) => {
    const row = document.createElement("tr");
    for (const v of [f.name, f.mode, f.why]) {
      const td = document.createElement("td");
      td.textContent = v;
      row.append(td);
    }
    return row;
  }));
  lab.seq = await report("parser", { kind: "spec", total: lab.total, passed: lab.passed, runs,
                                     failures: failures.slice(0, 50), tookMs: lab.tookMs });
  lab.finished = true;
}

main();
