"""Process-wide cache for heavy models, so each worker process loads a model once.

Ray reuses worker processes across tasks, and a pickled operator arrives fresh in every task; keying
the loaded model by its path here keeps ``setup()`` cheap after the first task on a worker.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Hashable

_models: Dict[Hashable, Any] = {}
_lock = threading.Lock()


def cached(key: Hashable, load: Callable[[], Any]) -> Any:
    with _lock:
        if key not in _models:
            _models[key] = load()
        return _models[key]
