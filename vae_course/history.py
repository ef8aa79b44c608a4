"""The per-epoch record of one training run: :class:`History`, what :func:`vae_course.train.fit`
returns (and what its cache stores as a plain dict)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

# Every per-epoch record has these keys (values are None where they do not apply, e.g. the
# KL of an autoencoder or test metrics when no test data was given).
METRIC_COLUMNS = (
    "epoch",
    "beta",
    "train_loss",
    "train_reconstruction",
    "train_kl",
    "train_elbo",
    "test_reconstruction",
    "test_kl",
    "test_elbo",
    "seconds",
)
_COLUMN_TITLES = {
    "epoch": "epoch",
    "beta": "β",
    "train_loss": "train loss",
    "train_reconstruction": "train recon",
    "train_kl": "train KL",
    "train_elbo": "train ELBO",
    "test_reconstruction": "test recon",
    "test_kl": "test KL",
    "test_elbo": "test ELBO",
    "seconds": "s",
}


class History:
    """Per-epoch metrics of one :func:`vae_course.train.fit` run.

    All values are in nats per example (averages over the examples of the split):

    * ``reconstruction`` = -log p(x|z) with z drawn once from q(z|x);
    * ``kl`` = KL(q(z|x) || N(0, I)) summed over latent dimensions;
    * ``elbo`` = -(reconstruction + kl), a lower bound on log p(x); ``-elbo`` is the
      "negative ELBO" usually reported (lower is better);
    * ``loss`` = the objective actually minimised (``beta`` and free bits applied);
    * ``beta`` = the mean KL weight over the epoch's steps.

    ``history.epochs`` is the list of per-epoch dicts (keys :data:`METRIC_COLUMNS`),
    ``history["test_elbo"]`` the list of one column, ``history.last`` the final epoch,
    ``history.kl_per_dim`` a tensor (epochs, d) of the KL of each latent dimension
    (test set when there is one, else the training epoch), ``history.from_cache`` whether
    the run was loaded instead of trained, ``history.train_seconds`` how long the
    original training took, and ``history.model`` the trained model (``None`` for a
    History rebuilt by :meth:`from_dict`). Used from 01_autoencoder on
    (``history.last["test_reconstruction"]``, ``history["test_kl"]``).
    """

    def __init__(
        self,
        epochs: Sequence[dict[str, Any]] = (),
        kl_per_dim: Sequence[Sequence[float]] | None = None,
        *,
        from_cache: bool = False,
        train_seconds: float = 0.0,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.epochs: list[dict[str, Any]] = [dict(row) for row in epochs]
        self._kl_rows: list[list[float]] = [list(map(float, r)) for r in (kl_per_dim or [])]
        self.from_cache = bool(from_cache)
        self.train_seconds = float(train_seconds)
        self.info: dict[str, Any] = dict(info or {})
        self.model: Any = None

    def add_epoch(self, row: dict[str, Any], kl_per_dim: Sequence[float] | None = None) -> None:
        """Append one epoch's metrics (keys :data:`METRIC_COLUMNS`) and its KL per dimension."""
        self.epochs.append(dict(row))
        if kl_per_dim is not None:
            self._kl_rows.append([float(v) for v in kl_per_dim])

    # -- access --------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """The metric names every epoch record carries."""
        return list(self.epochs[0]) if self.epochs else list(METRIC_COLUMNS)

    def __getitem__(self, column: str) -> list[Any]:
        """One metric over the epochs, e.g. ``history["test_elbo"]``."""
        if not isinstance(column, str):
            raise TypeError(
                f"index a History with a metric name such as 'test_elbo', not {column!r}"
            )
        if column not in self.columns:
            raise KeyError(f"no metric {column!r}; available: {', '.join(self.columns)}")
        return [row.get(column) for row in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.epochs)

    @property
    def last(self) -> dict[str, Any]:
        """The metrics of the final epoch (an empty dict before any epoch)."""
        return dict(self.epochs[-1]) if self.epochs else {}

    @property
    def kl_per_dim(self) -> Tensor | None:
        """KL of each latent dimension per epoch, shape (epochs, d); None for an autoencoder."""
        if not self._kl_rows:
            return None
        return torch.tensor(self._kl_rows, dtype=torch.float32)

    @property
    def is_variational(self) -> bool:
        """True when the run trained a VAE (KL columns are filled)."""
        return bool(self.epochs) and self.epochs[0].get("train_kl") is not None

    # -- plain dict round trip (used by the cache) ---------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A plain dict of lists, floats and strings (safe for ``torch.load(weights_only=True)``)."""
        return {
            "epochs": [dict(row) for row in self.epochs],
            "kl_per_dim": [list(r) for r in self._kl_rows],
            "train_seconds": self.train_seconds,
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, from_cache: bool = False) -> History:
        """Rebuild a History written by :meth:`to_dict`."""
        return cls(
            data.get("epochs", []),
            data.get("kl_per_dim") or None,
            from_cache=from_cache,
            train_seconds=data.get("train_seconds", 0.0),
            info=data.get("info", {}),
        )

    # -- display -------------------------------------------------------------------
    def _shown_columns(self) -> list[str]:
        return [c for c in self.columns if any(row.get(c) is not None for row in self.epochs)]

    def _caption(self) -> str:
        model = self.info.get("model", "model")
        source = "loaded from cache" if self.from_cache else "trained"
        return (
            f"{model}: {len(self)} epochs, {source} "
            f"(training took {format_seconds(self.train_seconds)}); nats per example"
        )

    def __repr__(self) -> str:
        if not self.epochs:
            return "History(no epochs)"
        columns = self._shown_columns()
        header = [_COLUMN_TITLES.get(c, c) for c in columns]
        rows = [[_format_value(row.get(c), c) for c in columns] for row in self.epochs]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        lines = [
            self._caption(),
            "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)),
        ]
        lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if not self.epochs:
            return "<p>History (no epochs)</p>"
        columns = self._shown_columns()
        head = "".join(f"<th>{_COLUMN_TITLES.get(c, c)}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{_format_value(row.get(c), c)}</td>" for c in columns) + "</tr>"
            for row in self.epochs
        )
        return (
            f"<table><caption>{self._caption()}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


def _format_value(value: Any, column: str = "") -> str:
    if value is None:
        return "–"
    if column == "seconds":
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 0.01 and value != 0 else f"{value:.2f}"
    return str(value)


def format_seconds(seconds: float) -> str:
    """``12.3 s`` under a minute, else ``2 min 5 s``: how long a training run took.
    Used by History's caption and fit's cache message (every chapter); no chapter calls it.
    """
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s"


__all__ = ["History", "METRIC_COLUMNS", "format_seconds"]
