"""Request bodies read ahead of the application and handed to it again (ASGI ``receive``)."""

from __future__ import annotations

from collections import deque

from starlette.types import Message, Receive

__all__ = ["replaying", "replaying_body"]


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that gives the already-read body messages first, then defers to the client.
    It takes the messages over: ``messages`` is emptied, so they are let go of once given."""
    pending = deque(messages)
    messages.clear()

    async def replay() -> Message:
        if pending:
            return pending.popleft()
        return await receive()

    return replay


def replaying_body(body: bytes, receive: Receive) -> Receive:
    """`replaying` of a whole body that was read as one."""
    return replaying([{"type": "http.request", "body": body, "more_body": False}], receive)
