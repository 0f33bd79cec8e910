"""Machine-wide CPU shares from /proc/stat: parsing and the split of a reading's interval."""

from __future__ import annotations

import pytest

from mira_core.bench.proc_stats import machine_shares, machine_ticks, parse_cpu_line


def test_the_cpu_line_is_read_by_state_name():
    ticks = parse_cpu_line("cpu  902101 97140 246246 2164477 34659 0 10273 19085 0 0\n")
    assert ticks == {"user": 902101, "nice": 97140, "system": 246246, "idle": 2164477, "iowait": 34659,
                     "irq": 0, "softirq": 10273, "steal": 19085}
    with pytest.raises(ValueError, match="machine-wide"):
        parse_cpu_line("cpu0 1 2 3 4 5 6 7 8")


def test_shares_split_the_interval_between_two_readings():
    before = parse_cpu_line("cpu 100 0 50 1000 10 0 0 5")
    after = parse_cpu_line("cpu 160 20 70 1080 50 0 10 65")  # +60 user +20 nice +20 sys +80 idle +40 io +10 soft +60 steal
    shares = machine_shares(before, after)
    assert shares == {"busy": 0.379, "iowait": 0.138, "steal": 0.207, "idle": 0.276}  # of 290 ticks
    assert machine_shares(after, after) == {"busy": 0.0, "iowait": 0.0, "steal": 0.0, "idle": 0.0}


def test_this_machine_reports_its_own_ticks():
    first = machine_ticks()
    total = sum(first.values())
    assert total > 0 and set(first) >= {"user", "idle", "iowait", "steal"}
    assert sum(machine_ticks().values()) >= total  # ticks only grow
