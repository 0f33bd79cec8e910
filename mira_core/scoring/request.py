"""The chat request body sent for one record: one definition for the built-in worker and Ray runs.

Both must send byte-identical requests for the same prompt, or their scores could not be compared.
"""

from __future__ import annotations

from typing import TypedDict

from openai.types.chat import ChatCompletionMessageParam

from mira_core.scoring.settings import ScorerSettings


class ChatRequest(TypedDict):
    """The body fields the scorer sends (the openai client adds `stream: false`)."""

    model: str
    messages: list[ChatCompletionMessageParam]
    temperature: float
    top_p: float
    max_tokens: int


def chat_request(settings: ScorerSettings, system: str, user: str) -> ChatRequest:
    """The `/v1/chat/completions` body for a system and a user message."""
    return {
        "model": settings.model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "temperature": settings.temperature, "top_p": settings.top_p, "max_tokens": settings.max_tokens,
    }
