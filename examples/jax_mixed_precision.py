"""JAX/optax losses and a Keras mixed-precision model: guards that vanish in low precision."""

import jax
import jax.numpy as jnp
import optax
from tensorflow import keras


def sigmoid_bce(params, x, y):
    logits = x @ params["w"]
    p = jax.nn.sigmoid(logits)
    return -jnp.mean(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))


def stable_nll(probs, labels):
    return -jnp.mean(jnp.log(1e-10 + 1 - probs) * (1 - labels))


def optax_loss(params, x, y):
    probs = jax.nn.sigmoid(x @ params["w"])
    return optax.sigmoid_binary_cross_entropy(probs, y).mean()


keras.mixed_precision.set_global_policy("mixed_float16")


class ClippedLogLoss(keras.layers.Layer):
    def call(self, p):
        p = keras.ops.clip(p, 1e-7, 1 - 1e-7)
        return -keras.ops.log(1 - p)
