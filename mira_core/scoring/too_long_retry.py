"""One more try for a prompt the endpoint refused for its length: shorten it to the count it reported.

Our count can fall short of the endpoint's (no `/tokenize`, a chat template longer than the margin): the
record is then not lost, it is shortened by the documented rule to the reported figure and sent once more.
The score records it as shortened, with the elided count. Another refusal stays `too_long`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from mira_core.errors import ConfigError, NotFoundError
from mira_core.records import Record
from mira_core.scoring.client import CallResult, ScorerClient
from mira_core.scoring.prompt import Prompt, PromptBuilder


async def retry_too_long(client: ScorerClient, prompts: PromptBuilder, prompt: Prompt, result: CallResult,
                         read_record: Callable[[], Record]) -> tuple[Prompt, CallResult]:
    """(prompt, result) after at most one shortened retry; unchanged unless `result` is a `too_long` with a count.

    `read_record` fetches the record again (blocking; run in a thread): only the rare refused item pays for it,
    instead of every request in flight holding its record.
    """
    report = result.context
    if result.status != "too_long" or report is None:
        return prompt, result

    def refit() -> Prompt | None:
        return prompts.refit(read_record(), prompt, report.prompt_tokens, at_least=report.at_least,
                             reported_max_len=report.max_model_len)

    try:
        again = await asyncio.to_thread(refit)
    except NotFoundError:  # deleted meanwhile: the refusal stands
        return prompt, result
    except ConfigError as exc:
        return prompt, replace(result, error=f"{result.error} (shortening to fit failed: {exc})")
    if again is None:
        return prompt, result
    second = await client.complete(again.system, again.user)
    second.attempts += result.attempts
    return again, second
