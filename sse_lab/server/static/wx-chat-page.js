// wx-chat-page.js -- the mini-program chat page's logic: Page(chatPage(wx, {...})).
//
// In a mini-program (pages/chat/chat.js):
//   import { chatPage } from "../../utils/wx-chat-page.js";
//   Page(chatPage(wx, { url: "https://your-server.example.com/v1/chat/completions" }));
// and pages/chat/chat.wxml binds {{thinking}} and {{answer}} inside <text>: WXML data binding
// inserts it as text, like textContent. Never give model output to
// <rich-text nodes="{{...}}">, which parses an HTML string.
//
// setData sends the data from the logic thread to the render thread; each call
// costs a round trip, so text is collected and set at most every `every` ms
// (WeChat's advice: merge consecutive setData calls, never call it every few ms,
// developers.weixin.qq.com/miniprogram/dev/framework/performance/tips/runtime_setData.html).

import { streamChat } from "./wx-sse.js";

/**
 * The Page options of a streaming chat page.
 * @param {object} wxApi the mini-program's `wx`
 * @param {{url: string, model?: string, every?: number, textDecoder?: "auto" | "never",
 *          thinking?: boolean}} cfg  thinking: ask for the model's reasoning
 *   (`enable_thinking: true`, Qwen's switch; the lab server takes it too) and show it in
 *   `thinking`, apart from `answer`
 */
export function chatPage(wxApi, cfg) {
  const every = cfg.every === undefined ? 50 : cfg.every;
  return {
    data: { prompt: "你好", thinking: "", answer: "", status: "idle", streaming: false },

    onPromptInput(e) {
      this.setData({ prompt: e.detail.value });
    },

    onSend() {
      this.onStop();
      let text = "";
      let thinking = "";
      let timer = null;
      let thinkingShown = 0;
      const show = () => {  // one setData for everything that came since the last one
        timer = null;
        // Only what changed goes to the render thread (setData's cost grows with its
        // data): the thinking while it grows, then the answer alone.
        if (thinking.length !== thinkingShown) {
          thinkingShown = thinking.length;
          this.setData({ thinking, answer: text });
        } else {
          this.setData({ answer: text });
        }
      };
      const later = () => {
        if (timer === null) timer = setTimeout(show, every);
      };
      const data = {
        model: cfg.model || "sse-lab-sim",
        stream: true,
        messages: [{ role: "user", content: this.data.prompt }],
      };
      if (cfg.thinking) data.enable_thinking = true;
      this.setData({ thinking: "", answer: "", status: "streaming", streaming: true });
      this.chat = streamChat(wxApi, {
        url: cfg.url,
        textDecoder: cfg.textDecoder,
        data,
        onThinking: (piece) => {  // delta.reasoning_content: shown apart, never as the answer
          thinking += piece;
          later();
        },
        onText: (piece) => {
          text += piece;
          later();
        },
        onEnd: (why, detail) => {
          if (timer !== null) clearTimeout(timer);
          timer = null;
          this.chat = null;
          // The whole text once more, then the status: plain strings only.
          this.setData({ thinking, answer: text, status: detail ? `${why}: ${detail}` : why,
                         streaming: false });
        },
      });
    },

    onStop() {
      if (this.chat) this.chat.abort();  // onEnd("stopped") keeps the partial answer
    },

    onUnload() {
      this.onStop();  // leaving the page must not leave the model writing
    },
  };
}
