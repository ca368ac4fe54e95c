// wechat.js -- grade wx-sse.js in this browser and stream a Chinese answer through
// the mini-program page code (wx-chat-page.js) on a wx shim (wx-shim.js).
//
// window.sseLab holds the results (tests read it); they are also posted to
// reports (page "wechat") for notebook 10. ?prompt= picks the chat prompt.
import { chunkings } from "./chunkings.js";
import { WxEventStreamParser } from "./wx-sse.js";
import { chatPage } from "./wx-chat-page.js";
import { makeWx, mountPage } from "./wx-shim.js";
import { ms, report } from "./report.js";
import { N_, t } from "./i18n.js";

const lab = (window.sseLab = { finished: false });
const prompt = new URLSearchParams(location.search).get("prompt") || "你好";
const MODES = { TextDecoder: "auto", "hand-written": "never" };
// The chat page's status values (English data), shown translated.
N_("idle"); N_("streaming"); N_("done"); N_("stopped"); N_("ended");
N_("TextDecoder"); N_("hand-written");  // the decoders' names (MODES), shown translated
const show = (key, value) => (key === "status" ? t(String(value)) : String(value));

function bytesOf(b64) {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function run(bytes, cuts, textDecoder) {
  const p = new WxEventStreamParser({ textDecoder });
  const events = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    // An ArrayBuffer of its own, as onChunkReceived delivers it.
    events.push(...p.feed(bytes.slice(prev, cut).buffer));
    prev = cut;
  }
  const late = p.close();
  return { events: events.concat(late), late, retry: p.retry, lastEventId: p.lastEventId,
           decoder: p.decoder };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function grade(cases, textDecoder) {
  const failures = [];
  let runs = 0;
  let decoder = null;
  cases.forEach((c, index) => {
    const bytes = bytesOf(c.stream);
    for (const [mode, cuts] of Object.entries(chunkings(bytes.length, index))) {
      runs += 1;
      let why = null;
      try {
        const got = run(bytes, cuts, textDecoder);
        decoder = got.decoder;
        if (!same(got.events, c.events)) why = `events ${JSON.stringify(got.events)}`;
        else if (got.late.length) why = "close() dispatched an unfinished block";
        else if (got.retry !== c.retry) why = `retry ${got.retry}, expected ${c.retry}`;
        else if (got.lastEventId !== c.lastEventId) why = `lastEventId ${JSON.stringify(got.lastEventId)}`;
      } catch (e) {
        why = `raised ${e}`;
      }
      if (why) failures.push({ name: c.name, mode, why });
    }
  });
  const failed = new Set(failures.map((f) => f.name));
  return { decoder, total: cases.length, passed: cases.length - failed.size, runs,
           failures: failures.slice(0, 20) };
}

/** Cuts that fell inside a UTF-8 character: chunks that start with a continuation byte. */
function cutsInsideCharacters(chunks) {
  return chunks.slice(1).filter((c) => c.length && c[0] >= 0x80 && c[0] <= 0xbf).length;
}

function chat(decoderName, seed, thinking = false) {
  return new Promise((resolve) => {
    const chunks = [];
    const wx = makeWx({ seed, maxChunk: 5, log: chunks });
    const page = mountPage(chatPage(wx, { url: "v1/chat/completions", thinking,
                                          textDecoder: MODES[decoderName] }), document.body, show);
    page.setData({ prompt });
    const t0 = performance.now();
    let firstText = null;
    let firstThinking = null;
    const setData = page.setData;
    page.setData = (patch) => {
      setData(patch);
      if (firstText === null && patch.answer) firstText = performance.now() - t0;
      if (firstThinking === null && patch.thinking) firstThinking = performance.now() - t0;
      if (patch.streaming === false) {
        resolve({ decoder: decoderName, seed, text: page.data.answer, status: page.data.status,
                  thinking: page.data.thinking, firstThinkingMs: ms(firstThinking),
                  chunks: chunks.length, bytes: chunks.reduce((n, c) => n + c.length, 0),
                  cutsInsideCharacters: cutsInsideCharacters(chunks),
                  setDataCalls: page.setDataCalls, firstTextMs: ms(firstText),
                  tookMs: ms(performance.now() - t0) });
      }
    };
    page.onSend();
  });
}

function row(values) {
  const tr = document.createElement("tr");
  for (const v of values) {
    const td = document.createElement("td");
    td.textContent = String(v);
    tr.append(td);
  }
  return tr;
}

async function main() {
  const t0 = performance.now();
  const cases = await (await fetch("conformance/cases.json", { cache: "no-store" })).json();
  const modes = {};
  for (const [name, option] of Object.entries(MODES)) modes[name] = grade(cases, option);
  document.getElementById("score").textContent = Object.entries(modes).map(([name, m]) =>
    t("{decoder}: {passed}/{total} spec cases ({runs} runs: whole, byte by byte, 3 random splits)",
      { decoder: t(name), passed: m.passed, total: m.total, runs: m.runs }),
  ).join(" · ");
  document.getElementById("failures").replaceChildren(
    ...Object.values(modes).flatMap((m) => m.failures.map((f) => row([m.decoder, f.name, f.mode, f.why]))));

  const expected = await (await fetch(`complete?prompt=${encodeURIComponent(prompt)}`,
                                      { cache: "no-store" })).json();
  const chats = [];
  for (const name of Object.keys(MODES)) {
    const result = await chat(name, chats.length + 1);
    result.exact = result.text === expected.text;
    chats.push(result);
  }
  // With enable_thinking: delta.reasoning_content first, in its own field and box.
  const thinking = await chat("TextDecoder", chats.length + 1, true);
  thinking.exact = thinking.text === expected.text;
  const yes = (v) => (v ? t("yes") : t("no"));
  document.getElementById("chats").replaceChildren(
    row([t("decoder"), t("thinking"), t("exact"), t("chunks"), t("cuts inside a character"),
         t("setData calls"), t("status")]),
    ...[...chats, thinking].map((c) => row([t(c.decoder), c.thinking ? t("{n} characters", { n: c.thinking.length }) : "–",
                                            yes(c.exact), c.chunks, c.cutsInsideCharacters, c.setDataCalls, t(c.status)])));
  // The buttons work too (a learner can try Stop by hand); it asks for thinking.
  const live = mountPage(chatPage(makeWx({ seed: 99, maxChunk: 5 }),
                                  { url: "v1/chat/completions", thinking: true }),
                         document.body, show);
  live.setData({ prompt, thinking: thinking.thinking, answer: thinking.text, status: thinking.status });
  document.getElementById("prompt").addEventListener("input", (e) =>
    live.onPromptInput({ detail: { value: e.target.value } }));
  document.getElementById("send").addEventListener("click", () => live.onSend());
  document.getElementById("stop").addEventListener("click", () => live.onStop());
  Object.assign(lab, { modes, chats, thinkingChat: thinking, expected: expected.text, prompt,
                       tookMs: ms(performance.now() - t0) });
  lab.seq = await report("wechat", { kind: "wechat", modes, chats, thinkingChat: thinking,
                                     expected: expected.text, prompt, tookMs: lab.tookMs });
  lab.finished = true;
}

main().catch((e) => {
  lab.error = String(e);
  document.getElementById("score").textContent = t("failed: {error}", { error: String(e) });
  lab.finished = true;
});
