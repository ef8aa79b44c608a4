"""Chapter 04, the KL term: ``kl_zero_reason`` (choice), the reasoning behind ``kl_zero_case``.

``kl_zero_case`` asks for the number (0 nats); this drill asks which terms of
½ Σ_j (μ_j² + σ_j² − log σ_j² − 1) vanish and why, so that a learner who guessed the
number still has to say why it is right.
"""

from __future__ import annotations

from ..choice import ChoiceDrill, Option

KL_ZERO_REASON = ChoiceDrill(
    id="kl_zero_reason",
    chapter="04",
    title="Why the KL is zero when μ = 0 and log σ² = 0",
    answer_name="answer_kl_zero_reason",
    prompt=(
        "In `kl_zero_case` the encoder outputs μ = 0 and log σ² = 0 in all d = 20 "
        "dimensions. Which statement gives the right reason for the value of "
        "KL(q(z|x) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1)? Bind one letter to "
        "`answer_kl_zero_reason`."
    ),
    options=(
        Option(
            "log σ² = 0 means σ² = 1, so q(z|x) is the prior itself: in every dimension μ² = 0, "
            "log σ² = 0 and σ² − 1 = 0, each term is ½(0 + 1 − 0 − 1) = 0, and the KL of a "
            "distribution to itself is 0 whatever d is.",
            True,
            "each of the 20 terms vanishes on its own, and q = p.",
        ),
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
    ),
    hints=(
        "What is σ² when log σ² = 0? Compare q(z|x) with the prior.",
        "Evaluate one term ½(μ² + σ² − log σ² − 1) at μ = 0, σ² = 1. Can a term ever be negative?",
    ),
    solution=(
        "(a). log σ² = 0 gives σ² = 1, so q(z|x) = N(0, I) = p(z); every term "
        "½(0 + 1 − 0 − 1) is 0. No cancellation is involved: σ² − log σ² − 1 ≥ 0 with "
        "equality only at σ² = 1, and μ² ≥ 0 with equality only at μ = 0. Such a code costs "
        "nothing and carries nothing about x.\n\n"
        "```python\nanswer_kl_zero_reason = 'a'\n```"
    ),
    max_score=2,
)

DRILLS = (KL_ZERO_REASON,)
