# check: check_render_tokens(render_tokens)
import html


def render_tokens(tokens):
    """The typewriter's HTML: one <span class="tok"> per token, its text escaped."""
    return "".join(f'<span class="tok">{html.escape(token)}</span>' for token in tokens)
