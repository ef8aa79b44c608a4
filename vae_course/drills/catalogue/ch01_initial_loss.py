"""Chapter 01, the plain autoencoder: ``ae_initial_loss`` (numeric), the loss of a decoder
that knows nothing yet.

A decoder whose logits are all 0 predicts p = σ(0) = ½ for every pixel. Its BCE per pixel is
−x log ½ − (1 − x) log ½ = ln 2 for *any* target x in [0, 1], so summed over 784 pixels the
loss is 784 ln 2 ≈ 543.4 nats for every image: the number a training curve starts from.
"""

from __future__ import annotations

import math

from ..numeric import NumericDrill, NumericMistake

PIXELS = 784

AE_INITIAL_LOSS = NumericDrill(
    id="ae_initial_loss",
    chapter="01",
    title="The loss before training",
    answer_name="answer_initial_loss",
    max_score=3,
    prompt=(
        "A freshly built decoder outputs logits ℓ = 0 for all 784 pixels of an MNIST image "
        "(its pixels are grey levels x_i in [0, 1]). What is the loss of this chapter, the "
        "binary cross-entropy with logits summed over the pixels, for one image? Give the "
        "number in nats (natural logarithms) to 1 decimal, bound to `answer_initial_loss`. "
        "Does it depend on which image it is?"
    ),
    hints=(
        "σ(0) = ½: the decoder says every pixel is ink with probability ½.",
        "BCE for one pixel is −x log p − (1 − x) log(1 − p). With p = ½ both logs are equal: "
        "what is left, whatever x is?",
        "Sum that over 784 pixels.",
    ),
    solution=(
        "Each pixel costs −x ln ½ − (1 − x) ln ½ = ln 2 ≈ 0.693 nats whatever its grey level "
        "x, so every image costs 784 ln 2 ≈ 543.4 nats: the same for every image. "
        "Training curves start there.\n\n"
        "```python\nimport math\nanswer_initial_loss = 784 * math.log(2)\n```"
    ),
    answer=lambda p: PIXELS * math.log(2),
    normal_form="in nats, to 1 decimal",
    tolerance=0.06,
    mistakes=(
        NumericMistake(
            "per_pixel",
            lambda p: math.log(2),
            "That is the loss of one pixel; the chapter's loss sums over all 784 pixels.",
        ),
        NumericMistake(
            "bits",
            lambda p: float(PIXELS),
            "784 is the loss in bits (log base 2); the loss uses natural logarithms, nats.",
        ),
        NumericMistake(
            "half_per_pixel",
            lambda p: PIXELS * 0.5,
            "½ per pixel is the predicted probability, not its cross-entropy −log ½.",
        ),
        NumericMistake(
            "log10",
            lambda p: PIXELS * math.log10(2),
            "That uses log base 10; the loss uses natural logarithms.",
        ),
        NumericMistake(
            "zero",
            lambda p: 0.0,
            "A logit of 0 is not a perfect prediction: it says ½ for every pixel, which costs "
            "−log ½ per pixel.",
        ),
    ),
    sanity=lambda value, params: "A cross-entropy is never negative." if value < 0 else None,
)

DRILLS = (AE_INITIAL_LOSS,)
