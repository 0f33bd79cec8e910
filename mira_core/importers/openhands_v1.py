"""OpenHands V1 events (the software-agent-sdk schema of current OpenHands) -> steps.

Every event names its class in `kind`. The ones that carry agent behaviour:
- `SystemPromptEvent`: `system_prompt` {text} (+ `dynamic_context`), the tools it lists are left out;
- `MessageEvent`: `source` user/agent, `llm_message` {role, content: [{type: text, text}], reasoning_content};
- `ActionEvent`: `thought` [{text}], `reasoning_content`, `tool_name`, `action` {kind, ...arguments} (null when
  the call could not be executed: then `tool_call.arguments`, a JSON string, are the arguments);
  `FinishAction` {message} ends the run, `ThinkAction` {thought} is a thought;
- `ObservationEvent`: `tool_name`, `observation` {kind, ...}: the text is `output` (2025 tools), else
  `content` (a string or [{type: text, text}]); the exit code is `exit_code`, or `metadata.exit_code` where
  the top-level one is null; failure is `error` (true or a message) or `is_error`;
- `AgentErrorEvent` {tool_name, error}, `UserRejectObservation` {rejection_reason}, `ConversationErrorEvent`
  {code, detail}: failures; `CondensationSummaryEvent` {summary}: what the agent was told of the past.
State changes, pauses, condensation bookkeeping and token streams carry no behaviour and are left out.
The model is not in the events (`metadata.llm.model` of an output row names it).
"""

from __future__ import annotations

import json
from collections import Counter

from mira_core.errors import ImportRejected
from mira_core.importers.common import as_dict, opt_str, text_of
from mira_core.importers.openhands_events import EventsResult, event_steps
from mira_core.jsonstream import JSONArray, JSONObject, JSONValue
from mira_core.records import Step, StepKind

V1_KINDS = frozenset({
    "SystemPromptEvent", "MessageEvent", "ActionEvent", "ObservationEvent", "AgentErrorEvent",
    "UserRejectObservation", "ConversationErrorEvent", "CondensationSummaryEvent", "Condensation",
    "CondensationRequest", "ConversationStateUpdateEvent", "PauseEvent", "InterruptEvent", "TokenEvent",
})
_NOISE_ARGS = frozenset({"kind", "security_risk", "summary", "is_input", "reset", "timeout"})
_SILENT_OBSERVATIONS = frozenset({"FinishObservation", "ThinkObservation"})  # they repeat their action


def is_v1_event(obj: JSONValue) -> bool:
    """Whether `obj` is an event of the V1 schema: a known `kind` and an id, source or timestamp."""
    return (isinstance(obj, dict) and obj.get("kind") in V1_KINDS
            and ("source" in obj or "id" in obj or "timestamp" in obj))


def _tool_args(e: JSONObject, action: JSONObject) -> JSONObject | None:
    if not action:  # not executed: the model's raw call is all there is
        try:
            parsed = json.loads(str(as_dict(e.get("tool_call")).get("arguments") or "{}"))
        except ValueError:
            return None
        action = parsed if isinstance(parsed, dict) else {}
    out: JSONObject = {k: v for k, v in action.items() if k not in _NOISE_ARGS and v is not None}
    return out or None


def _exit_code(obs: JSONObject) -> int | None:
    for holder in (obs, as_dict(obs.get("metadata"))):
        code = holder.get("exit_code")
        if isinstance(code, int) and not isinstance(code, bool):
            return code
    return None


def _observation_text(obs: JSONObject) -> str:
    for key in ("output", "content", "message"):
        value = obs.get(key)
        if isinstance(value, str | list) and value:
            return text_of(value)
    return text_of(obs.get("error")) if isinstance(obs.get("error"), str) else ""


class V1Reader:
    """Turns V1 events into steps, one at a time, into an `EventsResult`."""

    def __init__(self, out: EventsResult) -> None:
        self.out = out

    def read(self, e: JSONObject) -> None:
        """Add the steps of one event (none for plumbing events)."""
        handler = _HANDLERS.get(str(e.get("kind")))
        if handler is not None:
            handler(self, e)

    def _add(self, **kw: object) -> None:
        self.out.steps.append(Step(**kw))  # type: ignore[arg-type]

    def _system(self, e: JSONObject) -> None:
        parts = [text_of(as_dict(e.get(k)).get("text")) for k in ("system_prompt", "dynamic_context")]
        self._add(role="system", kind=StepKind.system, content="\n\n".join(p for p in parts if p))

    def _message(self, e: JSONObject) -> None:
        msg = as_dict(e.get("llm_message"))
        role = opt_str(e.get("source")) or opt_str(msg.get("role")) or "user"
        text = text_of(msg.get("content"))
        if role == "user":
            self.out.first_user = self.out.first_user or text
            self._add(role=role, kind=StepKind.user, content=text)
            return
        reasoning = text_of(msg.get("reasoning_content"))
        if reasoning.strip():
            self._add(role=role, kind=StepKind.thought, content=reasoning)
        self._add(role=role, kind=StepKind.message, content=text)

    def _action(self, e: JSONObject) -> None:
        role = opt_str(e.get("source")) or "agent"
        action = as_dict(e.get("action"))
        kind = opt_str(action.get("kind")) or ""
        tool = opt_str(e.get("tool_name")) or kind or "action"
        thought = text_of(e.get("thought")) or text_of(e.get("reasoning_content"))
        if kind == "ThinkAction":
            thought = "\n\n".join(t for t in (thought, text_of(action.get("thought"))) if t.strip())
        if thought.strip():
            self._add(role=role, kind=StepKind.thought, content=thought, tool_name=tool if kind == "ThinkAction" else None)
        if kind == "ThinkAction":
            return
        content = ""
        if kind == "FinishAction" or tool == "finish":
            self.out.finished = True
            content = text_of(action.get("message"))
        self._add(role=role, kind=StepKind.action, content=content, tool_name=tool, tool_args=_tool_args(e, action))

    def _observation(self, e: JSONObject) -> None:
        obs = as_dict(e.get("observation"))
        if obs.get("kind") in _SILENT_OBSERVATIONS:
            return
        code = _exit_code(obs)
        err = obs.get("error")
        failed = err is True or (isinstance(err, str) and bool(err)) or obs.get("is_error") is True or (
            code is not None and code != 0)
        self._add(role=opt_str(e.get("source")) or "environment", kind=StepKind.observation,
                  content=_observation_text(obs), tool_name=opt_str(e.get("tool_name")) or opt_str(obs.get("kind")),
                  exit_code=code, error=failed)

    def _failure(self, e: JSONObject) -> None:
        """AgentErrorEvent / UserRejectObservation: a tool call that failed or was refused."""
        if e.get("kind") == "UserRejectObservation":
            text = "Action rejected: " + (text_of(e.get("rejection_reason")) or "rejected")
        else:
            text = text_of(e.get("error"))
        self._add(role=opt_str(e.get("source")) or "environment", kind=StepKind.observation, content=text,
                  tool_name=opt_str(e.get("tool_name")), error=True)

    def _conversation_error(self, e: JSONObject) -> None:
        text = ": ".join(t for t in (text_of(e.get("code")), text_of(e.get("detail"))) if t)
        self._add(role=opt_str(e.get("source")) or "environment", kind=StepKind.message, content=text, error=True)

    def _summary(self, e: JSONObject) -> None:
        self._add(role=opt_str(e.get("source")) or "environment", kind=StepKind.message,
                  content=text_of(e.get("summary")))


_HANDLERS = {
    "SystemPromptEvent": V1Reader._system,
    "MessageEvent": V1Reader._message,
    "ActionEvent": V1Reader._action,
    "ObservationEvent": V1Reader._observation,
    "AgentErrorEvent": V1Reader._failure,
    "UserRejectObservation": V1Reader._failure,
    "ConversationErrorEvent": V1Reader._conversation_error,
    "CondensationSummaryEvent": V1Reader._summary,
}


def read_event_list(events: JSONArray, where: str) -> EventsResult:
    """Steps of an OpenHands event list of either schema (V1 when any event is one, else V0's dialects).

    A non-empty list that yields no step is rejected with the kinds of events it held: an empty record
    would look like a successful import of nothing.
    """
    if any(is_v1_event(e) for e in events):
        reader = V1Reader(EventsResult())
        for i, e in enumerate(events):
            if not isinstance(e, dict):
                raise ImportRejected(where, f"event {i} is {type(e).__name__}, not an object")
            reader.read(e)
        out = reader.out
    else:
        out = event_steps(events, where)
    if events and not out.steps:
        kinds = Counter(_kind_of(e) for e in events)
        listed = ", ".join(f"{k} ×{n}" for k, n in kinds.most_common(5))
        n = f"{len(events)} event" + ("" if len(events) == 1 else "s")
        raise ImportRejected(where, f"{n} but none this importer reads as a step ({listed}): not imported")
    return out


def _kind_of(e: JSONValue) -> str:
    if not isinstance(e, dict):
        return type(e).__name__
    for key in ("kind", "action", "observation"):
        if isinstance(e.get(key), str) and e[key]:
            return f"{key} {e[key]}" if key != "kind" else str(e[key])
    return "event without kind, action or observation"
