"""Scoring fixtures: SIMULATED scorer servers on free ports, shut down after each test."""

import pytest

from mira_core.scoring.simulator import SimulatorConfig, start_in_thread


@pytest.fixture
def sim():
    """`sim(port=0, **knobs)` starts a simulator (latency 0 unless given) and returns its server."""
    servers = []

    def start(port: int = 0, **knobs):
        server, _ = start_in_thread(SimulatorConfig(**{"latency": 0.0, **knobs}), port=port)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()
