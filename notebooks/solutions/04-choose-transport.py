# check: check_transport_choices(choices)
choices = {
    "chat-answer": "sse",  # one-way, plain HTTP, resumes by itself
    "post-prompt": "sse",  # SSE over fetch: EventSource cannot POST
    "multiplayer-game": "websocket",  # both sides talk, many times a second
    "collab-editor": "websocket",  # keystrokes up, edits down, all the time
    "build-status": "poll",  # rare changes: ask now and then
    "buffering-proxy": "longpoll",  # complete responses pass a buffering proxy at once
    "live-scores": "sse",  # one-way push to many readers, automatic catch-up
}
