"""A PyTorch training loop with a hand-written focal loss and an IoU metric."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self, features: int, classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(features, 128), nn.ReLU(), nn.Linear(128, classes))

    def forward(self, x):
        return self.body(x)


class FocalLoss(nn.Module):
    def __init__(self, gamma: float = 2.0) -> None:
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, target):
        probs = torch.softmax(logits, dim=-1)
        log_probs = torch.log(probs)
        pt = probs.gather(1, target[:, None]).squeeze(1)
        weight = (1 - pt) ** self.gamma
        return F.nll_loss(weight[:, None] * log_probs, target)


def iou_score(pred_mask, true_mask):
    intersection = (pred_mask & true_mask).sum()
    union = (pred_mask | true_mask).sum()
    return intersection / union


def masked_mse_loss(pred, target, mask):
    sq = ((pred - target) ** 2 * mask).sum()
    count = mask.sum()
    return torch.where(count > 0, sq / count, torch.zeros_like(sq))


def train_step(model, batch, optimizer):
    x, y = batch
    scores = torch.sigmoid(model(x))
    loss = nn.BCEWithLogitsLoss()(scores, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def train_step_multiclass(model, batch, optimizer):
    x, y = batch
    logits = model(x)
    loss = F.nll_loss(torch.log(F.softmax(logits, dim=1)), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
