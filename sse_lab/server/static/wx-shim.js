// wx-shim.js -- a SHIM of the WeChat mini-program runtime, for testing in a browser.
//
// This is not WeChat: the lab cannot run the WeChat client or its devtools.
// makeWx() imitates the documented surface that wx-sse.js uses --
// wx.request({ enableChunked, ... }) returning a RequestTask with
// onChunkReceived / offChunkReceived / onHeadersReceived / abort() -- on top of
// fetch() and a ReadableStream. It re-cuts the real response bytes of the lab
// server into ArrayBuffer chunks of random sizes, so chunks end inside CRLF
// pairs and inside Chinese characters far more often than on a real network.
// mountPage() imitates Page(): this.data, this.setData(), and it renders each
// data key into the element with data-bind="key" through textContent.

import { mulberry32 } from "./chunkings.js";
import { postHeaders } from "./report.js";

/**
 * A `wx` whose request() streams through fetch.
 * @param {{seed?: number, maxChunk?: number, log?: Array}} [opts] chunks are
 *   1..maxChunk bytes; every chunk handed out is pushed to `log` (its bytes).
 */
export function makeWx(opts = {}) {
  const rand = mulberry32(opts.seed === undefined ? 1 : opts.seed);
  const maxChunk = opts.maxChunk || 7;
  const log = opts.log || null;
  return {
    request(o) {
      const chunkListeners = new Set();
      const headerListeners = new Set();
      const controller = new AbortController();
      let finished = false;
      const finish = (kind, res) => {
        if (finished) return;
        finished = true;
        if (kind === "success" && o.success) o.success(res);
        if (kind === "fail" && o.fail) o.fail(res);
        if (o.complete) o.complete(res);
      };
      const task = {
        onChunkReceived(fn) { chunkListeners.add(fn); },
        offChunkReceived(fn) { if (fn) chunkListeners.delete(fn); else chunkListeners.clear(); },
        onHeadersReceived(fn) { headerListeners.add(fn); },
        offHeadersReceived(fn) { if (fn) headerListeners.delete(fn); else headerListeners.clear(); },
        abort() {
          controller.abort();
          finish("fail", { errMsg: "request:fail abort" });
        },
      };
      const method = (o.method || "GET").toUpperCase();
      const body = method === "GET" ? undefined
        : typeof o.data === "string" ? o.data : JSON.stringify(o.data);
      // The XSRF header is for Jupyter's proxy only (a browser matter, not a wx one).
      const headers = method === "GET" ? { ...(o.header || {}) } : postHeaders(o.header || {});
      (async () => {
        const res = await fetch(o.url, { method, headers, body, signal: controller.signal,
                                         cache: "no-store" });
        const header = {};
        res.headers.forEach((v, k) => { header[k] = v; });
        for (const fn of [...headerListeners]) fn({ header, statusCode: res.status });
        if (finished) return;
        if (!o.enableChunked) {
          finish("success", { statusCode: res.status, header, data: await res.arrayBuffer() });
          return;
        }
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done || finished) break;
          let at = 0;
          while (at < value.length && !finished) {
            const size = 1 + Math.floor(rand() * maxChunk);
            // A fresh ArrayBuffer per chunk, as onChunkReceived hands out.
            const data = value.slice(at, at + size).buffer;
            at += size;
            if (log) log.push(new Uint8Array(data));
            for (const fn of [...chunkListeners]) fn({ data });
          }
        }
        finish("success", { statusCode: res.status, header, data: new ArrayBuffer(0) });
      })().catch((e) => finish("fail", { errMsg: `request:fail ${e}` }));
      return task;
    },
  };
}

/**
 * Imitate Page(options) on a DOM element: returns the page instance.
 * Keys of setData are rendered into [data-bind=key] elements as text;
 * show(key, value) makes the text (default String(value); the page uses it to
 * translate the status).
 */
export function mountPage(options, root, show = (key, value) => String(value)) {
  const page = Object.create(options);
  page.data = { ...options.data };
  page.setDataCalls = 0;
  page.setData = (patch) => {
    page.setDataCalls += 1;
    Object.assign(page.data, patch);
    for (const key of Object.keys(patch)) {
      for (const el of root.querySelectorAll(`[data-bind="${key}"]`)) {
        if (el.tagName === "INPUT") el.value = String(patch[key]);
        else el.textContent = show(key, patch[key]);  // text, never HTML
      }
    }
  };
  page.setData(page.data);
  page.setDataCalls = 0;
  return page;
}
