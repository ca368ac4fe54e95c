// article.js -- the comparison page: one real EventSource per side.
//
// Left, the article's behaviour: a real EventSource that is never closed on
// [DONE] (so it reconnects, and the frame appends everything again), relayed
// into the sandboxed frame. The lab stops it after MAX_CONNECTIONS connections;
// the article's page alone would go on for as long as the tab is open.
// Right, the corrected page in its own frame with its own EventSource.
// A payload that runs says so with postMessage; which frame sent it is recorded.
import { report } from "./report.js";
import { t } from "./i18n.js";

const MAX_CONNECTIONS = 3;
const params = new URLSearchParams(location.search);
const count = params.get("count") || "5";
const interval = params.get("interval") || "0.3";
const retry = params.get("retry") || "1000";
const original = document.getElementById("original");
const corrected = document.getElementById("corrected");
const lab = (window.sseLab = {});

const c0 = () => corrected.contentWindow.sseLab || {};
function status(id, text) { document.getElementById(id).textContent = text; }

window.addEventListener("message", (e) => {
  if (!e.data || e.data.xss !== "executed") return;
  const side = e.source === original.contentWindow ? "original"
    : e.source === corrected.contentWindow ? "corrected" : "other";
  lab.xss[side] += 1;
  if (side !== "other") status(`${side}-xss`, t("the payload RAN in this page ({n}×)", { n: lab.xss[side] }));
});

async function run() {
  const tag = `article-${Date.now().toString(36)}`;
  Object.assign(lab, { tag, xss: { original: 0, corrected: 0, other: 0 }, originalOpens: 0,
                       originalMessages: 0, finished: false });
  for (const id of ["original-status", "corrected-status", "original-xss", "corrected-xss"]) status(id, "");
  const ready = new Promise((resolve) => {
    const onReady = (e) => {
      if (e.source === original.contentWindow && e.data && e.data.relay === "ready") {
        window.removeEventListener("message", onReady);
        resolve();
      }
    };
    window.addEventListener("message", onReady);
  });
  original.src = "article-original";
  await ready;
  const q = new URLSearchParams({ count, interval, retry });
  const es = new EventSource(`lifecycle/article?${q}&tag=${tag}-original`);
  const relay = (kind, extra = {}) =>
    original.contentWindow.postMessage({ relay: "sse", kind, readyState: es.readyState, ...extra }, "*");
  es.onopen = () => {
    lab.originalOpens += 1;
    relay("open");
    if (lab.originalOpens > 1) status("original-status", t("reconnected: connection {n}", { n: lab.originalOpens }));
  };
  es.onmessage = (e) => { lab.originalMessages += 1; relay("message", { data: e.data, lastEventId: e.lastEventId }); };
  const stopped = new Promise((resolve) => {
    es.onerror = () => {
      relay("error");
      if (lab.originalOpens >= MAX_CONNECTIONS) {
        es.close();
        resolve();
      }
    };
  });
  corrected.src = `article-corrected?${q}&tag=${tag}-corrected`;
  await stopped;
  status("original-status",
    t("{opens} connections, {messages} messages appended (stopped by the lab; the article's page would go on reconnecting)",
      { opens: lab.originalOpens, messages: lab.originalMessages }));
  if (!lab.xss.corrected) status("corrected-status", t("{n} connection · the payload shown as text, never run", { n: c0().opens }));
  await new Promise((r) => setTimeout(r, 300));  // a late postMessage would land by now
  const c = c0();
  lab.correctedOpens = c.opens;
  lab.correctedDone = c.done;
  lab.seq = await report("article", { tag, xss: lab.xss, originalOpens: lab.originalOpens,
    originalMessages: lab.originalMessages, correctedOpens: c.opens, correctedDone: c.done });
  lab.finished = true;
}

document.getElementById("again").addEventListener("click", run);
run();
