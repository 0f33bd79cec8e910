"""Browse: one page of records from the database, filtered and sorted; the URL holds the whole view."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler
from streamlit.delta_generator import DeltaGenerator
from ui.bulk_tag import render_bulk_tag
from ui.common import current_params, shortcut_table, show_problems, synthetic_marker
from ui.db import dimension_names, engine, filter_options, store_has_synthetic, token_bounds

from mira_core.dimensions import SLOTS
from mira_core.errors import MiraError
from mira_core.query import RecordFilter, SortKey, search_words
from mira_core.records import Outcome
from mira_core.storage import read_conn
from mira_core.views import BrowseView, escape_markdown, view_from_params, view_to_params, visible_controls
from mira_core.views.browse import BrowsePage, load_browse_page, tag_names
from mira_core.views.browse_params import (
    OVERRIDES,
    PAGE_SIZES,
    RECOMMENDATIONS,
    SORT_COLUMNS,
    SPOT_CHECKS,
    record_params,
)

SORT_LABELS = {
    "imported_at": "imported",
    "token_estimate": "tokens",
    "n_steps": "steps",
    "n_errors": "errors",
    "instance_id": "instance id",
    "source": "source",
    "record_id": "record id",
    "overall": "score (latest student overall)",
}
OVERRIDE_LABELS: dict[str | None, str] = {None: "any", "force_keep": "force keep", "force_drop": "force drop", "any": "keep or drop",
                   "none": "no override"}
SPOT_LABELS: dict[str | None, str] = {None: "any", "in_spot_check": "in a spot-check", "reviewed": "reviewed by a human",
               "not_reviewed": "waiting for review"}
SCORED_LABELS: dict[bool | None, str] = {None: "any", True: "has a complete student score", False: "no complete student score"}
DIMENSION_NAMES = {slot: f"{slot} · {d.name}" for slot, d in dimension_names().items()}
COLUMNS = {
    "instance_id": "instance",
    "title": "issue",
    "overall": "score",
    "tags": "tags",
    "override": "override",
    "outcome": "outcome",
    "token_estimate": "tokens",
    "n_steps": "steps",
    "n_errors": "errors",
    "source": "source",
    "agent": "agent",
    "model": "model",
    "format": "format",
    "synthetic": "synthetic",
    "imported_at": "imported",
    "record_id": "record id",
}
# The columns beside A1..A15: what identifies a record and its curation, so 15 more columns fit. (Comments,
# not attribute docstrings, in pages: Streamlit's magic draws a module-level string literal on the page.)
COMPACT = {k: COLUMNS[k] for k in ("instance_id", "title", "overall", "outcome", "tags",
                                    "override")}
ss = st.session_state


def _sync_widgets(view: BrowseView, sig: str) -> None:
    """Set widget state from the URL when the URL changed (shared link, back button) or widgets are new."""
    if ss.get("browse_sig") == sig and "browse_q" in ss:
        return
    f = view.filter
    ss.browse_source = list(f.sources)
    ss.browse_outcome = [o.value for o in f.outcomes]
    ss.browse_agent = list(f.agents)
    ss.browse_model = list(f.models)
    ss.browse_format = list(f.formats)
    ss.browse_tmin = f.min_tokens
    ss.browse_tmax = f.max_tokens
    ss.browse_q = f.text
    ss.browse_tag = list(f.tags)
    ss.browse_override = f.override
    ss.browse_spot = f.spot_check
    ss.browse_scored = f.scored
    ss.browse_omin = f.min_overall
    ss.browse_omax = f.max_overall
    ss.browse_rec = list(f.recommendations)
    ss.browse_dims = list(f.dim_min)
    for dim in SLOTS:
        ss[f"browse_dim_{dim}"] = f.dim_min.get(dim)
    ss.browse_sort = view.sort.column
    ss.browse_desc = view.sort.descending
    ss.browse_size = view.page_size
    ss.browse_page = view.page
    ss.browse_anchors = view.anchors
    ss.browse_sig = sig


def _options(known: list[str], chosen: list[str]) -> list[str]:
    # A value from a shared URL that is not in the store (yet) stays selectable instead of erroring.
    return known + [c for c in chosen if c not in known]


def _tags() -> list[str]:
    """Every tag in use (a GROUP BY over record_tags, small); read each run so a bulk tag shows at once."""
    try:
        with read_conn(engine()) as conn:
            return tag_names(conn)
    except MiraError:
        return []


def _curation_filters() -> dict:
    """Tags, override, spot-check status and the latest student score (issue 4 / issue 2 score columns)."""
    side = st.sidebar
    side.subheader("Curation")
    side.multiselect("Tags (records with all of them)", _options(_tags(), ss.browse_tag), key="browse_tag")
    overrides: list[str | None] = [None, *OVERRIDES]
    side.selectbox("Override", overrides, format_func=lambda v: OVERRIDE_LABELS[v], key="browse_override",
                   placeholder="any")
    spot_checks: list[str | None] = [None, *SPOT_CHECKS]
    side.selectbox("Spot-check", spot_checks, format_func=lambda v: SPOT_LABELS[v], key="browse_spot",
                   placeholder="any")
    side.subheader("Student score")
    scored: list[bool | None] = [None, True, False]
    side.selectbox("Scored", scored, format_func=lambda v: SCORED_LABELS[v], key="browse_scored", placeholder="any")
    c1, c2 = side.columns(2)
    c1.number_input("Min overall", min_value=0, max_value=100, value=None, step=5, key="browse_omin", placeholder="0")
    c2.number_input("Max overall", min_value=0, max_value=100, value=None, step=5, key="browse_omax",
                    placeholder="100")
    side.multiselect("Recommendation", RECOMMENDATIONS, key="browse_rec")
    side.toggle("Show A1–A15 columns", key="browse_anchors",
                help="The latest complete student score of each anchor; cells masked for the record's source "
                     "by the active mask are blank.")
    side.multiselect("Dimension minimums", SLOTS, key="browse_dims",
                     help="Latest complete student score: each chosen dimension at least this value (0-10).")
    dims: dict[str, float] = {}
    for dim in ss.browse_dims:
        value = side.number_input(f"{dim} at least", min_value=0.0, max_value=10.0, value=None, step=1.0,
                                  key=f"browse_dim_{dim}", placeholder="0-10")
        if value is not None:
            dims[dim] = float(value)
    return {
        "tags": ss.browse_tag, "override": ss.browse_override, "spot_check": ss.browse_spot,
        "scored": ss.browse_scored, "min_overall": ss.browse_omin, "max_overall": ss.browse_omax, "dim_min": dims,
        "recommendations": ss.browse_rec,
    }


def _filters(opts: dict[str, list[str]], lo: int, hi: int) -> tuple[RecordFilter, DeltaGenerator]:
    """The sidebar's filters, and a place under their header for "Clear filters" (drawn once the view is read)."""
    side = st.sidebar
    side.header("Filters")
    clear = side.container()
    for col, label in (("source", "Source"), ("agent", "Agent"), ("model", "Model"), ("format", "Format")):
        side.multiselect(label, _options(opts[col], ss[f"browse_{col}"]), key=f"browse_{col}")
    side.multiselect("Outcome", [o.value for o in Outcome], key="browse_outcome")
    c1, c2 = side.columns(2)
    c1.number_input("Min tokens", min_value=0, value=None, step=1000, key="browse_tmin", placeholder=f"{lo:,}")
    c2.number_input("Max tokens", min_value=0, value=None, step=1000, key="browse_tmax", placeholder=f"{hi:,}")
    curation = _curation_filters()
    return RecordFilter(
        **curation,
        sources=ss.browse_source,
        outcomes=ss.browse_outcome,
        agents=ss.browse_agent,
        models=ss.browse_model,
        formats=ss.browse_format,
        min_tokens=ss.browse_tmin,
        max_tokens=ss.browse_tmax,
        text=(ss.browse_q or "").strip(),  # the search box is drawn later, in the main area
    ), clear


def _step_page(delta: int, n_pages: int) -> None:
    ss.browse_page = min(max(1, ss.browse_page + delta), n_pages)


def _table(page: pd.DataFrame) -> pd.DataFrame:
    """The shown columns; with A1..A15 a compact set (the rest stay one toggle away) so the table fits the page."""
    anchors = SLOTS[0] in page.columns
    names = COMPACT if anchors else COLUMNS
    shown = page[list(names)].rename(columns=names)
    if anchors:  # after "score"
        at = list(shown.columns).index("score") + 1
        shown = pd.concat([shown.iloc[:, :at], page[list(SLOTS)], shown.iloc[:, at:]], axis=1)
    for col in ("instance", "issue", "agent", "model"):
        if col in shown.columns:
            shown[col] = shown[col].map(lambda v: visible_controls(v, keep_newlines=False) if isinstance(v, str) else v)
    shown["tags"] = shown["tags"].map(", ".join)
    return shown


# Background at score 0, 5 and 10 (light red, yellow, green: dark text stays readable on each).
HEAT = ((248, 165, 160), (250, 230, 150), (160, 215, 165))


def _heat(value: float) -> str:
    """The background of an anchor score cell; none for a blank (masked or unscored) one."""
    if pd.isna(value):
        return ""
    t = min(max(float(value) / 5.0, 0.0), 2.0)
    lo, hi = (HEAT[0], HEAT[1]) if t <= 1 else (HEAT[1], HEAT[2])
    f = t if t <= 1 else t - 1
    r, g, b = (round(x + (y - x) * f) for x, y in zip(lo, hi, strict=True))
    return f"background-color: rgb({r}, {g}, {b})"


def _styled(shown: pd.DataFrame) -> pd.DataFrame | Styler:
    """Blank, not "None", for missing scores; anchor cells heat-coloured."""
    styler = shown.style.format(na_rep="", subset=[c for c in ("score", *SLOTS) if c in shown.columns],
                                formatter=lambda v: f"{v:g}")
    if SLOTS[0] in shown.columns:
        styler = styler.map(_heat, subset=list(SLOTS))
    return styler


def _read(url: str, view: BrowseView) -> BrowsePage:
    """One page for the view (page number clamped); errors become a message on the page."""
    try:
        with read_conn(engine()) as conn:
            page = load_browse_page(conn, view, store_has_synthetic=store_has_synthetic(url))
    except MiraError as e:
        st.error("Could not read records: " + escape_markdown(str(e).splitlines()[0] if str(e) else type(e).__name__))
        st.stop()
    ss.browse_page = page.view.page
    return page


def _column_config(*, compact: bool) -> dict:
    """Column widths: with A1..A15 shown every column gets a fixed narrow width so the table fits 1500 px."""
    def w(px: int, wide: Literal["medium"] | None = None) -> Literal["medium"] | int | None:
        return px if compact else wide
    return {
        "tokens": st.column_config.NumberColumn(format="%d", width=w(66)),
        "score": st.column_config.NumberColumn(format="%d", width=w(48),
                                               help="Latest complete student overall score (0-100)"),
        "instance": st.column_config.TextColumn(width=w(116, "medium")),
        **{a: st.column_config.NumberColumn(format="%g", width=30, help=escape_markdown(DIMENSION_NAMES.get(a, a)))
           for a in SLOTS},
        "issue": st.column_config.TextColumn(width=w(150, "medium")),
        "outcome": st.column_config.TextColumn(width=w(84)),
        "tags": st.column_config.TextColumn(width=w(70), help="Curator tags"),
        "override": st.column_config.TextColumn(width=w(76), help="Curator override: force keep or force drop"),
    }


def _render_table(rows: pd.DataFrame) -> list[int]:
    """The page of rows; returns the selected row positions (a selection opens the record)."""
    gen = ss.setdefault("browse_table_gen", 0)
    event = st.dataframe(
        _styled(_table(rows)),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=f"browse_table_{gen}",
        height=max(min(len(rows), 20), 1) * 35 + 38,
        column_config=_column_config(compact=bool(ss.browse_anchors)),
    )
    return list(event.selection.rows) if event is not None else []


def _render_paging(page: BrowsePage) -> bool:
    """Previous / next page (P / N) and "Open first" (O); returns whether "Open first" was pressed."""
    view = page.view
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Previous page", key="browse_prev", shortcut="P", disabled=view.page <= 1,
                  on_click=_step_page, args=(-1, page.n_pages), icon=":material/chevron_left:")
        st.button("Next page", key="browse_next", shortcut="N", disabled=view.page >= page.n_pages,
                  on_click=_step_page, args=(1, page.n_pages), icon=":material/chevron_right:")
        open_first = st.button("Open first", key="browse_open_first", shortcut="O", disabled=page.rows.empty,
                               icon=":material/open_in_new:")
        st.number_input("Page", min_value=1, max_value=page.n_pages, step=1, key="browse_page",
                        label_visibility="collapsed", width=110)
        st.caption(f"page {view.page:,} of {page.n_pages:,} · select a row to open it")
    return open_first


def _bulk_actions(page: BrowsePage) -> None:
    """Actions on EVERY record the filter matches (not just this page): tag them, or score them."""
    if page.total == 0:
        return
    with st.expander(f"Bulk actions on every match ({page.total_label} records)", icon=":material/select_all:"):
        st.page_link("screens/scoring.py", label=f"Score these {page.total_label} records",
                     icon=":material/speed:", query_params=view_to_params(page.view.model_copy(update={"page": 1})))
        render_bulk_tag(page.view.filter, n=page.total, exact=page.exact)


def _search_and_sort() -> SortKey:
    """The search box (a search runs on Enter) and the sort and page-size controls above the table."""
    top = st.columns([4, 2, 1.4, 1], vertical_alignment="bottom")
    top[0].text_input("Search issue, instance id and patch", key="browse_q",
                      placeholder="words that must all occur, then Enter")
    top[1].selectbox("Sort by", SORT_COLUMNS, format_func=lambda c: SORT_LABELS.get(c, c), key="browse_sort")
    top[2].toggle("Descending", key="browse_desc")
    top[3].selectbox("Rows", PAGE_SIZES, key="browse_size")
    return SortKey(column=ss.browse_sort, descending=ss.browse_desc)


def _wordless(query: str) -> None:
    """Say so when the search text has no word to look for (it is then no filter), instead of ignoring it silently."""
    if query and not search_words(query):
        st.caption(f"“{escape_markdown(query, max_chars=80)}” has no word to search for (letters or digits): "
                   "the search filters nothing.")


def _params() -> dict[str, list[str]]:
    """The URL's view; a bare URL in a session that has browsed (the sidebar's link) opens its last view."""
    params = current_params()
    if not params and (last := ss.get("browse_last")):
        st.query_params.from_dict(last)  # the address shows (and shares) the view on screen
        return dict(last)
    return params


def _clear_filters(sort: SortKey, size: int, anchors: bool) -> None:
    """Back to every record (search included), keeping the sort, page size and columns."""
    view = BrowseView(filter=RecordFilter(), sort=sort, page=1, page_size=size, anchors=anchors)
    st.query_params.from_dict(view_to_params(view))
    ss.pop("browse_sig", None)  # the next run sets the widgets from the URL


def _follow(view: BrowseView, sig: str) -> None:
    """The URL follows the view on screen, and the session keeps it for the sidebar's link back."""
    params = view_to_params(view)
    if (new_sig := repr(sorted(params.items()))) != sig:
        st.query_params.from_dict(params)
        ss.browse_sig = new_sig
    ss.browse_last = params


def main() -> None:
    """Render the page: URL -> widgets -> one page from the database -> URL."""
    parsed = view_from_params(_params())
    sig = repr(sorted(view_to_params(parsed.view).items()))
    _sync_widgets(parsed.view, sig)
    url = str(engine().url.render_as_string(hide_password=False))
    lo, hi = token_bounds(url)

    st.title("Browse")
    show_problems(parsed.problems)
    flt, clear = _filters(filter_options(url), lo, hi)
    sort = _search_and_sort()
    if (flt, sort, ss.browse_size) != (parsed.view.filter, parsed.view.sort, parsed.view.page_size):
        ss.browse_page = 1  # a new filter starts at its first page

    view = BrowseView(filter=flt, sort=sort, page=ss.browse_page, page_size=ss.browse_size,
                      anchors=bool(ss.browse_anchors))
    _wordless(flt.text)
    searched = f" for “{escape_markdown(flt.text, max_chars=80)}”" if flt.text else ""
    count_line = st.empty()  # says it is searching while the query runs (a search of 232K records takes a moment)
    if flt.text:
        count_line.markdown(f":material/search: Searching{searched}…")
    page = _read(url, view)
    _follow(page.view, sig)
    clear.button("Clear filters", key="browse_clear", icon=":material/filter_alt_off:", disabled=flt == RecordFilter(),
                 on_click=_clear_filters, args=(sort, view.page_size, view.anchors))

    if page.synthetic:
        synthetic_marker()
    if page.total == 0 and flt == RecordFilter():
        st.info("No records yet. Import trajectories with `mira-curator import PATH --source NAME`, "
                "or load the demo corpus with `mira-curator demo`.", icon=":material/inbox:")
    count_line.markdown(f"**{page.total_label}** matching records{searched} · showing {page.first_row:,}–{page.last_row:,}"
                        + ("" if page.exact else f" · pages reach the first {page.n_pages * page.view.page_size:,}: "
                           "add words or filters to narrow the search"))
    picked = _render_table(page.rows)
    if any(page.masked.values()):
        st.caption("Blank anchor cells are masked for that source by the active mask: "
                   + " · ".join(f"{escape_markdown(s)}: {', '.join(a)}" for s, a in page.masked.items() if a))
    open_first = _render_paging(page)

    rows = page.rows
    target = rows.record_id.iloc[picked[0]] if picked else (rows.record_id.iloc[0] if open_first else None)
    if target is not None:
        ss.browse_table_gen = ss.browse_table_gen + 1  # the next visit to Browse starts without a selection
        st.switch_page("screens/record.py", query_params=record_params(page.view, str(target)))

    _bulk_actions(page)
    shortcut_table([("N", "next page"), ("P", "previous page"), ("O", "open the first record of the page")])


main()
