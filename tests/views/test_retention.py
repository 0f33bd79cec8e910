"""Retention view: record links, escaped histogram titles, the summary table; the page's loaders."""

import numpy as np

from mira_core.selection.data import make_data
from mira_core.selection.preview import Cut, PreviewSettings, details, precompute, preview
from mira_core.views.retention import histogram, record_link, summary_table


def test_record_links_only_for_plain_ids_and_titles_escaped():
    assert record_link("abc123", 6.5) == "[`abc123`](record?id=abc123) (6.500)"
    bad = record_link("x)](javascript:alert(1)", 1.0)
    assert "](" not in bad.replace("`x)](javascript:alert(1)`", "")  # shown as code, never a link target
    data = make_data(["r1"], ("<a href='x'>s</a>",), np.array([0]), np.array([10]), np.full((1, 15), 5.0),
                     np.array([True]))
    pre = precompute(data, np.zeros((1, 15), dtype=bool))
    p = preview(pre, PreviewSettings(cuts={"<a href='x'>s</a>": Cut("threshold", 0)}))
    fig = histogram(details(pre, p.counts)[0], "mean")
    assert "<a" not in fig.layout.title.text
    table = summary_table(p)
    assert table["kept"].tolist() == [1, 1] and table["source"].tolist()[-1] == "total"
