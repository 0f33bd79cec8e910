"""A trajectory whose every text field carries an XSS / leak payload (the browser must show it as text)."""

from __future__ import annotations

from mira_core.records import Outcome, Record, Step, StepKind, make_record_id

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
JS_LINK = "[click](javascript:window.__xss=3)"
DATA_LINK = "[d](data:text/html,<script>alert(1)</script>)"
REMOTE_IMG = "![](http://127.0.0.1:9/leak.png)"
ANSI = "\u001b[31mred\u001b[0m"
SERVER_PATH = "/etc/passwd"
PAYLOADS = (SCRIPT, IMG, JS_LINK, DATA_LINK, REMOTE_IMG, ANSI, SERVER_PATH)
# Blank lines between payloads: otherwise the `<img>` line opens a CommonMark HTML block that swallows the
# following lines, and a page that wrongly used st.markdown would still look safe (checked: it did).
ALL = "\n\n".join(PAYLOADS)
# Markdown-only payloads for the issue (rendered as safe markdown): each would load, link or run something.
REF_IMG = "![ref][leak]\n\n[leak]: http://127.0.0.1:9/ref.png"
DATA_IMG = "![d](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"
HTML_LINK = '<a href="javascript:window.__xss=4">html link</a>'
IFRAME = '<iframe src="http://127.0.0.1:9/frame"></iframe>'
ANGLE_JS = "<javascript:window.__xss=5>"
GOOD_LINK = "[a fine link](https://example.org/docs)"
ISSUE_MARKDOWN = "\n\n".join(("**bold issue** and `<b>code</b>`", REF_IMG, DATA_IMG, HTML_LINK, IFRAME, ANGLE_JS,
                                GOOD_LINK, "mail me@example.org"))
ONE_LINE = " ".join(p for p in PAYLOADS if p != ANSI)


def xss_patch() -> str:
    path = "x/![](http://127.0.0.1:9/leak.png).py"
    body = "".join(f"+{p}\n" for p in PAYLOADS)
    return f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -0,0 +1,{len(PAYLOADS)} @@\n{body}"


def xss_record() -> Record:
    """Payloads in issue, instance id, agent, model, exit status, every step field and the patch."""
    steps = [
        Step(role="user", kind=StepKind.user, content=ALL),
        Step(role="assistant", kind=StepKind.thought, content=ALL),
        Step(role="assistant", kind=StepKind.action, tool_name=REMOTE_IMG, content=ALL,
             tool_args={"command": ALL, SCRIPT: REMOTE_IMG, "path": SERVER_PATH}),
        Step(role="tool", kind=StepKind.observation, tool_name=DATA_LINK, content=ALL, exit_code=1, error=True),
        Step(role="assistant", kind=StepKind.message, content=SERVER_PATH),
    ]
    raw = ALL.encode()
    return Record(
        record_id=make_record_id("xss_src", raw),
        source="xss_src",
        format="messages",
        instance_id=ONE_LINE,
        repo=REMOTE_IMG,
        issue=ALL + "\n\n" + ISSUE_MARKDOWN,
        steps=steps,
        patch=xss_patch(),
        outcome=Outcome.unknown,
        agent=IMG,
        model=JS_LINK,
        exit_status=DATA_LINK,
        origin=SERVER_PATH,
    )
