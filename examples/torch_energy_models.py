"""PyTorch attention, an RBM and a Siamese network with softmax, softplus, sigmoid and log-sum-exp written by hand."""

import torch
import torch.nn as nn


class SelfAttention(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.scale = dim**-0.5

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = q @ k.transpose(-2, -1) * self.scale
        weights = torch.exp(scores) / torch.exp(scores).sum(dim=-1, keepdim=True)
        return weights @ v


class ELU(nn.Module):
    def forward(self, x):
        return torch.where(x > 0, x, torch.exp(x) - 1)


class RBM(nn.Module):
    def __init__(self, visible: int, hidden: int) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.randn(visible, hidden) * 0.01)
        self.b = nn.Parameter(torch.zeros(visible))
        self.c = nn.Parameter(torch.zeros(hidden))

    def free_energy(self, v):
        hidden_term = torch.log(1 + torch.exp(v @ self.W + self.c)).sum(dim=1)
        return -(v @ self.b) - hidden_term

    def sample_hidden(self, v):
        p = 1 / (1 + torch.exp(-(v @ self.W + self.c)))
        return torch.bernoulli(p)


def mixture_nll(log_weights, component_log_probs):
    return -torch.log(torch.sum(torch.exp(log_weights + component_log_probs), dim=-1)).mean()


class SiameseDistance(nn.Module):
    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, a, b):
        za, zb = self.encoder(a), self.encoder(b)
        return torch.sqrt(torch.sum((za - zb) ** 2, dim=1))
