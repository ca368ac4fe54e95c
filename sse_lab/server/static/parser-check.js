// parser-check.js -- grade sse-parser.js on the spec cases in this browser.
import { chunkings } from "./chunkings.js";
import { EventStreamParser } from "./sse-parser.js";
import { ms, report } from "./report.js";
import { t } from "./i18n.js";

const lab = (window.sseLab = { finished: false });

function bytesOf(b64) {
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
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
