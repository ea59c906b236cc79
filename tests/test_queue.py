"""The embedding queue on its own: planned order, the front line, reordering, stale entries."""

from __future__ import annotations

from patina_lsp.index.queue import EmbeddingQueue


def drain(queue: EmbeddingQueue) -> list[str]:
    out = []
    while (path := queue.pop()) is not None:
        out.append(path)
    return out


def test_order_front_and_stale_entries():
    queue = EmbeddingQueue()
    queue.add(["a", "b", "c", "d"])
    assert queue.pop() == "a"
    assert queue.to_front("d") and not queue.to_front("a")  # a is taken: nothing to move
    queue.discard("b")  # its file was dropped meanwhile
    assert drain(queue) == ["d", "c"] and len(queue) == 0


def test_reorder_keeps_paths_added_meanwhile():
    queue = EmbeddingQueue()
    queue.add(["x/1", "y/2", "x/3"])
    queue.reorder(lambda paths: sorted(paths, key=lambda p: p.startswith("x")))
    queue.add(["z/4"])
    assert drain(queue) == ["y/2", "x/1", "x/3", "z/4"]


def test_readding_a_path_is_idempotent():
    queue = EmbeddingQueue()
    queue.add(["a"])
    queue.add(["a"], front=True)
    assert drain(queue) == ["a"]
