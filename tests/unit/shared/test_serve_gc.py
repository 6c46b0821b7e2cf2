"""Services collect garbage rarely and leave what start-up built alone."""

from __future__ import annotations

import gc

from shared.serve import GC_THRESHOLDS, tune_garbage_collector


def test_start_up_objects_are_frozen_and_young_collections_are_rare() -> None:
    before = gc.get_threshold()
    try:
        tune_garbage_collector()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
        assert GC_THRESHOLDS[0] > before[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
