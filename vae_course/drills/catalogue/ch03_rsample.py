"""Chapter 03, the reparameterisation trick: ``rsample_builtin`` (choice), PyTorch's own
version of the trick, ``torch.distributions.Normal(loc, scale).rsample()``.

The chapter then measures what the true options claim: rsample's draws and the learner's
``reparameterize`` agree in distribution (a two-sample Kolmogorov–Smirnov test and the
moments over many draws) and in gradient (∂z/∂μ = 1, ∂z/∂σ = ε).
"""

from __future__ import annotations

from ..choice import ChoiceDrill, Option

RSAMPLE_BUILTIN = ChoiceDrill(
    id="rsample_builtin",
    chapter="03",
    title="PyTorch's built-in trick: rsample",
    answer_name="answer_rsample_builtin",
    prompt=(
        "`q = torch.distributions.Normal(loc, scale)` has two ways to draw: `q.sample()` and "
        "`q.rsample()`. You have `mu` and `log_var` from an encoder. Which statements are "
        "true? Bind the letters of **every** true statement (e.g. `{'a', 'c'}`) to "
        "`answer_rsample_builtin`."
    ),
    multiple=True,
    options=(
        Option(
            "`rsample()` draws ε ~ N(0, 1) and returns loc + scale · ε, so gradients flow to "
            "loc and scale: it is the reparameterisation trick.",
            True,
            "the 'r' is for reparameterised; it computes exactly μ + σ·ε.",
        ),
        Option(
            "`sample()` returns a draw from the same distribution, but cut from the graph: no "
            "gradient reaches loc or scale.",
            True,
            "sample() runs under torch.no_grad(); the draw itself is fine, its gradient is not.",
        ),
        Option(
            "The second argument of Normal is the variance, so the encoder's outputs go in as "
            "`Normal(mu, log_var.exp())`.",
            False,
            "`scale` is the standard deviation σ = exp(½ log σ²): "
            "`Normal(mu, torch.exp(0.5 * log_var))`.",
        ),
        Option(
            "Gradients through `rsample()` are biased, which is why VAEs use the score-function "
            "estimator instead.",
            False,
            "the reparameterised gradient is unbiased (this chapter measures it), and VAEs use "
            "it precisely because its variance is far lower than the score function's.",
        ),
        Option(
            "`rsample()` draws the same ε on every call unless you seed it.",
            False,
            "it draws fresh noise on every call, from PyTorch's random generator.",
        ),
    ),
    hints=(
        "`help(torch.distributions.Normal.rsample)` and `help(torch.distributions.Normal)`: "
        "what is `scale`?",
        "Which of the two methods is wrapped in torch.no_grad()?",
    ),
    solution=(
        "(a) and (b). `Normal(mu, torch.exp(0.5 * log_var)).rsample()` is the trick written by "
        "PyTorch: z = μ + σ·ε with ε ~ N(0, I), differentiable in μ and σ; `sample()` gives a "
        "draw of the same distribution without a gradient. The scale is σ, not σ² (c); the "
        "gradient is unbiased (d); the noise is fresh on every call (e).\n\n"
        "```python\nanswer_rsample_builtin = {'a', 'b'}\n```"
    ),
)

DRILLS = (RSAMPLE_BUILTIN,)
