// i18n.js -- the pages speak the learner's language from the lab's one gettext catalogue.
//
// English is the message id, as in the Python package (sse_lab.i18n.tr):
//   import { t, N_ } from "./i18n.js";
//   status.textContent = t("{n} tokens", { n: 12 });   // "12 tokens" / "12 个 token"
// The message must be a "double-quoted literal" written in the call, so
// sse_lab/i18n/catalogue.py finds it (area "pages"); N_("...") only marks a
// literal kept as data and translated later with t(label).
// Static HTML text is marked with a data-i18n attribute: the element's text
// (a <code> child written `like this`) is the message id and is replaced by
// its translation, built from text nodes and <code> elements (never HTML).
//
// Which language: ?lang=zh-CN (the notebooks' URLs carry it), else the
// browser's navigator.language. The translations come from the lab server
// (GET i18n/<lang>.json, compiled from the .po files); a language the lab does
// not speak (the server answers 400, naming the ones it does) falls back to
// English, so the page still works.
//
// This module loads the catalogue with a top-level await: a page module that
// imports it runs only once the translations are there (t() is synchronous).

const asked = new URLSearchParams(location.search).get("lang");
const wanted = asked || (typeof navigator === "object" && navigator.language) || "en";
let messages = {};
let language = "en";

// English needs no catalogue (and costs the page no request).
if (!/^en(\b|[-_])/i.test(wanted)) {
  try {
    const r = await fetch(`i18n/${encodeURIComponent(wanted)}.json`, { cache: "no-cache" });
    if (r.ok) {
      const body = await r.json();
      language = body.language;
      messages = body.messages || {};
    } else if (asked) {
      console.warn(`sse_lab: ?lang=${asked}: ${(await r.json()).error}; showing English`);
    }
  } catch (e) {
    console.warn("sse_lab: no translations, showing English:", e);
  }
}

/** The language the page speaks: "en" or one the lab server has a catalogue for. */
export const lang = language;

/** Mark a literal for the catalogue without translating it now. */
export const N_ = (message) => message;

/** `message` in the page's language, then {name} / {name:.1f} filled from `values`. */
export function t(message, values) {
  const text = Object.prototype.hasOwnProperty.call(messages, message) ? messages[message] : message;
  if (!values) return text;
  return text.replace(/\{(\w+)(?::\.(\d+)f)?\}/g, (whole, name, digits) => {
    if (!(name in values)) return whole;
    const v = values[name];
    return digits !== undefined && typeof v === "number" ? v.toFixed(Number(digits)) : String(v);
  });
}

/** The message id of a data-i18n element: its text, <code> children as `code`. */
export function messageOf(el) {
  let text = "";
  for (const node of el.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) text += node.data;
    else if (node.nodeName === "CODE") text += `\`${node.textContent}\``;
    else text += node.textContent;
  }
  return text.replace(/\s+/g, " ").trim();
}

/** Replace el's children by `text`, its `code` pieces as <code> elements (text only). */
export function setMessage(el, text) {
  const parts = text.split("`");
  el.replaceChildren(...parts.map((part, i) => {
    if (i % 2 === 0) return document.createTextNode(part);
    const code = document.createElement("code");
    code.textContent = part;
    return code;
  }));
}

/** Translate every [data-i18n] element under root (and data-i18n-label aria-labels). */
export function translatePage(root = document) {
  document.documentElement.lang = language;
  if (language === "en") return;
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const id = messageOf(el);
    if (Object.prototype.hasOwnProperty.call(messages, id)) setMessage(el, messages[id]);
  }
  for (const el of root.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.getAttribute("aria-label")));
  }
}

translatePage();
