"""`benchmarks/explain_browse.py` prints each Browse view's statements with a real plan, on both back ends."""

import subprocess
import sys
from pathlib import Path

from mira_core.bench.browser_corpus import fill_store

ROOT = Path(__file__).resolve().parents[2]


def test_every_view_gets_its_statements_timed_and_planned(engine, db_url):
    fill_store(engine, 80)
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "explain_browse.py"), db_url],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    sections = out.stdout.split("\n## ")
    names = [s.split(":")[0].lstrip("# ") for s in sections]
    assert names == ["imported", "imported_filtered", "score", "score_filtered", "tokens", "tokens_filtered",
                     "text", "text_rarer", "last_page"]
    for section in sections:
        assert "```sql\nSELECT" in section  # each view's statements are shown
        assert "nan ms" not in section
        plans = section.split("```")[3::4]  # the plan block after each statement block
        assert plans and all(p.strip() for p in plans)
        word = "Execution Time" if engine.dialect.name == "postgresql" else ("SCAN", "SEARCH")
        assert all((word in p) if isinstance(word, str) else any(w in p for w in word) for p in plans)
