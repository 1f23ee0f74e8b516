"""SingleFlight: one run per key at a time, everyone else waits, a failed job frees its key."""

from __future__ import annotations

import threading

import pytest

from bedrock_lifecycle._single_flight import SingleFlight


def test_a_second_caller_waits_for_the_running_job_and_does_not_run_it() -> None:
    flights = SingleFlight(threading.RLock())
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow() -> None:
        runs.append("slow")
        started.set()
        release.wait(5)

    first = threading.Thread(target=flights.run, args=("k", slow), kwargs={"wait": True})
    first.start()
    assert started.wait(5)
    outcome: list[bool] = []
    second = threading.Thread(
        target=lambda: outcome.append(flights.run("k", lambda: runs.append("x"), wait=True))
    )
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting for the first
    release.set()
    first.join(5)
    second.join(5)
    assert outcome == [False]
    assert runs == ["slow"]
    assert flights.run("k", lambda: runs.append("again"), wait=True) is True  # key freed


def test_background_jobs_share_one_run_per_key_and_join_waits() -> None:
    flights = SingleFlight(threading.RLock())
    release = threading.Event()
    runs: list[int] = []

    def job() -> None:
        release.wait(5)
        runs.append(1)

    events = [flights.start("k", job, name="test-flight") for _ in range(5)]
    assert len({id(event) for event in events}) == 1
    other = flights.start("other", lambda: runs.append(2), name="test-flight")
    assert other.wait(5)
    release.set()
    flights.join(5)
    assert events[0].is_set()
    assert sorted(runs) == [1, 2]


def test_a_failing_job_frees_its_key_and_wakes_the_waiters() -> None:
    flights = SingleFlight(threading.RLock())

    def boom() -> None:
        raise RuntimeError("control plane down")

    with pytest.raises(RuntimeError):
        flights.run("k", boom, wait=True)
    assert flights.run("k", lambda: None, wait=False) is True
