"""Chapter 09, olympiad practice: multiple-choice items, USAAIO style.

Five options, exactly one right, all or nothing, 5 points each.
"""

from __future__ import annotations

from ..choice import ChoiceDrill, Option

CHAPTER = "09"
POINTS = 5.0


def _choice(
    drill_id: str,
    title: str,
    prompt: str,
    options: tuple[Option, ...],
    solution: str,
    hint: str,
) -> ChoiceDrill:
    if len(options) != 5 or sum(o.correct for o in options) != 1:
        raise ValueError(f"{drill_id}: an olympiad choice item has 5 options, one of them right")
    return ChoiceDrill(
        id=drill_id,
        chapter=CHAPTER,
        title=title,
        answer_name=f"answer_{drill_id}",
        prompt=prompt,
        hints=("Eliminate the options you can disprove with one line of math.", hint),
        solution=solution,
        max_score=POINTS,
        options=options,
    )


CHOICE_ITEMS = (
    _choice(
        "olympiad_mc_elbo_gap",
        "What the ELBO misses",
        "For any encoder q(z|x), the difference log p(x) − ELBO(x) equals:",
        (
            Option("KL(q(z|x) ‖ p(z))", False, "that KL is a term *inside* the ELBO, not the gap."),
            Option(
                "KL(q(z|x) ‖ p(z|x))",
                True,
                "log p(x) = ELBO + KL(q(z|x) ‖ p(z|x)); the gap closes when q is the exact "
                "posterior.",
            ),
            Option(
                "KL(p(z|x) ‖ q(z|x))", False, "the direction is reversed: the gap is KL(q ‖ p)."
            ),
            Option(
                "zero whenever q(z|x) is Gaussian",
                False,
                "only when q equals the true posterior, which is rarely Gaussian.",
            ),
            Option("E_q[log p(x|z)]", False, "that is the reconstruction term of the ELBO."),
        ),
        "Write log p(x) = E_q[log p(x, z)/q(z|x)] + E_q[log q(z|x)/p(z|x)]: the first term is "
        "the ELBO, the second KL(q(z|x) ‖ p(z|x)) ≥ 0.",
        "Write log p(x, z) = log p(z|x) + log p(x) inside E_q[log p(x, z)/q(z|x)].",
    ),
    _choice(
        "olympiad_mc_collapse",
        "Reading a training log",
        "A VAE with 32 latent dimensions trains for 20 epochs. The KL of every dimension stays "
        "below 0.01 nats, the reconstruction error plateaus early, and prior samples all look "
        "alike. The most likely diagnosis is:",
        (
            Option(
                "the learning rate is too small",
                False,
                "a small rate slows everything but does not drive every KL to 0 while the "
                "decoder keeps learning.",
            ),
            Option(
                "the encoder overfits the training set",
                False,
                "an overfitting encoder carries *more* information (higher KL), not none.",
            ),
            Option(
                "the reparameterisation trick biases the gradients",
                False,
                "the pathwise estimator is unbiased.",
            ),
            Option(
                "posterior collapse: q(z|x) ≈ p(z) and the decoder ignores z",
                True,
                "KL ≈ 0 in every dimension means the codes carry no information about x.",
            ),
            Option(
                "32 latent dimensions are too few for MNIST",
                False,
                "too few dimensions would show high KL in the dimensions that exist.",
            ),
        ),
        "Every dimension's KL ≈ 0 means q(z|x) equals the prior for all x (posterior collapse); "
        "fixes: KL annealing, free bits, a weaker decoder, a lower β.",
        "What does a KL of 0 between q(z|x) and p(z) say about how much z depends on x?",
    ),
    _choice(
        "olympiad_mc_beta",
        "Turning β up",
        "An MLP VAE on MNIST is retrained with β = 8 instead of β = 1 (loss = reconstruction + "
        "β·KL). Compared with β = 1, we expect:",
        (
            Option(
                "a lower KL, a higher reconstruction error and blurrier reconstructions",
                True,
                "a heavier KL price buys less information through z.",
            ),
            Option(
                "a higher KL and sharper reconstructions",
                False,
                "β penalises the KL more, so the KL goes down.",
            ),
            Option(
                "a better (higher) test ELBO",
                False,
                "the ELBO is the β = 1 objective; optimising another one rarely improves it.",
            ),
            Option(
                "no change, because β only rescales the loss",
                False,
                "β rescales one term only, which moves the optimum.",
            ),
            Option(
                "more active latent units",
                False,
                "a larger β switches units off (their KL is too expensive).",
            ),
        ),
        "β > 1 trades reconstruction for a smaller KL: less information, blurrier outputs, "
        "fewer active units, sometimes more disentangled codes.",
        "β multiplies the price of every nat of information the code carries.",
    ),
    _choice(
        "olympiad_mc_iwae",
        "Importance-weighted bounds",
        "L_k = E[log (1/k) Σ_i p(x, z_i)/q(z_i|x)] with z_i ~ q(z|x) i.i.d. Which statement is "
        "true?",
        (
            Option("L_k decreases as k grows", False, "it increases (in expectation) with k."),
            Option(
                "L_k > log p(x) once k is large",
                False,
                "by Jensen, every L_k is a lower bound on log p(x).",
            ),
            Option(
                "a single-sample estimate of L_k is unbiased for log p(x)",
                False,
                "its expectation is L_k < log p(x): biased low for every finite k.",
            ),
            Option(
                "L_k requires a different encoder than the ELBO",
                False,
                "it uses the same q(z|x), only more samples.",
            ),
            Option(
                "ELBO = L_1 ≤ L_k ≤ L_{k+1} ≤ log p(x)",
                True,
                "Burda et al.: the bounds tighten monotonically and converge to log p(x).",
            ),
        ),
        "Jensen on the average of k weights gives L_k ≤ log p(x); averaging more weights "
        "tightens it: L_1 ≤ L_k ≤ L_{k+1}.",
        "Jensen's inequality applies to the average of k weights just as to one weight.",
    ),
    _choice(
        "olympiad_mc_reparam",
        "The reparameterisation trick",
        "Which statement about z = μ + σ ⊙ ε, ε ~ N(0, I), is correct?",
        (
            Option(
                "its gradient estimate has low variance but is biased",
                False,
                "it is unbiased: E_ε[∇f(μ + σε)] = ∇E[f(z)].",
            ),
            Option("∂z/∂σ = 1", False, "∂z/∂σ = ε; it is ∂z/∂μ that equals 1."),
            Option(
                "for a differentiable f it gives an unbiased estimate of ∇_{μ,σ} E[f(z)]",
                True,
                "the expectation moves to ε, which does not depend on μ, σ.",
            ),
            Option(
                "it applies unchanged to discrete (categorical) latents",
                False,
                "a discrete sample is not a differentiable function of its parameters "
                "(Gumbel-softmax relaxes it).",
            ),
            Option(
                "it needs `torch.distributions.Normal(mu, sigma).sample()`",
                False,
                "`.sample()` detaches; `rsample()` or μ + σ·randn_like is the trick.",
            ),
        ),
        "Drawing ε outside the network makes z a differentiable function of μ and σ with "
        "∂z/∂μ = 1, ∂z/∂σ = ε; the estimate is unbiased.",
        "Once ε is drawn, z = μ + σε is an ordinary function of μ and σ.",
    ),
    _choice(
        "olympiad_mc_blur",
        "Why VAE samples are blurry",
        "VAE samples with a factorised (per-pixel) Bernoulli or Gaussian likelihood are blurry "
        "mainly because:",
        (
            Option(
                "the KL term adds Gaussian noise to the decoded images",
                False,
                "the noise is in z; the decoder output is a deterministic function of z.",
            ),
            Option(
                "VAEs are sharper than GANs; blur is a myth",
                False,
                "GAN samples are sharper; VAEs trade sharpness for likelihood and coverage.",
            ),
            Option(
                "the decoder has too many parameters",
                False,
                "bigger decoders blur less (or collapse), they do not cause blur.",
            ),
            Option(
                "sigmoid outputs cannot reach exactly 0 or 1",
                False,
                "values of 0.999 look black and white; blur is spatial averaging.",
            ),
            Option(
                "a per-pixel likelihood is maximised by the average of the plausible images, "
                "so uncertain details are averaged out",
                True,
                "when z does not pin down an edge's position, the best per-pixel prediction "
                "is the mean of the possibilities: a blur.",
            ),
        ),
        "Pixel-wise likelihoods reward the conditional mean, and the mean of several sharp "
        "images is blurry. Mitigations: lower β, perceptual or adversarial losses, VQ-VAE, "
        "diffusion decoders.",
        "Which single prediction minimises the expected per-pixel loss when two images are "
        "equally likely?",
    ),
    _choice(
        "olympiad_mc_anomaly",
        "When reconstruction error fails as an anomaly score",
        "A VAE trained only on handwritten digits 0–4 scores inputs by reconstruction error "
        "(high = anomalous). Which input is it most likely to *miss* (score as normal)?",
        (
            Option(
                "a blank (all-black) image",
                True,
                "a blank image is simpler than any digit; almost every pixel is the easy "
                "background, so the error is tiny.",
            ),
            Option("an image of uniform random noise", False, "noise reconstructs terribly."),
            Option(
                "a digit 0 with a third of the image occluded by a white block",
                False,
                "a bright block is far from anything seen in training.",
            ),
            Option(
                "a colour-inverted digit (white background)",
                False,
                "hundreds of bright background pixels reconstruct very badly.",
            ),
            Option(
                "a digit 1 drawn with salt-and-pepper noise",
                False,
                "the noise pixels are not reconstructed and add error.",
            ),
        ),
        "Reconstruction error measures how hard an image is to reproduce, not how unusual it "
        "is: simple out-of-distribution images (blank pages) get low scores.",
        "Reconstruction error is low for images that are easy to reproduce, whatever they show.",
    ),
)
