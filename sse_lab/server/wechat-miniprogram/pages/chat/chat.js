// The chat page: all logic is in utils/wx-chat-page.js (the lab's
// sse_lab/server/static/wx-chat-page.js, written there by `python -m sse_lab
// wechat-example DIR` and tested in Chromium on a wx shim).
import { chatPage } from "../../utils/wx-chat-page.js";

// The lab server's OpenAI-compatible endpoint. A published mini-program needs
// an HTTPS URL on a domain registered as a request domain (request 合法域名);
// in the developer tools "urlCheck": false lets it reach 127.0.0.1.
// thinking: true asks for the model's reasoning (`enable_thinking: true`, Qwen's switch;
// the lab server takes it) and shows delta.reasoning_content in {{thinking}}, apart
// from {{answer}}. DeepSeek's reasoning models send it without being asked.
Page(chatPage(wx, { url: "http://127.0.0.1:8000/v1/chat/completions", thinking: true }));
