"""OpenHands V0 event streams -> steps, for all three event dialects seen in real files.

- normal: an action has `action` + `args`; an observation has `observation`, `content`, `extras`.
- flattened (ADP @80a1efb): every key present, unused ones null, and the action's args sit in `extras`.
- inline (resolver mock output, 2024): no `args`/`extras`/`source`; the fields sit on the event itself.

Plumbing events (agent state changes, `null` observations, recall of workspace context, initialize) carry
no agent behaviour and are left out of the timeline. With native tool calling `args.thought` is empty and
the visible reasoning is `tool_call_metadata.model_response.choices[0].message.content`; it is read once
per model response (several tool calls can share one) and the huge response object is never copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mira_core.errors import ImportRejected
from mira_core.importers.common import as_dict, opt_str, text_of
from mira_core.jsonstream import JSONArray, JSONObject, JSONValue
from mira_core.records import Step, StepKind

# Event keys that are not arguments (for the inline dialect, where arguments sit on the event itself).
_EVENT_KEYS = frozenset(
    {"id", "timestamp", "source", "message", "cause", "action", "observation", "tool_call_metadata",
     "llm_metrics", "timeout", "success", "args", "extras", "content"}
)
# Arguments that describe how a tool ran, not what it did; left out of `tool_args`.
_NOISE_ARGS = frozenset(
    {"thought", "blocking", "is_static", "hidden", "confirmation_state", "security_risk", "impl_source",
     "is_confirmed", "keep_prompt", "action_risk", "kernel_init_code", "images_urls", "image_urls",
     "wait_for_response", "include_extra", "translated_ipython_code", "openhands_version", "tools",
     "agent_class", "content"}
)
_SKIP_ACTIONS = frozenset({"change_agent_state", "initialize", "recall", "null"})
_SKIP_OBSERVATIONS = frozenset({"agent_state_changed", "null", "recall", "think"})


@dataclass
class EventsResult:
    """Steps of an event stream plus what the events say about the run."""

    steps: list[Step] = field(default_factory=list)
    agent: str | None = None
    model: str | None = None
    finished: bool = False
    first_user: str = ""


def _args_of(e: JSONObject) -> JSONObject:
    args = e.get("args")
    if isinstance(args, dict):
        return args
    extras = e.get("extras")
    if isinstance(extras, dict):  # flattened dialect: the action's args live in `extras`
        return extras
    return {k: v for k, v in e.items() if k not in _EVENT_KEYS}


def _extras_of(e: JSONObject) -> JSONObject:
    extras = e.get("extras")
    if isinstance(extras, dict):
        return extras
    return {k: v for k, v in e.items() if k not in _EVENT_KEYS}


def _tool_args(args: JSONObject) -> JSONObject | None:
    out: JSONObject = {k: v for k, v in args.items() if k not in _NOISE_ARGS and v is not None}
    if out.get("is_input") is False:
        del out["is_input"]
    return out or None


def _exit_code(extras: JSONObject) -> int | None:
    for holder in (as_dict(extras.get("metadata")), extras):
        code = holder.get("exit_code")
        if isinstance(code, int) and not isinstance(code, bool):
            return code
    return None


class _Reader:
    """Walks one event list; keeps the state that spans events (seen model responses, first user turn)."""

    def __init__(self) -> None:
        self.out = EventsResult()
        self.seen_responses: set[str] = set()
        self.agent_acted = False

    def _visible_thought(self, e: JSONObject, args: JSONObject) -> str:
        thought = args.get("thought")
        if isinstance(thought, str) and thought.strip():
            return thought
        resp = as_dict(as_dict(e.get("tool_call_metadata")).get("model_response"))
        if not resp:
            return ""
        rid = str(resp.get("id") or id(resp))
        if rid in self.seen_responses:
            return ""
        self.seen_responses.add(rid)
        if self.out.model is None:
            self.out.model = opt_str(resp.get("model"))
        choices = resp.get("choices")
        if isinstance(choices, list) and choices:
            return text_of(as_dict(as_dict(choices[0]).get("message")).get("content"))
        return ""

    def action(self, e: JSONObject, kind: str) -> None:
        args = _args_of(e)
        source = opt_str(e.get("source"))
        if kind == "initialize":
            self.out.agent = self.out.agent or opt_str(args.get("AGENT"))
            self.out.model = self.out.model or opt_str(args.get("LLM_MODEL"))
        if kind in _SKIP_ACTIONS:
            return
        steps = self.out.steps
        if kind == "system":
            self.out.agent = self.out.agent or opt_str(args.get("agent_class"))
            steps.append(Step(role="system", kind=StepKind.system, content=text_of(args.get("content") or e.get("message"))))
            return
        if kind == "message":
            role = source or ("agent" if self.agent_acted else "user")
            text = text_of(args.get("content") or e.get("content") or e.get("message"))
            if role == "user":
                if not self.out.first_user:
                    self.out.first_user = text
                steps.append(Step(role=role, kind=StepKind.user, content=text))
            else:
                thought = self._visible_thought(e, args)
                if thought.strip() and thought.strip() != text.strip():
                    steps.append(Step(role=role, kind=StepKind.thought, content=thought))
                steps.append(Step(role=role, kind=StepKind.message, content=text))
                self.agent_acted = True
            return
        role = source or "agent"
        self.agent_acted = True
        thought = self._visible_thought(e, args)
        tool = opt_str(as_dict(e.get("tool_call_metadata")).get("function_name")) or kind
        if kind == "think":
            if thought.strip():
                steps.append(Step(role=role, kind=StepKind.thought, content=thought, tool_name=tool))
            return
        if thought.strip():
            steps.append(Step(role=role, kind=StepKind.thought, content=thought))
        content = ""
        if kind == "finish":
            self.out.finished = True
            content = text_of(args.get("final_thought") or args.get("content") or e.get("message") or "")
        steps.append(Step(role=role, kind=StepKind.action, content=content, tool_name=tool, tool_args=_tool_args(args)))

    def observation(self, e: JSONObject, kind: str) -> None:
        if kind in _SKIP_OBSERVATIONS:
            return
        extras = _extras_of(e)
        code = _exit_code(extras)
        tool = opt_str(as_dict(e.get("tool_call_metadata")).get("function_name")) or kind
        content = text_of(e.get("content"))
        # The editor reports a failed edit as an observation whose text starts with "ERROR:".
        failed = kind == "error" or (code is not None and code != 0) or content.startswith("ERROR:\n")
        self.out.steps.append(
            Step(
                role=opt_str(e.get("source")) or "environment",
                kind=StepKind.observation,
                content=content,
                tool_name=tool,
                exit_code=code,
                error=failed,
            )
        )

    def other(self, e: JSONObject) -> None:
        """An event that is neither action nor observation: an error notice or a bare message."""
        role = opt_str(e.get("source")) or "environment"
        if e.get("error") is not None:
            code = e.get("error_code")
            text = text_of(e.get("error")) + (f" (code {code})" if code is not None else "")
            self.out.steps.append(Step(role=role, kind=StepKind.message, content=text, error=True))
            return
        text = text_of(e.get("content") or e.get("message"))
        if text.strip():
            self.out.steps.append(Step(role=role, kind=StepKind.message, content=text))


def event_steps(events: JSONArray, where: str) -> EventsResult:
    """Steps, agent, model and end state of an OpenHands event list (any dialect)."""
    reader = _Reader()
    for i, e in enumerate(events):
        if not isinstance(e, dict):
            raise ImportRejected(where, f"event {i} is {type(e).__name__}, not an object")
        action, observation = e.get("action"), e.get("observation")
        if isinstance(action, str) and action:
            reader.action(e, action)
        elif isinstance(observation, str) and observation:
            reader.observation(e, observation)
        else:
            reader.other(e)
    return reader.out


def looks_like_event(obj: JSONValue) -> bool:
    """Whether `obj` is an OpenHands event.

    An OpenHands event: an object with an `action` or `observation` key (null in the flattened dialect) and an
    id, a source or a timestamp.
    """
    return (
        isinstance(obj, dict)
        and ("action" in obj or "observation" in obj)
        and ("source" in obj or "id" in obj or "timestamp" in obj)
    )
