"""The worker pool isolates crashes and hangs, keeps order, and carries on."""

from fuzzjax.workers import Pool


def test_segfault_abort_and_hang_are_isolated_and_the_run_continues() -> None:
    config = {"segfault": 5, "abort": 11, "hang": 17}
    with Pool("worker_tasks:make_misbehaving_task", config, workers=2, timeout=3) as pool:
        outcomes = list(pool.imap(iter(range(24))))
        restarts = pool.restarts
    assert [o.seed for o in outcomes] == list(range(24))
    kinds = {o.seed: o.kind for o in outcomes if o.kind != "ok"}
    assert kinds == {5: "crash", 11: "crash", 17: "timeout"}
    assert all(o.payload["square"] == o.seed**2 for o in outcomes if o.kind == "ok")
    assert restarts == 3
