"""Chapter 04: the options of ``kl_zero_case``'s ``reason`` part, as data.

``kl_zero_case`` (in :mod:`.ch04_kl`) asks for the KL at μ = 0, log σ² = 0 and for the reason
it has that value, so that a learner who guesses "0" still has to say which terms of
½ Σ_j (μ_j² + σ_j² − log σ_j² − 1) vanish, and why. Each wrong option carries the
explanation shown when it is chosen.
"""

from __future__ import annotations

from ..choice import Option

KL_ZERO_REASONS = (
    Option(
        "log σ² = 0 means σ = 0: q(z|x) is a single point, and a point has no divergence "
        "from the prior.",
        False,
        "log σ² = 0 gives σ² = e⁰ = 1, not 0; a point (σ → 0) would make −log σ² and "
        "the KL grow without bound.",
    ),
    Option(
        "The terms of the 20 dimensions have different signs and cancel in the sum.",
        False,
        "every term μ² + σ² − log σ² − 1 is ≥ 0 (σ² − log σ² ≥ 1 for every σ² > 0); "
        "nothing cancels, each term is 0 by itself.",
    ),
    Option(
        "log σ² = 0 means σ² = 1, so q(z|x) is the prior itself: in every dimension μ² = 0, "
        "log σ² = 0 and σ² − 1 = 0, each term is ½(0 + 1 − 0 − 1) = 0, and the KL of a "
        "distribution to itself is 0 whatever d is.",
        True,
        "each of the 20 terms vanishes on its own, and q = p.",
    ),
    Option(
        "Only μ² vanishes; σ² − log σ² − 1 is 0 for every σ, so the KL only measures the means.",
        False,
        "σ² − log σ² − 1 is 0 only at σ² = 1 and positive elsewhere: the KL also pulls "
        "every σ towards 1.",
    ),
    Option(
        "The KL is 0 because this encoder describes x perfectly, so nothing is lost.",
        False,
        "the opposite: q(z|x) = N(0, I) for this x says nothing about x; a zero KL "
        "means the code carries no information about the input.",
    ),
)
