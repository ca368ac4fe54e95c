// report.js -- send what a page measured back to the lab server (POST reports),
// so the notebook can chart the learner's own browser's numbers.
//
// Relative URLs throughout: the page may sit at http://127.0.0.1:PORT/ or behind
// jupyter-server-proxy at /user/NAME/proxy/PORT/.

/** Headers for a same-origin POST; behind Jupyter's proxy its XSRF token too. */
export function postHeaders(extra = {}) {
  const headers = { "Content-Type": "application/json", ...extra };
  // Jupyter Server checks POSTs made with its cookie against the _xsrf cookie.
  const xsrf = document.cookie.split("; ").find((c) => c.startsWith("_xsrf="));
  if (xsrf) headers["X-XSRFToken"] = decodeURIComponent(xsrf.slice(6));
  return headers;
}

/** POST one report; resolves to its sequence number, or null if it failed. */
export async function report(page, values) {
  const body = JSON.stringify({ page, userAgent: navigator.userAgent, ...values });
  try {
    const r = await fetch("reports", { method: "POST", headers: postHeaders(), body });
    if (!r.ok) return null;
    return (await r.json()).seq;
  } catch (e) {
    return null;
  }
}

/** The server's live counters (GET stats). */
export async function stats() {
  const r = await fetch("stats", { cache: "no-store" });
  return r.json();
}

/** Round to 0.1 ms: performance.now() is coarsened anyway. */
export const ms = (x) => (x === null || x === undefined ? null : Math.round(x * 10) / 10);
