"""Chapter 09, olympiad pool: more multiple-choice items (five options, one right, 5 points).

One or two per chapter topic: autoencoders and PCA, amortised inference, the noise of the
reparameterisation trick, the KL's asymmetry, IWAE, annealing, free bits, active units, a
strong decoder, MIG, total correlation, conditional VAEs and latent diffusion.
"""

from __future__ import annotations

from ..choice import Option
from .ch09_choice import _choice


def _right_at(letter: str, options: tuple[Option, ...]) -> tuple[Option, ...]:
    """``options`` with the right one moved to ``letter``: the right letters of a paper are
    spread over a to e, so a guess of one letter is worth nothing."""
    right = next(o for o in options if o.correct)
    others = [o for o in options if not o.correct]
    position = "abcde".index(letter)
    return (*others[:position], right, *others[position:])


MORE_CHOICE_ITEMS = (
    _choice(
        "olympiad_mc_linear_ae",
        "A linear autoencoder",
        "An autoencoder with linear encoder and decoder (no activations) and a k-dimensional "
        "code is trained to minimise the squared reconstruction error on centred data. At the "
        "optimum its decoder's columns:",
        (
            Option(
                "are the top-k principal directions themselves, in order",
                False,
                "any invertible mix of them reconstructs equally well; only the subspace is "
                "determined.",
            ),
            Option(
                "span the same subspace as the top-k principal directions",
                True,
                "the best rank-k linear reconstruction is the projection on that subspace "
                "(Eckart–Young), in any basis of it.",
            ),
            Option(
                "are orthonormal by construction",
                False,
                "nothing in the loss forces orthonormal columns.",
            ),
            Option(
                "separate the data into k clusters",
                False,
                "a linear code is a projection, not a clustering.",
            ),
            Option(
                "beat PCA's reconstruction error",
                False,
                "with squared error they can at best equal PCA.",
            ),
        ),
        "A linear autoencoder finds the PCA subspace but not the PCA basis; non-linear "
        "layers are what let an autoencoder do better than PCA.",
        "What is the best rank-k linear reconstruction of the data?",
    ),
    _choice(
        "olympiad_mc_ae_holes",
        "Decoding between two codes",
        "A plain (deterministic) autoencoder is trained on digits. Decoding the midpoint of "
        "the codes of a 3 and a 7 often gives an image that looks like no digit, because:",
        (
            Option(
                "the decoder is linear",
                False,
                "the decoder is a non-linear network; linearity would make the midpoint an "
                "average image.",
            ),
            Option(
                "the code has too many dimensions",
                False,
                "holes appear with small codes too; the cause is the training objective.",
            ),
            Option(
                "nothing in the loss makes the space between training codes decode to digits",
                True,
                "only the training codes are ever decoded; a VAE's KL term and noisy codes "
                "fill the space between them.",
            ),
            Option(
                "the encoder was not trained long enough",
                False,
                "more training sharpens reconstructions of training codes, not the space "
                "between them.",
            ),
            Option(
                "the midpoint of two codes is not a valid input for the decoder",
                False,
                "any vector of the right size is a valid input; the question is what it "
                "decodes to.",
            ),
        ),
        "The reconstruction loss only constrains the decoder at the codes of training images; "
        "a VAE decodes a whole neighbourhood of each code (z = μ + σε) and pulls codes "
        "towards the prior, which leaves fewer holes.",
        "Which points of the code space does the reconstruction loss ever look at?",
    ),
    _choice(
        "olympiad_mc_amortised",
        "Why 'amortised' inference",
        "A VAE's encoder is said to perform amortised inference because:",
        _right_at(
            "d",
            (
                Option(
                    "it computes the exact posterior p(z|x)",
                    False,
                    "it outputs an approximation q(z|x); the exact posterior is intractable.",
                ),
                Option(
                    "one network outputs q(z|x)'s parameters for every x, instead of optimising "
                    "separate parameters for each x",
                    True,
                    "the cost of inference is paid once, in training, and spread over all inputs.",
                ),
                Option(
                    "its cost decreases with the size of the data set",
                    False,
                    "per example it costs one forward pass whatever the data set's size.",
                ),
                Option(
                    "it is trained with a learning-rate schedule",
                    False,
                    "schedules have nothing to do with the term.",
                ),
                Option(
                    "its KL term is averaged over the batch",
                    False,
                    "averaging over a batch is a reduction, not amortisation.",
                ),
            ),
        ),
        "Classic variational inference optimises (μ_x, σ_x) per data point; a VAE learns a "
        "function x ↦ (μ(x), σ(x)) shared by all points, so inference for a new x is one "
        "forward pass (at the price of an amortisation gap).",
        "Compare with fitting one Gaussian per training image by gradient descent.",
    ),
    _choice(
        "olympiad_mc_randn_like",
        "Where ε comes from",
        "A reparameterisation written `eps = torch.randn(mu.shape); z = mu + std * eps` runs on "
        "the CPU but fails once the model is moved to a GPU, because:",
        _right_at(
            "e",
            (
                Option(
                    "torch.randn draws from a uniform distribution",
                    False,
                    "randn draws standard-normal noise.",
                ),
                Option(
                    "eps is created on the CPU while mu lives on the GPU",
                    True,
                    "torch.randn(shape) uses the default device; torch.randn_like(mu) follows mu's "
                    "device and dtype.",
                ),
                Option(
                    "eps does not require a gradient",
                    False,
                    "noise never needs a gradient; that is the point of the trick.",
                ),
                Option(
                    "mu.shape is not a valid size on a GPU",
                    False,
                    "a shape is just integers.",
                ),
                Option(
                    "GPUs cannot generate random numbers",
                    False,
                    "they can; the tensors must only be on the same device.",
                ),
            ),
        ),
        "`torch.randn(shape)` makes a CPU float32 tensor; mixing it with CUDA tensors raises "
        "'Expected all tensors to be on the same device'. `torch.randn_like(mu)` keeps the "
        "device and dtype.",
        "Which device and dtype does each tensor have?",
    ),
    _choice(
        "olympiad_mc_kl_direction",
        "Mode seeking",
        "A unimodal Gaussian q is fitted to a well-separated bimodal target p by minimising "
        "KL(q ‖ p), as in a VAE's ELBO. The fitted q typically:",
        _right_at(
            "a",
            (
                Option(
                    "covers both modes with a wide variance",
                    False,
                    "that is the behaviour of KL(p ‖ q), which punishes q for missing mass of p.",
                ),
                Option(
                    "sits on one mode with a narrow variance",
                    True,
                    "KL(q ‖ p) punishes q for putting mass where p has little, so q hides inside "
                    "one mode.",
                ),
                Option(
                    "sits exactly between the modes",
                    False,
                    "between the modes p is small, so log q/p is large there: the worst place.",
                ),
                Option(
                    "equals p",
                    False,
                    "a unimodal Gaussian cannot equal a bimodal distribution.",
                ),
                Option(
                    "has a variance that diverges",
                    False,
                    "a wide q would put mass where p is tiny, which KL(q ‖ p) forbids.",
                ),
            ),
        ),
        "KL(q ‖ p) = E_q[log q − log p] is large wherever q has mass and p does not: the "
        "reverse KL is mode-seeking, the forward KL mass-covering.",
        "Where is log q(z) − log p(z) large?",
    ),
    _choice(
        "olympiad_mc_kl_zero",
        "When the KL vanishes",
        "For q = N(μ, σ²) in one dimension, KL(q ‖ N(0, 1)) = ½(μ² + σ² − log σ² − 1) is 0:",
        (
            Option("whenever μ = 0", False, "σ ≠ 1 still costs ½(σ² − log σ² − 1) > 0."),
            Option("whenever σ = 1", False, "μ ≠ 0 still costs ½μ² > 0."),
            Option(
                "exactly when μ = 0 and σ = 1",
                True,
                "σ² − log σ² − 1 ≥ 0 with equality only at σ² = 1, and μ² ≥ 0.",
            ),
            Option(
                "whenever μ² = log σ²",
                False,
                "that does not cancel σ² − 1; try μ = 1, σ² = e.",
            ),
            Option("never: a KL is always positive", False, "it is 0 when q equals p."),
        ),
        "u − log u − 1 ≥ 0 for u > 0 with equality only at u = 1; so the KL is 0 exactly at "
        "the prior. A collapsed dimension is one whose posterior equals the prior.",
        "Minimise u − log u − 1 over u > 0.",
    ),
    _choice(
        "olympiad_mc_iwae_k",
        "More importance samples",
        "The importance-weighted bound L_K = E[log (1/K) Σ_k w_k] with w_k = p(x, z_k)/q(z_k|x):",
        _right_at(
            "d",
            (
                Option(
                    "decreases as K grows",
                    False,
                    "it never decreases: L_K ≤ L_{K+1} (Burda et al.).",
                ),
                Option(
                    "equals the ELBO for every K",
                    False,
                    "only L_1 is the ELBO.",
                ),
                Option(
                    "grows with K and tends to log p(x) when the weights are bounded",
                    True,
                    "the average of K weights concentrates on p(x) = E_q[w]; Jensen's gap shrinks.",
                ),
                Option(
                    "can exceed log p(x) for large K",
                    False,
                    "every L_K is a lower bound: E[log mean w] ≤ log E[mean w] = log p(x).",
                ),
                Option(
                    "does not depend on q",
                    False,
                    "the weights depend on q; a better q tightens every L_K.",
                ),
            ),
        ),
        "ELBO = L_1 ≤ L_2 ≤ ... ≤ L_K ≤ log p(x), and L_K → log p(x) as K → ∞ under mild "
        "conditions: the tool to measure how loose an ELBO is.",
        "Apply Jensen to the average of K weights; what is E_q[w]?",
    ),
    _choice(
        "olympiad_mc_warmup",
        "Why warm up β",
        "KL annealing starts training with β ≈ 0 and raises it to 1. The main reason is:",
        (
            Option(
                "the KL term is undefined at the start of training",
                False,
                "it is defined (closed form) at every step.",
            ),
            Option(
                "to let the decoder learn to use z before the KL pushes q(z|x) to the prior",
                True,
                "early on, the cheapest way to lower β·KL is to ignore z; annealing postpones "
                "that pressure.",
            ),
            Option(
                "β = 0 makes the ELBO a tighter bound",
                False,
                "with β ≠ 1 the objective is not the ELBO at all.",
            ),
            Option(
                "to speed up every epoch",
                False,
                "β does not change the cost of an epoch.",
            ),
            Option(
                "to make the final model disentangled",
                False,
                "disentanglement is the aim of a large β, the opposite.",
            ),
        ),
        "Bowman et al. (2016) introduced KL annealing against posterior collapse in text VAEs: "
        "at β ≈ 0 the model is an autoencoder that learns informative codes, which the KL then "
        "regularises.",
        "What is the cheapest way to make the KL small at the start?",
    ),
    _choice(
        "olympiad_mc_free_bits",
        "What free bits do",
        "With free bits (λ nats per dimension, applied to the batch-mean KL of each "
        "dimension), a latent dimension whose KL is below λ:",
        _right_at(
            "e",
            (
                Option(
                    "is removed from the model",
                    False,
                    "it stays; it just pays a flat λ.",
                ),
                Option(
                    "gets no gradient from the KL term, so it is free to carry up to λ nats",
                    True,
                    "max(λ, KL_j) is flat in KL_j below λ.",
                ),
                Option(
                    "gets a KL gradient λ times larger",
                    False,
                    "below λ the term is constant: no gradient at all.",
                ),
                Option(
                    "is forced to exactly λ nats",
                    False,
                    "nothing pushes it up to λ; it only stops being pushed down.",
                ),
                Option(
                    "makes the objective an exact ELBO",
                    False,
                    "free bits change the objective; it is no longer the ELBO.",
                ),
            ),
        ),
        "Kingma et al. (2016): Σ_j max(λ, mean_b KL_bj). The KL can no longer be lowered below "
        "λ per dimension, so the optimiser stops squeezing information out of z.",
        "Differentiate max(λ, K) with respect to K when K < λ.",
    ),
    _choice(
        "olympiad_mc_active_units",
        "The definition of an active unit",
        "Burda et al. call latent dimension j active when:",
        (
            Option(
                "its posterior mean varies across inputs: Var_x(E_q[z_j|x]) > 0.01",
                True,
                "a unit whose mean is the same for every x carries no information about x.",
            ),
            Option(
                "its posterior variance is above 0.01 for every input",
                False,
                "a large posterior variance is what an *inactive* (prior-like) unit has.",
            ),
            Option(
                "its decoder weights are non-zero",
                False,
                "activity is measured on the encoder's outputs.",
            ),
            Option(
                "its KL is above 1 nat",
                False,
                "the criterion is a variance of the mean, not a KL threshold.",
            ),
            Option(
                "it is positive for most inputs",
                False,
                "the sign of z says nothing about information.",
            ),
        ),
        "A_u = Cov_x(E_{q(u|x)}[u]) > 0.01 (Burda et al. 2016): counts the dimensions the "
        "encoder actually uses.",
        "What does a unit look like when q(z_j|x) = p(z_j) for every x?",
    ),
    _choice(
        "olympiad_mc_strong_decoder",
        "A decoder that needs no code",
        "Replacing a VAE's MLP decoder by a powerful autoregressive one (e.g. PixelCNN) that "
        "models each pixel given the previous ones most likely:",
        _right_at(
            "d",
            (
                Option(
                    "removes the need for a KL term",
                    False,
                    "the KL is what makes the model generative; it stays.",
                ),
                Option(
                    "makes posterior collapse more likely: the decoder models x without z",
                    True,
                    "if p(x|z) can fit the data alone, the KL cost of using z is not worth paying.",
                ),
                Option(
                    "always increases the number of active units",
                    False,
                    "it tends to reduce them, the collapse effect.",
                ),
                Option(
                    "makes reconstructions blurrier",
                    False,
                    "autoregressive decoders give sharp samples.",
                ),
                Option(
                    "makes the ELBO a looser bound",
                    False,
                    "a better decoder usually gives a better (higher) ELBO, often with KL ≈ 0.",
                ),
            ),
        ),
        "Chen et al. (2017), 'Variational Lossy Autoencoder': information goes through z only "
        "if the decoder cannot model it locally; remedies are weaker decoders, free bits or "
        "annealing.",
        "What does the ELBO charge for information that passes through z?",
    ),
    _choice(
        "olympiad_mc_mig",
        "Reading a MIG",
        "A model on dSprites-like shapes has MIG ≈ 0 although every factor is well predicted "
        "from the code. The most likely reason:",
        _right_at(
            "a",
            (
                Option(
                    "the reconstructions are blurry",
                    False,
                    "MIG is computed from codes and factors, not from images.",
                ),
                Option(
                    "each factor is spread evenly over two or more latent dimensions",
                    True,
                    "MIG is the gap between the best and second-best latent for each factor: "
                    "shared factors give gaps near 0.",
                ),
                Option(
                    "the latent has too few dimensions",
                    False,
                    "too few dimensions would make factors hard to predict.",
                ),
                Option(
                    "the KL is too large",
                    False,
                    "the KL does not enter the MIG.",
                ),
                Option(
                    "the factors are discrete",
                    False,
                    "MIG is defined for discrete factors; it normalises by their entropy.",
                ),
            ),
        ),
        "MIG = mean over factors of (I(z_(1); v) − I(z_(2); v))/H(v). Information about a "
        "factor can be high while the gap is 0: the code is informative but entangled.",
        "MIG rewards one thing per latent; what if two latents share a factor?",
    ),
    _choice(
        "olympiad_mc_tc",
        "What β-TCVAE penalises",
        "Averaged over the data, the KL term splits as index-code MI + total correlation + "
        "dimension-wise KL (Chen et al. 2018). β-TCVAE puts a large weight β on:",
        _right_at(
            "c",
            (
                Option(
                    "the index-code mutual information I(x; z)",
                    False,
                    "penalising it removes information about x, which hurts reconstruction.",
                ),
                Option(
                    "the total correlation KL(q(z) ‖ Π_j q(z_j))",
                    True,
                    "it penalises the dependence between code dimensions, the part tied to "
                    "disentanglement.",
                ),
                Option(
                    "the dimension-wise KL to the prior",
                    False,
                    "that term keeps each marginal close to N(0, 1); it keeps weight 1.",
                ),
                Option(
                    "the reconstruction term",
                    False,
                    "β weighs a KL part, not the reconstruction.",
                ),
                Option(
                    "all three equally, like β-VAE",
                    False,
                    "that is β-VAE; β-TCVAE singles out one term.",
                ),
            ),
        ),
        "Only the total correlation is up-weighted, so information about x (the index-code "
        "MI) is not penalised as in β-VAE.",
        "Which term measures dependence between the dimensions of z?",
    ),
    _choice(
        "olympiad_mc_cvae",
        "Generating a chosen digit",
        "A conditional VAE is trained with the label y given to both the encoder q(z|x, y) "
        "and the decoder p(x|z, y). To generate a new image of a 7:",
        (
            Option(
                "encode a 7 from the training set and decode its μ",
                False,
                "that reconstructs one training image; it is not a new sample.",
            ),
            Option(
                "sample z ~ p(z) = N(0, I) and decode it with y = 7",
                True,
                "the prior is shared by all labels; the label enters through the decoder.",
            ),
            Option(
                "sample z ~ N(0, I) and search for a z the classifier calls a 7",
                False,
                "the conditional decoder needs no search.",
            ),
            Option(
                "set z = 7 and decode",
                False,
                "z is a vector of continuous codes, not a label.",
            ),
            Option(
                "decode the average code of all 7s without y",
                False,
                "without y the decoder does not know which digit to draw.",
            ),
        ),
        "Sohn et al. (2015): the ELBO becomes E_q[log p(x|z, y)] − KL(q(z|x, y) ‖ p(z)); at "
        "generation time z carries the style and y the class.",
        "What does the decoder receive, and from where does z come at generation time?",
    ),
)

TOPICS = {
    "olympiad_mc_linear_ae": "autoencoders",
    "olympiad_mc_ae_holes": "autoencoders",
    "olympiad_mc_amortised": "VAE and latent space",
    "olympiad_mc_randn_like": "reparameterisation",
    "olympiad_mc_kl_direction": "KL divergence",
    "olympiad_mc_kl_zero": "KL divergence",
    "olympiad_mc_iwae_k": "ELBO and IWAE",
    "olympiad_mc_warmup": "KL annealing",
    "olympiad_mc_free_bits": "posterior collapse",
    "olympiad_mc_active_units": "posterior collapse",
    "olympiad_mc_strong_decoder": "posterior collapse",
    "olympiad_mc_mig": "β-VAE and disentanglement",
    "olympiad_mc_tc": "β-VAE and disentanglement",
    "olympiad_mc_cvae": "applications",
}

__all__ = ["MORE_CHOICE_ITEMS", "TOPICS"]
