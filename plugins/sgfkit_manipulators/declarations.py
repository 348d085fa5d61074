"""What the manipulators declare (parameters, condition kinds), importable without torch.

``sgfkit validate`` and ``sgfkit info`` read these; the components in sgf.py, interfacegan.py,
ganspace.py and direction.py subclass them.
"""
from __future__ import annotations

from typing import ClassVar

from sgfkit.declarations import ManipulatorDeclaration
from sgfkit.params import Param

#: direction file formats :class:`Direction` reads
FORMATS = ("auto", "interfacegan", "ganspace", "vector")


class SGFDeclaration(ManipulatorDeclaration):
    """Surrogate Gradient Field editing for any condition kind the encoder offers."""

    params: ClassVar[dict[str, Param]] = {
        "F": Param(str, "contractive", "auxiliary mapping: contractive (||dF/dz|| <= contraction for every input, "
                   "so the Neumann series converges) or paper (AdaIN blocks, no such guarantee)",
                   choices=("contractive", "paper")),
        "contraction": Param(float, 0.5, "contractive F: bound kappa on ||dF/dz|| (and so on its spectral radius)",
                             min=0.05, max=0.99),
        "layers_F": Param(int, None, "conditional linear blocks of F (default: 6 in z space, 15 in w / w+)",
                          nullable=True, min=1),
        "width": Param(int, None, "hidden width of F (default: the latent size)", nullable=True, min=4),
        "train_steps": Param(int, 3000, "Adam steps to train F", min=1),
        "batch_size": Param(int, 256, "training batch size", min=1),
        "lr": Param(float, 2e-4, "Adam learning rate", min=0.0),
        "step_size": Param(float, 0.2, "Euler step eta: dc = eta * (c1 - c0)", min=1e-6, max=1.0),
        "neumann_order": Param(int, 1, "order m of the Neumann series of (I - dF/dz)^-1", min=0, max=64),
        "max_steps": Param(int, 60, "maximum Euler steps T (adaptive / exact modes)", min=1),
        "tolerance": Param(float, 0.05, "stop when encoder.distance(c, c1, target dims) <= tolerance", min=0.0),
        "smoothing": Param(float, 0.5, "stopping rule: weight of the previous smoothed error (exponential "
                           "moving average of the measured error; 0 = no smoothing)", min=0.0, max=0.95),
        "patience": Param(int, 4, "stopping rule: steps without a new best smoothed error before a sample stops "
                          "(it then returns to its best step: rolled-back, or diverging when its smoothed error "
                          "rose above the source's)", min=1),
        "plateau_growth": Param(float, 1.0, "with reaim: after a step that left the reading exactly as it was "
                                "(a discrete reader such as a captioner), the next step is this many times longer "
                                "(up to 16x; a new reading resets it); 1 = off", min=1.0, max=4.0),
        "reaim": Param(bool, False, "adaptive / exact modes: each step aims at the remaining change, "
                       "dc = eta * (c1 - c) on the targeted dims from the last measurement (Algorithm 1 keeps "
                       "the first dc for the whole path)"),
        "untargeted": Param(str, "hold", "what F is asked of the dims the target does not name: hold (dc = 0, "
                            "they stay where they are) or follow (they change as they do with the targeted ones "
                            "in the training conditions: their linear conditional mean; for tied conditions such "
                            "as keypoints and the scores read from them)", choices=("hold", "follow")),
        "mode": Param(str, "adaptive", "adaptive: Algorithm 1; fast: c <- c + dc without re-measuring, "
                      "1/eta steps; exact: dense Jacobian + solve (small batches)",
                      choices=("adaptive", "fast", "exact")),
        "whiten": Param(str, "auto", "condition units of F: pca (whitened principal axes of the training conditions; "
                        "drops axes without variance, e.g. of caption embeddings), std (each dim standardised) or "
                        "auto (pca for embedding conditions, std otherwise)", choices=("auto", "std", "pca")),
        "lr_schedule": Param(str, "constant", "learning rate over training: constant or cosine (decays to 0; "
                             "measured: lower held-out R^2 at the bundled recipes' step counts)",
                             choices=("constant", "cosine")),
        "seed": Param(int, 0, "seed of F's initialisation and batches"),
        "ensemble": Param(int, 1, "F is the mean of this many mappings trained alike with seeds seed, seed + 1, ... "
                          "(averages out the initialisation and batch noise in F's derivatives, which are SGF's step; "
                          "fitting takes this many times as long)", min=1, max=16),
        "calibrate_step": Param(bool, True, "scale SGF's step so that one step realises the asked condition change "
                                "on average (gain measured on held-out samples other than the reported ones)"),
        # 512: over 128 samples the median leak moved by +-0.05 with the draw of targets (faces, W space)
        "fidelity_samples": Param(int, 512, "held-out samples for the step-fidelity check in the fit report, at most "
                                  "(with calibrate_step, at least half the held-out samples stay for calibration; "
                                  "0 skips it)", min=0),
    }


class InterFaceGANDeclaration(ManipulatorDeclaration):
    """Linear edits along SVM boundary normals (attributes and keypoint coordinates, not embeddings)."""

    condition_kinds: ClassVar[tuple[str, ...]] = ("attributes", "keypoints", "mixed")

    params: ClassVar[dict[str, Param]] = {
        "ratio": Param(float, 0.02, "share of the dataset taken from each end of the scores", min=1e-4, max=0.5),
        "split": Param(float, 0.7, "train share of the chosen samples (the rest validates)", min=0.1, max=1.0),
        "svm_c": Param(float, 1.0, "SVC regularisation C", min=1e-6),
        "project_out": Param(list, [], "condition names whose boundaries edits stay orthogonal to "
                             "(conditional manipulation)", item_type=str),
        "seed": Param(int, 0, "seed of the train/validation split"),
    }


class GANSpaceDeclaration(ManipulatorDeclaration):
    """Unsupervised PCA directions, matched to attributes by a documented selection rule."""

    condition_kinds: ClassVar[tuple[str, ...]] = ("attributes", "keypoints", "mixed")

    params: ClassVar[dict[str, Param]] = {
        "components": Param(int, 80, "number of principal components", min=1),
        "samples": Param(int, 20000, "untruncated w samples for the PCA", min=10),
        "estimator": Param(str, "ipca", "ipca (IncrementalPCA) or pca (full SVD)", choices=("ipca", "pca")),
        "std_samples": Param(int, 5000, "fresh samples measuring each component's standard deviation", min=10),
        "selection": Param(str, "edit", "how a condition dim gets its component: edit (moves it most) or "
                           "correlation", choices=("edit", "correlation")),
        "selection_components": Param(int, 20, "leading components searched for each condition dim", min=1),
        "selection_samples": Param(int, 64, "dataset latents edited while searching", min=1),
        "selection_sigma": Param(float, 2.0, "search edit size in standard deviations", min=1e-3),
        "component": Param(int, None, "use this component for every edit (skips the selection)", nullable=True, min=0),
        "layers": Param((str, list), None, "w+ layers edits apply to when the request names none "
                        "(null: all; a group such as coarse; [i, ...]; 'start:end')", nullable=True),
        "seed": Param(int, 0, "sampling seed"),
    }


class DirectionDeclaration(ManipulatorDeclaration):
    """Edits along one direction loaded from a file (InterFaceGAN boundary, GANSpace component, e4e .pt)."""

    condition_kinds: ClassVar[tuple[str, ...]] = ("attributes", "keypoints", "embedding", "mixed")

    params: ClassVar[dict[str, Param]] = {
        "file": Param(str, help="direction file (.npy/.npz/.pt), relative to the recipe", path=True),
        "format": Param(str, "auto", "interfacegan (boundary .npy), ganspace (component cache .npz), vector, "
                        "or auto", choices=FORMATS),
        "file_key": Param(str, None, "array to use in a vector file holding several", nullable=True),
        "component": Param(int, 0, "GANSpace component index", min=0),
        "condition": Param(str, None, "the condition the direction raises: edits follow their target on it "
                           "(default: always +direction)", nullable=True),
        "layers": Param((str, list), None, "w+ layers edits apply to when the request names none "
                        "(null: all; a group such as coarse; [i, ...]; 'start:end')", nullable=True),
        "strength": Param(float, 3.0, "default edit size: distance (interfacegan), standard deviations "
                          "(ganspace) or multiple (vector)"),
    }

