"""The synthetic demo corpus: realistic agent runs in the three source layouts, imported by the real importers.

`generate_corpus` writes the files (deterministic from the seed, streamed); `load_demo` generates, imports
and marks the records synthetic. Used by `mira-curator demo` (and `make run`) and by the import benchmark.
"""

from mira_core.demo.corpus import SOURCES, DemoCorpus, generate_corpus, iter_rows
from mira_core.demo.load import DemoResult, import_corpus, load_demo, mark_corpus, store_is_empty

__all__ = ["SOURCES", "DemoCorpus", "DemoResult", "generate_corpus", "import_corpus", "iter_rows", "load_demo",
           "mark_corpus", "store_is_empty"]
