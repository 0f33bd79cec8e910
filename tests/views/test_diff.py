"""split_diff: per-file sections that add up to the patch, with correct paths and counts."""

from mira_core.views.diff import split_diff

GIT = """\
Fix the parser

diff --git a/src/parse.py b/src/parse.py
index 1..2 100644
--- a/src/parse.py
+++ b/src/parse.py
@@ -1,3 +1,3 @@
 a
--- this removed line looks like a header
+b
 c
diff --git a/new.txt b/new.txt
new file mode 100644
--- /dev/null
+++ b/new.txt
@@ -0,0 +1,2 @@
+x
+y
diff --git a/old name.py b/new name.py
similarity index 90%
rename from old name.py
rename to new name.py
diff --git a/gone.py b/gone.py
deleted file mode 100644
--- a/gone.py
+++ /dev/null
@@ -1 +0,0 @@
-bye
"""


def test_git_patch_splits_per_file_with_counts_and_status():
    d = split_diff(GIT)
    assert d.preamble == "Fix the parser\n\n"
    assert [(f.path, f.status, f.added, f.removed) for f in d.files] == [
        ("src/parse.py", "modified", 1, 1),
        ("new.txt", "added", 2, 0),
        ("new name.py", "renamed", 0, 0),
        ("gone.py", "deleted", 0, 1),
    ]
    assert d.files[2].old_path == "old name.py"
    assert d.preamble + "".join(f.text for f in d.files) == GIT
    assert d.files[0].text.startswith("diff --git a/src/parse.py")
    assert "--- this removed line" in d.files[0].text


def test_plain_unified_diff_without_git_headers():
    patch = "--- a/x.py\t2020-01-01\n+++ b/x.py\n@@ -1 +1 @@\n-1\n+2\n--- y.py\n+++ y.py\n@@ -1,0 +1 @@\n+new\n"
    d = split_diff(patch)
    assert [(f.path, f.added, f.removed) for f in d.files] == [("x.py", 1, 1), ("y.py", 1, 0)]
    assert "".join(f.text for f in d.files) == patch


def test_empty_and_non_diff_text():
    assert split_diff("").files == []
    d = split_diff("just words\nno diff here\n")
    assert d.files == [] and d.preamble == "just words\nno diff here\n"


def test_malformed_hunk_does_not_swallow_next_file():
    patch = "diff --git a/a b/a\n@@ -1,5 +1,5 @@\n-x\ndiff --git a/b b/b\n@@ -1 +1 @@\n-q\n+r\n"
    d = split_diff(patch)
    assert [f.path for f in d.files] == ["a", "b"]
    assert (d.files[1].added, d.files[1].removed) == (1, 1)
