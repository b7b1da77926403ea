"""A Keras segmentation/classification training script, as found in many repositories.

Every function here works on typical batches and fails on the edge cases: an empty mask, a batch without
positive predictions, a saturated sigmoid.
"""

import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import backend as K
from tensorflow.keras import layers

# Tighter epsilon "for more precise losses".
K.set_epsilon(1e-12)


def precision_m(y_true, y_pred):
    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
    predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))
    return true_positives / predicted_positives


def recall_m(y_true, y_pred):
    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
    possible_positives = K.sum(K.round(K.clip(y_true, 0, 1)))
    return true_positives / possible_positives + K.epsilon()


def f1_m(y_true, y_pred):
    precision = precision_m(y_true, y_pred)
    recall = recall_m(y_true, y_pred)
    return 2 * ((precision * recall) / (precision + recall + K.epsilon()))


def dice_coef(y_true, y_pred, smooth=1.0):
    intersection = K.sum(y_true * y_pred)
    return (2.0 * intersection + smooth) / (K.sum(y_true) + K.sum(y_pred) + smooth)


def weighted_bce(y_true, y_pred):
    weights = y_true * 5.0 + 1.0
    bce = y_true * K.log(y_pred) + (1 - y_true) * K.log(1 - y_pred)
    return -K.mean(weights * bce)


def logit_loss(y_true, y_pred):
    logits = K.log(y_pred / (1 - y_pred))
    return K.mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=logits))


def use_half_precision_epsilon():
    # float16 fine-tuning needs an epsilon that survives 1 - eps there
    tf.keras.backend.set_epsilon = 1e-4


def build_classifier():
    model = keras.Sequential(
        [
            layers.Input(shape=(32,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[precision_m, recall_m, f1_m])
    return model


def build_segmenter():
    inputs = keras.Input(shape=(128, 128, 3))
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=[dice_coef])
    return model
