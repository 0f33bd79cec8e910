"""Scoring against the MIRA-Agent-Group4 scorer.

Rubric, prompt, token budget and output parser (the pure core), and around them the client, jobs and worker.
"""

from mira_core.scoring.budget import estimate_tokens, shorten_record_text
from mira_core.scoring.parse import DimScore, ParsedScore, Problem, parse_scorer_output, render_scorer_output
from mira_core.scoring.prompt import Prompt, build_prompt, prompt_version
from mira_core.scoring.rubric import CalibrationRef, Rubric, load_calibration, load_rubric

__all__ = [
    "CalibrationRef",
    "DimScore",
    "ParsedScore",
    "Problem",
    "Prompt",
    "Rubric",
    "build_prompt",
    "estimate_tokens",
    "load_calibration",
    "load_rubric",
    "parse_scorer_output",
    "prompt_version",
    "render_scorer_output",
    "shorten_record_text",
]
