"""Chapter 05, KL annealing: ``beta_bound`` (choice), what a KL weight β ≠ 1 does to the bound."""

from __future__ import annotations

from ..choice import ChoiceDrill, Option

BETA_BOUND = ChoiceDrill(
    id="beta_bound",
    chapter="05",
    title="Which objectives bound log p(x)?",
    answer_name="answer_beta_bound",
    prompt=(
        "Training with KL weight β maximises J_β(x) = E_q[log p(x|z)] − β · KL(q(z|x) ‖ p(z)). "
        "You know that J_1 is the ELBO, that ELBO ≤ log p(x) for every q, and that the KL is "
        "never negative. Which statements are true? Bind the letters to "
        "`answer_beta_bound`."
    ),
    multiple=True,
    options=(
        Option(
            "For β > 1, J_β ≤ log p(x): it is still a lower bound on log p(x), a looser one "
            "than the ELBO.",
            True,
            "J_β = ELBO − (β − 1) · KL ≤ ELBO ≤ log p(x), because (β − 1) · KL ≥ 0.",
        ),
        Option(
            "For β < 1, J_β is a tighter lower bound on log p(x) than the ELBO.",
            False,
            "J_β = ELBO + (1 − β) · KL ≥ ELBO, but nothing keeps it below log p(x): it is "
            "larger than the ELBO because it is no bound at all, not because it is tighter.",
        ),
        Option(
            "For β < 1, J_β can exceed log p(x): it is no bound on log p(x).",
            True,
            "J_β − log p(x) = (1 − β) · KL(q ‖ p(z)) − KL(q ‖ p(z|x)), which is positive "
            "whenever the first KL is large enough; at β = 0 J_0 is the expected "
            "reconstruction log-likelihood, which a decoder that reads z well pushes above "
            "log p(x).",
        ),
        Option(
            "For β > 1, J_β is no longer a bound on log p(x), so its values mean nothing.",
            False,
            "subtracting more KL only lowers the objective: J_β ≤ ELBO ≤ log p(x) still holds.",
        ),
        Option(
            "Runs trained with different β schedules are compared by their ELBO (weight 1) "
            "at the end, not by the objective each one trained on.",
            True,
            "only J_1 is the ELBO; the training objectives of different schedules are "
            "different functions and their values are not comparable.",
        ),
    ),
    hints=(
        "Write J_β − ELBO in terms of the KL and β.",
        "A bound must hold for every q and every x. For β < 1, what is J_β − log p(x), using "
        "log p(x) = ELBO + KL(q(z|x) ‖ p(z|x))?",
    ),
    solution=(
        "(a), (c) and (e). J_β = ELBO − (β − 1) · KL. For β > 1 the extra term is ≤ 0, so "
        "J_β ≤ ELBO ≤ log p(x): a valid but looser lower bound. For β < 1 the extra term is "
        "≥ 0: J_β ≥ ELBO, and J_β − log p(x) = (1 − β) · KL(q ‖ p(z)) − KL(q ‖ p(z|x)) can be "
        "positive, so J_β is no bound on log p(x). That is why every run is compared by its "
        "ELBO at the end, whatever schedule trained it.\n\n"
        "```python\nanswer_beta_bound = {'a', 'c', 'e'}\n```"
    ),
)

DRILLS = (BETA_BOUND,)
