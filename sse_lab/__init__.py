"""sse_lab: streaming AI chat output with Server-Sent Events, explained live."""
__version__ = "0.1.0"
