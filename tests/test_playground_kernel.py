"""The playground in a real kernel: what training sends on the kernel's output channel.

jupyter_server drops a kernel's IOPub messages ("IOPub message rate exceeded") when more
than ``iopub_msg_rate_limit`` (1000/s) arrive on average over ``rate_limit_window`` (3 s),
counting every message but status, comm_open and execute_input; and stream output beyond
``iopub_data_rate_limit`` (1 MB/s). This test trains the playground in an ipykernel of
this interpreter while the kernel is idle (training runs in the widget's own thread, as
when a person watches it), reads every IOPub message, and holds the busiest 3-s window to
a tenth of the server's limits: the views are throttled by their wall-clock budget, not
by how fast the network trains.
"""

from __future__ import annotations

import json
import queue
import time

import pytest

pytest.importorskip("ipywidgets", reason="the playground needs the 'course' extra")

from notebook_kernel import STARTUP_TIMEOUT, ThisInterpreterKernel  # noqa: E402

SERVER_MSG_RATE_LIMIT = 1000.0        # jupyter_server's defaults (ZMQChannelsWebsocketConnection)
SERVER_DATA_RATE_LIMIT = 1_000_000.0
RATE_WINDOW = 3.0
NOT_COUNTED = {"status", "comm_open", "execute_input"}
WATCH_SECONDS = 8.0


def run(client, code: str, timeout: float = 120.0) -> dict:
    """Execute ``code`` and return its reply, which must say 'ok'. A late reply to
    ``wait_for_ready``'s kernel_info requests can come first on the shell channel (seen
    once on a fresh clone): it is skipped, any other reply fails the test."""
    msg_id = client.execute(code)
    deadline = time.monotonic() + timeout
    while True:
        reply = client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            break
        assert reply["msg_type"] == "kernel_info_reply", reply["msg_type"]
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply


def busiest_window(times: list[float], window: float) -> int:
    """The most messages inside any ``window`` seconds (a sliding window, as the server's)."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_training_in_a_real_kernel_stays_far_below_the_iopub_rate_limits(tmp_path):
    manager = ThisInterpreterKernel()
    manager.start_kernel(cwd=str(tmp_path))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=STARTUP_TIMEOUT)
        run(client, "from convnets.playground import Playground\n"
                    "pg = Playground(data='digits')\n"
                    "display(pg)\n"
                    "assert pg.wait_idle(60)\n"
                    "pg.train_button.click()")
        # drain what the start sent, then watch the idle kernel while the thread trains
        counted, stream_bytes, kinds = [], 0, {}
        deadline = time.monotonic() + WATCH_SECONDS
        while time.monotonic() < deadline:
            try:
                msg = client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            kind = msg["header"]["msg_type"]
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind in NOT_COUNTED:
                continue
            counted.append(time.monotonic())
            if kind == "stream":
                stream_bytes += len(json.dumps(msg["content"]))
        run(client, "pg.pause_button.click()\nassert pg.wait_idle(60)\n"
                    "print(pg.trainer.examples_seen, repr(pg.message))")
        seen_msgs = []
        while True:
            try:
                msg = client.get_iopub_msg(timeout=2)
            except queue.Empty:
                break
            if msg["header"]["msg_type"] == "stream":
                seen_msgs.append(msg["content"]["text"])
        examples = int("".join(seen_msgs).split()[0])
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

    assert examples > 1000, f"the playground trained only {examples} examples in the kernel"
    assert kinds.get("comm_msg", 0) >= WATCH_SECONDS, \
        f"the views were not refreshed while training: {kinds}"
    peak_rate = busiest_window(counted, RATE_WINDOW) / RATE_WINDOW
    print(f"{examples} examples; IOPub while training {WATCH_SECONDS:.0f} s: {kinds}; "
          f"busiest {RATE_WINDOW:.0f} s: {peak_rate:.1f} messages/s")
    assert peak_rate <= SERVER_MSG_RATE_LIMIT / 10, \
        f"{peak_rate:.0f} IOPub messages/s in the busiest {RATE_WINDOW:.0f} s: {kinds}"
    assert stream_bytes / WATCH_SECONDS <= SERVER_DATA_RATE_LIMIT / 10, \
        f"{stream_bytes} bytes of printed output while training: {kinds}"
    assert "stream" not in kinds and "error" not in kinds, f"training printed: {kinds}"
