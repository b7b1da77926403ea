"""What makes a function metric, loss or training code (EPS1xx, EPS2xx). See ml-api-facts.md §A0 for the
argument order of each family."""

from __future__ import annotations

# Function-name fragments of metric and loss code (matched as regex alternatives against the lowercased name,
# on word boundaries or underscores). The `metric-name-patterns` setting adds regexes of its own, searched in
# the name as written (rules/analysis/roles.py: name_is_metric).
METRIC_NAME_PATTERNS: tuple[str, ...] = (
    r"precision",
    r"recall",
    r"f1",
    r"f_?beta",
    r"f_?score",
    r"dice",
    r"iou",
    r"jaccard",
    r"accuracy",
    r"acc",
    r"specificity",
    r"sensitivity",
    r"mcc",
    r"matthews",
    r"kappa",
    r"auc",
    r"metric",
    r"score",
    r"\w*_coef",
    r"coefficient",
    r"tversky",
    r"tpr",
    r"fpr",
    r"ppv",
    r"npv",
    r"mape",
    r"smape",
    r"r2",
    r"psnr",
    r"ssim",
    r"\w+_error$",  # mean_squared_error, standardized_mean_squared_error (a suffix: not `raise_error`'s prefix)
    r"\w+_distance$",
)
LOSS_NAME_PATTERNS: tuple[str, ...] = (
    r"loss",
    r"crossentropy",
    r"cross_entropy",
    r"xent",
    r"bce",
    r"nll",
    r"focal",
    r"hinge",
    r"kl_?div\w*",
    r"kld",
    r"objective",
    r"criterion",
    # TF1 model classes build their loss as a "cost" node (`_create_cost_function_node`, `compute_cost`).
    r"cost",
    # Contrastive and ranking losses, rarely called `*_loss`.
    r"ntxent",
    r"info_?nce",
    r"contrastive",
    r"triplet\w*",
    r"listwise\w*",
    r"pairwise_hinge",
)
# Names that training code (differentiated) uses.
TRAINING_NAME_PATTERNS: tuple[str, ...] = (r"train_step", r"training_step", r"compute_loss", r"step_fn", r"update_step")

# Parameter names: the first is a label, the second a prediction.
LABEL_PARAM_NAMES = frozenset({"y_true", "y", "labels", "label", "target", "targets", "y_gt", "gt", "ground_truth", "truth", "true", "y_actual", "actual"})
PREDICTION_PARAM_NAMES = frozenset(
    {"y_pred", "pred", "preds", "prediction", "predictions", "output", "outputs", "model_output", "probs", "probabilities", "proba", "y_hat", "yhat", "y_prob", "y_score", "scores", "p", "logits", "y_logits", "input", "inputs"}
)
# Prediction parameters that by name hold logits, not probabilities.
LOGIT_PARAM_NAMES = frozenset({"logits", "y_logits", "logit", "scores", "raw", "z"})

# Base classes (canonical names) whose methods are metric or loss code, and which methods.
KERAS_METRIC_BASES = frozenset({"keras.metrics.Metric", "keras.metrics.Mean", "keras.metrics.MeanMetricWrapper", "keras.metrics.Reduce", "keras.metrics.Sum"})
KERAS_LOSS_BASES = frozenset({"keras.losses.Loss", "keras.losses.LossFunctionWrapper"})
TORCHMETRICS_BASES = frozenset({"torchmetrics.Metric", "torchmetrics.metric.Metric"})
TORCH_MODULE_BASES = frozenset({"torch.nn.Module", "torch.nn.modules.loss._Loss", "torch.nn.modules.loss._WeightedLoss", "torch.nn.modules.module.Module"})
METRIC_METHODS = frozenset({"update_state", "result", "update", "compute", "__call__", "call", "forward"})
LOSS_METHODS = frozenset({"call", "__call__", "forward"})

# Any framework (flax `Metric`, allennlp `Metric`, a project's own `BaseLoss`): the last part of a base class's
# name ending like this makes the class a metric or a loss, and these methods metric or loss code.
METRIC_BASE_SUFFIXES = ("Metric", "Score")
LOSS_BASE_SUFFIXES = ("Loss", "Criterion")
ROLE_CLASS_METHODS = frozenset({"update", "_update", "update_state", "compute", "_compute", "result", "get_metric", "__call__", "call", "forward"})
# A torch module whose own name ends like this is a loss (`SquimObjective`, `LabelSmoothingCriterion`).
LOSS_CLASS_SUFFIXES = ("Loss", "Criterion", "Objective")
# Public functions in a file under a folder named like this are metric / loss code.
ROLE_FOLDERS = {"metrics": "metric", "losses": "loss", "loss": "loss"}

# Calls whose presence makes a function training code (its values are differentiated).
GRADIENT_CALLS = frozenset(
    {
        "tensorflow.GradientTape",
        "jax.grad",
        "jax.value_and_grad",
        "jax.vjp",
        "jax.jacrev",
        "jax.jacfwd",
        "torch.autograd.grad",
        "torch.autograd.backward",
        "equinox.filter_grad",
        "equinox.filter_value_and_grad",
    }
)
GRADIENT_METHODS = frozenset({"backward", "gradient"})  # loss.backward(), tape.gradient(...)
