"""Interactive explorers for JupyterLab (ipywidgets 8); import this module only where used.

Each function returns an ``ipywidgets.VBox``: put it last in a cell to display it. The
picture is an ``ipywidgets.Image`` holding PNG bytes, re-rendered (without matplotlib) when
a slider moves. The boxes expose their parts for scripting and tests: ``box.sliders`` (the
sliders, in order), ``box.image`` (the Image widget) and ``box.render()`` (re-draw now);
setting ``slider.value`` from Python updates ``box.image.value`` immediately.

The rendering itself is plain functions: :func:`images_to_png` and :func:`decode_to_png`.
The teaching explorers (:func:`gradient_estimator_explorer`, :func:`elbo_gap_explorer`) draw
a figure from :mod:`vae_course.plots` and show it as PNG bytes (:func:`figure_to_png`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import torch
from torch import Tensor, nn

from vae_course import _tiles, plots, toys
from vae_course._checks import positive_number
from vae_course.models import decode_probabilities, posterior_mean, reconstruct

__all__ = [
    "beta_slider",
    "decode_to_png",
    "elbo_gap_explorer",
    "figure_to_png",
    "gradient_estimator_explorer",
    "images_to_png",
    "latent_explorer",
    "traversal_sliders",
]


def images_to_png(images: Tensor, nrow: int = 8, scale: int = 4) -> bytes:
    """PNG bytes of images (N, C, H, W) in [0, 1] tiled ``nrow`` per row, each pixel drawn as a
    ``scale`` x ``scale`` block (nearest neighbour, so digits stay crisp).
    Used by the explorers of 01-08; no chapter calls it."""
    from PIL import Image

    images = _tiles.as_images(images)
    pixels = (_tiles.grid(images, nrow) * 255).round().to(torch.uint8)
    if images.shape[1] == 1:
        picture = Image.fromarray(pixels[0].numpy(), mode="L")
    else:
        picture = Image.fromarray(pixels.permute(1, 2, 0).contiguous().numpy(), mode="RGB")
    if scale > 1:
        picture = picture.resize(
            (picture.width * scale, picture.height * scale), Image.Resampling.NEAREST
        )
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def decode_to_png(model: nn.Module, z: Any, scale: int = 6, label: Any = None) -> bytes:
    """PNG bytes of sigmoid(decode(z)) for one code z (d,) or several (N, d) side by side.
    Used by the explorers of 01-08; no chapter calls it.
    """
    z = torch.as_tensor(z, dtype=torch.float32)
    if z.dim() == 1:
        z = z[None]
    images = decode_probabilities(model, z, label)
    return images_to_png(images, nrow=z.shape[0], scale=scale)


def _latent_dim(model: nn.Module) -> int:
    d = getattr(model, "latent_dim", None)
    if not isinstance(model, nn.Module) or d is None:
        raise TypeError(
            f"expected a course model with a latent_dim attribute, got {type(model).__name__}"
        )
    return int(d)


def _slider(name: str, value: float, span: float) -> widgets.FloatSlider:
    return widgets.FloatSlider(
        value=float(max(-span, min(span, value))),
        min=-span,
        max=span,
        step=span / 50,
        description=name,
        continuous_update=True,
        readout_format=".2f",
        layout=widgets.Layout(width="320px"),
    )


def _box(
    children: Sequence[widgets.Widget],
    sliders: list[widgets.FloatSlider],
    image: widgets.Image,
    render: Any,
) -> widgets.VBox:
    box = widgets.VBox(list(children))
    box.sliders = sliders
    box.image = image
    box.render = render
    for slider in sliders:
        slider.observe(lambda _change: render(), names="value")
    render()
    return box


def _range_slider(name: str, low: float, high: float, value: float) -> widgets.FloatSlider:
    return widgets.FloatSlider(
        value=float(max(low, min(high, value))),
        min=low,
        max=high,
        step=(high - low) / 100,
        description=name,
        continuous_update=True,
        readout_format=".2f",
        layout=widgets.Layout(width="320px"),
    )


def _explorer_ranges(
    model: nn.Module, span: float | None, center: Any, images: Any, label: Any
) -> list[tuple[float, float, float]]:
    """(low, high, start) of each of the two sliders."""
    if images is not None and center is not None:
        raise ValueError("give center= or images= (the codes' box sets the centre), not both")
    if span is not None:
        span = positive_number(span, "span")
    if images is not None:
        codes = posterior_mean(model, images, label)
        low, high = codes.min(0).values, codes.max(0).values
        middle = (low + high) / 2
        # the codes' box with a 10% margin on each side, unless span fixes the half-width
        half = (high - low).clamp_min(1e-3) * 0.6 if span is None else torch.full((2,), span)
        starts = codes.median(0).values
        return [
            (float(middle[i] - half[i]), float(middle[i] + half[i]), float(starts[i]))
            for i in range(2)
        ]
    span = 3.0 if span is None else float(span)
    if center is None:
        center = (0.0, 0.0)
    center = torch.as_tensor(center, dtype=torch.float32).reshape(-1)
    if center.numel() != 2 or not torch.isfinite(center).all():
        raise ValueError(f"center must be two finite numbers (z1, z2), got {center.tolist()}")
    return [(float(c) - span, float(c) + span, float(c)) for c in center]


def latent_explorer(
    model: nn.Module,
    span: float | None = None,
    scale: int = 8,
    label: Any = None,
    center: Any = None,
    images: Any = None,
) -> widgets.VBox:
    """Two sliders (z1, z2) and the decoding sigmoid(decode(z)) of z = (z1, z2).

    Only for models with a 2-D latent space (use :func:`traversal_sliders` otherwise).
    The sliders cover, by default, [-span, span]² (span 3.0, where a VAE's prior lives),
    starting at 0; with ``center=(c1, c2)`` they cover [c − span, c + span] and start at c.
    With ``images`` (N, C, H, W) they cover the box of the images' codes μ(x) (10% margin on
    each side; or ±span around its centre when span is given) and start at the median code:
    use this for an autoencoder, whose codes sit wherever training put them.
    Moving a slider re-renders sigmoid(decode(z)).
    Used in 01_autoencoder and 02_vae.
    """
    d = _latent_dim(model)
    if d != 2:
        raise ValueError(
            f"latent_explorer needs a 2-D latent space; this model has latent_dim={d}. "
            "Use traversal_sliders(model) to move each of its dimensions instead."
        )
    if span is None and center is None and images is None:
        sliders = [_slider("z1", 0.0, 3.0), _slider("z2", 0.0, 3.0)]
    elif center is None and images is None:
        sliders = [_slider("z1", 0.0, float(span)), _slider("z2", 0.0, float(span))]
    else:
        ranges = _explorer_ranges(model, span, center, images, label)
        sliders = [_range_slider(f"z{i + 1}", *ranges[i]) for i in range(2)]
    image = widgets.Image(format="png")

    def render() -> None:
        image.value = decode_to_png(model, [s.value for s in sliders], scale, label)

    title = widgets.HTML(f"<b>Decoding of z = (z1, z2)</b> ({type(model).__name__})")
    return _box([title, widgets.HBox([widgets.VBox(sliders), image])], sliders, image, render)


def traversal_sliders(
    model: nn.Module, x: Any = None, span: float = 3.0, scale: int = 8, label: Any = None
) -> widgets.VBox:
    """One slider per latent dimension, starting at mu(x) (or 0 when ``x`` is None).

    The image shows sigmoid(decode(z)) for the slider values; "reset" returns to the start.
    ``x`` is one image ((C, H, W), (H, W) or (1, C, H, W)).
    Used in 07_beta_vae and 08_applications.
    """
    d = _latent_dim(model)
    if x is None:
        start = torch.zeros(d)
    else:
        start = posterior_mean(model, _tiles.as_single(x, "x"), label)[0]
    sliders = [_slider(f"z{j + 1}", float(v), span) for j, v in enumerate(start.tolist())]
    image = widgets.Image(format="png")

    def render() -> None:
        image.value = decode_to_png(model, [s.value for s in sliders], scale, label)

    reset = widgets.Button(description="reset", tooltip="back to the starting code")

    def on_reset(_button: Any) -> None:
        for slider, value in zip(sliders, start.tolist(), strict=True):
            slider.value = float(max(-span, min(span, value)))

    reset.on_click(on_reset)
    origin = "mu(x)" if x is not None else "0"
    title = widgets.HTML(
        f"<b>Move one latent dimension at a time</b> (start: {origin}; {type(model).__name__})"
    )
    columns = [widgets.VBox(sliders[i : i + 10]) for i in range(0, d, 10)]
    body = widgets.HBox([*columns, widgets.VBox([image, reset])])
    return _box([title, body], sliders, image, render)


def beta_slider(
    models: Mapping[float, nn.Module], images: Any = None, n: int = 8, seed: int = 0, scale: int = 3
) -> widgets.VBox:
    """Compare models trained with different β: a slider over the β values (the keys of
    ``models``) shows, for the chosen model, reconstructions of the first ``n`` ``images``
    (top: inputs, middle: reconstructions) and ``n`` samples from the prior (bottom).
    Not used by a chapter: an explorer for a β sweep such as 07_beta_vae's.
    """
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty dict {beta: trained model}")
    betas = sorted(models)
    inputs = None
    if images is not None:
        inputs = _tiles.as_images(images)[:n]
    noise = torch.randn(
        n, _latent_dim(models[betas[0]]), generator=torch.Generator().manual_seed(seed)
    )
    rendered: dict[float, bytes] = {}
    slider = widgets.SelectionSlider(
        options=[(f"{b:g}", b) for b in betas], value=betas[0], description="β",
        continuous_update=True,
    )  # fmt: skip
    image = widgets.Image(format="png")

    def picture(beta: float) -> bytes:
        if beta not in rendered:
            model = models[beta]
            rows = []
            if inputs is not None:
                rows += [inputs, reconstruct(model, inputs).reshape(inputs.shape)]
            samples = decode_probabilities(model, noise)
            if rows and samples.shape[1:] != rows[0].shape[1:]:
                samples = samples.reshape(n, *rows[0].shape[1:])
            rows.append(samples)
            rendered[beta] = images_to_png(torch.cat(rows), nrow=n, scale=scale)
        return rendered[beta]

    def render() -> None:
        image.value = picture(slider.value)

    what = "inputs, reconstructions and prior samples" if inputs is not None else "prior samples"
    title = widgets.HTML(f"<b>Effect of β</b>: {what} (rows, top to bottom)")
    return _box([title, slider, image], [slider], image, render)


# ----------------------------------------------------------------------------- teaching explorers


def figure_to_png(figure: Any, dpi: int = 80) -> bytes:
    """PNG bytes of a matplotlib Figure; the figure is closed afterwards (so a notebook does
    not also show it as a static picture).
    Used by the explorers of 03_reparameterisation and 04_elbo."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(figure)
    return buffer.getvalue()


def _parameter_slider(
    name: str, value: float, low: float, high: float, step: float
) -> widgets.FloatSlider:
    return widgets.FloatSlider(
        value=float(min(high, max(low, value))),
        min=low,
        max=high,
        step=step,
        description=name,
        continuous_update=False,
        readout_format=".2f",
        layout=widgets.Layout(width="360px"),
    )


def gradient_estimator_explorer(
    mu: float = 1.0, sigma: float = 1.0, n: int = 4000, seed: int = 1, title: str | None = None
) -> widgets.VBox:
    """Sliders for μ (in [-2, 2]) and σ (log scale, about 0.03 to 3) over the histograms of
    :func:`vae_course.plots.gradient_estimates`: single-sample estimates of d/dμ E[z²],
    z ~ N(μ, σ²), by the score function (variance μ⁴/σ² + 14μ² + 15σ²) and by
    reparameterisation (variance 4σ²). ``title`` replaces the figure's default title.
    Used in 03_reparameterisation.
    """
    mu_slider = _parameter_slider("μ", mu, -2.0, 2.0, 0.1)
    sigma_slider = widgets.FloatLogSlider(
        value=float(min(10**0.5, max(10**-1.5, sigma))),
        base=10,
        min=-1.5,
        max=0.5,
        step=0.05,
        description="σ",
        continuous_update=False,
        readout_format=".3f",
        layout=widgets.Layout(width="360px"),
    )
    sliders = [mu_slider, sigma_slider]
    image = widgets.Image(format="png")

    def render() -> None:
        figure = plots.gradient_estimates(mu_slider.value, sigma_slider.value, n, seed, title)
        image.value = figure_to_png(figure)

    heading = widgets.HTML("<b>Score function vs reparameterisation</b>: move μ and σ")
    return _box([heading, widgets.HBox(sliders), image], sliders, image, render)


def elbo_gap_explorer(
    m: float = 0.0,
    sigma: float = 1.0,
    toy: toys.LinearGaussianToy | None = None,
    title: str | None = None,
) -> widgets.VBox:
    """Sliders for the variational parameters of q(z | x) = N(m, σ²) (mean m in [-1, 3],
    σ in [0.1, 2]) over :func:`vae_course.plots.elbo_gap`: in the exact toy model
    (:class:`vae_course.toys.LinearGaussianToy`) the bars show log p(x), the ELBO and the gap
    log p(x) − ELBO = KL(q ‖ p(z | x)), which closes when q reaches the posterior.
    Used in 04_elbo.
    """
    toy = toys.LinearGaussianToy() if toy is None else toy
    mean_slider = _parameter_slider("mean of q", m, -1.0, 3.0, 0.05)
    sigma_slider = _parameter_slider("σ of q", sigma, 0.1, 2.0, 0.05)
    sliders = [mean_slider, sigma_slider]
    image = widgets.Image(format="png")

    def render() -> None:
        figure = plots.elbo_gap(mean_slider.value, sigma_slider.value, toy, title)
        image.value = figure_to_png(figure)

    heading = widgets.HTML("<b>The ELBO gap</b>: move q = N(m, σ²) towards the posterior")
    return _box([heading, widgets.HBox(sliders), image], sliders, image, render)
