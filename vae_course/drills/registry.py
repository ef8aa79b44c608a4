"""Find drills by id: :func:`get_drill` and :func:`all_drills` read the catalogue.

The catalogue (:mod:`vae_course.drills.catalogue`) is pure data: ``DRILLS``, a tuple of
drill declarations. Nothing registers itself on import. :func:`register` adds a drill of
your own (a teacher's extra exercise) for the rest of the process.
"""

from __future__ import annotations

import difflib

from .core import Drill

_EXTRA: dict[str, Drill] = {}
_INDEX: dict[str, Drill] | None = None


def _index() -> dict[str, Drill]:
    global _INDEX
    if _INDEX is None:
        from .catalogue import DRILLS

        index: dict[str, Drill] = {}
        for drill in DRILLS:
            if drill.id in index:
                raise ValueError(f"two drills in the catalogue have the id {drill.id!r}")
            index[drill.id] = drill
        _INDEX = index
    return _INDEX


def register(drill: Drill) -> Drill:
    """Add ``drill`` (a teacher's own) to this process's drills; its id must be new."""
    if not isinstance(drill, Drill):
        raise TypeError(f"register expects a Drill, got {type(drill).__name__}")
    existing = _index().get(drill.id) or _EXTRA.get(drill.id)
    if existing is not None and existing is not drill:
        raise ValueError(f"a drill with id {drill.id!r} already exists")
    _EXTRA[drill.id] = drill
    return drill


def all_drills() -> list[Drill]:
    """Every drill, ordered by chapter, then in catalogue order."""
    drills = [*_index().values(), *_EXTRA.values()]
    order = {d.id: i for i, d in enumerate(drills)}
    return sorted(drills, key=lambda d: (d.chapter, order[d.id]))


def get_drill(drill_id: str) -> Drill:
    """The drill called ``drill_id``; ValueError (with suggestions) for an unknown id."""
    if not isinstance(drill_id, str):
        raise TypeError(f"a drill id is a string such as 'kl_divergence', got {drill_id!r:.60}")
    drill = _index().get(drill_id) or _EXTRA.get(drill_id)
    if drill is None:
        raise ValueError(unknown_id_message(drill_id))
    return drill


def unknown_id_message(drill_id: object) -> str:
    """'No drill called ...; did you mean ...?' with close matches."""
    known = [*_index(), *_EXTRA]
    close = difflib.get_close_matches(str(drill_id), known, n=3, cutoff=0.5)
    message = f"There is no drill called {drill_id!r}."
    if close:
        message += " Did you mean " + " or ".join(repr(c) for c in close) + "?"
    return message + " drills.list() shows every drill."


__all__ = ["all_drills", "get_drill", "register", "unknown_id_message"]
