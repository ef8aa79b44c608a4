"""Turning a learner's answer value into letters or a number, with clear messages.

Both helpers return ``(value, problem)``: exactly one of them is None. They never raise.
"""

from __future__ import annotations

import math
import re
from numbers import Real
from typing import Any

from .core import NotAttempted


def letters_of(n_options: int) -> str:
    """'abcde' for five options."""
    return "abcdefghijklmnopqrstuvwxyz"[:n_options]


def parse_letters(answer: Any, n_options: int) -> tuple[set[str] | None, str | None]:
    """Option letters from ``"a"``, ``"a, c"``, ``"AC"``, ``{"a", "c"}``, ``["a"]``...

    Returns (set of lowercase letters, None) or (None, a message saying what to give).
    """
    valid = letters_of(n_options)
    example = "give the letter(s) of your choice as a string like 'b' or a set like {'a', 'c'}"
    if answer is Ellipsis:
        raise NotAttempted("Exercise not attempted yet: replace the `...` with your answer.")
    if isinstance(answer, str):
        pieces = [p for p in re.split(r"[\s,;/+&]+", answer.strip().lower()) if p]
        if len(pieces) == 1 and len(pieces[0]) > 1 and all(c in valid for c in pieces[0]):
            pieces = list(pieces[0])  # "ac"
        items: list[Any] = pieces
    elif isinstance(answer, set | frozenset | list | tuple):
        items = list(answer)
    else:
        return None, f"Your answer is {_kind(answer)}; {example}."
    letters: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            return None, f"Your answer contains {_kind(item)}; {example}."
        letter = item.strip().lower().strip("()")
        if len(letter) != 1 or letter not in valid:
            return None, (f"{item!r} is not one of the options ({', '.join(valid)}); {example}.")
        letters.add(letter)
    if not letters:
        return None, f"You did not choose any option; {example}."
    return letters, None


def parse_number(answer: Any, name: str = "Your answer") -> tuple[float | None, str | None]:
    """A finite float from a Python/numpy number or a one-element tensor/array.

    Strings, booleans, None, lists and tensors of many values get a message instead.
    """
    example = "give a single number such as 0.25 (a float, not a string or a list)"
    if answer is Ellipsis:
        raise NotAttempted("Exercise not attempted yet: replace the `...` with your answer.")
    if isinstance(answer, bool):
        return None, f"{name} is {answer} (a boolean); {example}."
    if isinstance(answer, str):
        return None, f"{name} is the string {answer[:40]!r}; {example} (remove the quotes)."
    value: Any = answer
    if hasattr(answer, "numel") and hasattr(answer, "detach"):  # a torch tensor
        if answer.numel() != 1:
            return None, f"{name} is a tensor with {answer.numel()} values; {example}."
        value = answer.detach().cpu().reshape(-1)[0].item()
    elif hasattr(answer, "size") and hasattr(answer, "dtype") and hasattr(answer, "item"):
        if answer.size != 1:  # a numpy array
            return None, f"{name} is an array with {answer.size} values; {example}."
        value = answer.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        return None, f"{name} is {_kind(answer)}; {example}."
    value = float(value)
    if not math.isfinite(value):
        return None, f"{name} is {value} (not a finite number); {example}."
    return value, None


def _kind(value: Any) -> str:
    if value is None:
        return "None (nothing was assigned)"
    if isinstance(value, list | tuple | set | frozenset):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    return f"a {type(value).__name__}"
