"""The index's readers-writer lock: exclusion, and that neither readers nor writers starve."""

from __future__ import annotations

import threading
import time

from patina_lsp.index.rwlock import ReadWriteLock


def test_readers_share_and_writers_exclude():
    lock = ReadWriteLock()
    inside = {"readers": 0, "writer": False, "max_readers": 0, "violations": 0}
    guard = threading.Lock()

    def reader():
        for _ in range(200):
            with lock.read():
                with guard:
                    inside["readers"] += 1
                    inside["max_readers"] = max(inside["max_readers"], inside["readers"])
                    inside["violations"] += inside["writer"]
                time.sleep(0.0002)
                with guard:
                    inside["readers"] -= 1

    def writer():
        for _ in range(100):
            with lock.write():
                with guard:
                    inside["violations"] += inside["writer"] or inside["readers"] > 0
                    inside["writer"] = True
                time.sleep(0.0002)
                with guard:
                    inside["writer"] = False

    threads = [threading.Thread(target=reader) for _ in range(4)] + [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert inside["violations"] == 0
    assert inside["max_readers"] > 1


def test_a_writer_in_small_steps_lets_a_waiting_reader_in_between():
    lock = ReadWriteLock()
    log: list[str] = []
    third_step = threading.Event()

    def writer():
        for i in range(20):
            with lock.write():
                log.append(f"w{i}")
                if i == 2:
                    third_step.set()
                time.sleep(0.01)

    def reader():
        third_step.wait()
        with lock.read():
            log.append("r")

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # queued during step 2 (or 3, if it was slow to queue), it goes before step 4
    assert log.index("r") <= log.index("w4"), log


def test_a_stream_of_readers_does_not_starve_a_writer():
    lock = ReadWriteLock()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            with lock.read():
                time.sleep(0.001)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for t in readers:
        t.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    with lock.write():
        waited = time.monotonic() - t0
    stop.set()
    for t in readers:
        t.join(timeout=10)
    assert waited < 1.0
