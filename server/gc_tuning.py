"""The garbage collector of a served process, set for a server that makes many short-lived objects.

Every decoded event is a tree of dicts and lists, and every validated payload a set of models: a
500-line log batch makes some 3,000 container objects. With Python's default threshold (700), the
collector ran several times per batch, and every tenth of those runs went through the older
generation too; measured in the log benchmark, decoding and validating a batch took twice as long.
Instagram's web servers made the same two changes (``gc.freeze`` after start-up, a higher
threshold). Only ``serve`` calls this: the tests run many apps in one process with the defaults.
"""

from __future__ import annotations

import gc


def tune_gc(gen0_threshold: int) -> None:
    """Freeze what start-up built (modules, the app, pools: never garbage) out of every collection,
    and collect the youngest generation after ``gen0_threshold`` new objects instead of 700."""
    if gen0_threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)
