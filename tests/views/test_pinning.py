"""The data version a new Retention view opens at while the data keeps changing (views.pinning)."""

from mira_core.views.pinning import RecentVersions


def test_nothing_loaded_yet_opens_at_the_current_version():
    assert RecentVersions().pin("v9", max_age_s=60, now=100.0) == "v9"


def test_a_version_loaded_recently_is_shared_instead_of_loading_the_newest():
    recent = RecentVersions()
    recent.loading("v1", at=10.0)
    recent.loading("v2", at=50.0)
    assert recent.pin("v3", max_age_s=60, now=100.0) == "v2"  # the newest load within 60 s, not v3


def test_a_load_older_than_the_limit_is_not_reused():
    recent = RecentVersions()
    recent.loading("v1", at=10.0)
    assert recent.pin("v3", max_age_s=60, now=71.0) == "v3"


def test_only_the_newest_loads_are_kept():
    recent = RecentVersions(keep=2)
    for i, v in enumerate(("a", "b", "c")):
        recent.loading(v, at=float(i))
    assert recent.pin("z", max_age_s=100, now=3.0) == "c"
    assert sorted(recent._loaded) == ["b", "c"]
