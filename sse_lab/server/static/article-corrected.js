// article-corrected.js -- the article's page, corrected:
// * each message is added as text (a text node + <br>), never parsed as HTML;
// * close() on [DONE], so the browser does not reconnect to a finished stream;
// * a relative URL (works behind jupyter-server-proxy) and this page's query.
const params = new URLSearchParams(location.search);
const query = new URLSearchParams({
  tag: params.get("tag") || "corrected", count: params.get("count") || "5",
  interval: params.get("interval") || "0.3", retry: params.get("retry") || "1000",
});
const message = document.getElementById("message");
const statusEl = document.getElementById("status");
const lab = (window.sseLab = { messages: [], opens: 0, done: false });

const eventSource = new EventSource(`lifecycle/article?${query}`);
eventSource.onopen = () => { lab.opens += 1; statusEl.textContent = "open"; };
eventSource.onmessage = (event) => {
  if (event.data === "[DONE]") {
    eventSource.close();  // finished: do not let the browser reconnect
    lab.done = true;
    statusEl.textContent = `done · ${lab.opens} connection(s)`;
    return;
  }
  lab.messages.push(event.data);
  message.append(event.data, document.createElement("br"));  // a string is appended as text
};
eventSource.onerror = () => { statusEl.textContent = `error, readyState ${eventSource.readyState}`; };
