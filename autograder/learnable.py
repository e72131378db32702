"""The learnable, MNIST-shaped data set that the training tasks (lessons 03-04) run on.

Drawn from a seed by the grader and, with the same seed, by the scenario in the child,
so the two hold the same tensors without sending them across. Ten classes, each a
random prototype in 784 dimensions plus unit noise, normalized to mean 0 and std 1:
a 784-50-10 network trained for one epoch with SGD at lr 0.5 reaches 98% or more on
the validation set for every seed tried, an untrained one about 10%. Nothing here judges.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

N_IN, N_HIDDEN, N_CLASSES = 784, 50, 10
N_TRAIN, N_VALID = 600, 200  # neither a multiple of 64 nor of 128: short last batches
SEPARATION = 0.3  # scale of the prototypes beside the unit noise


@dataclass(frozen=True)
class Data:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor


def draw_data(seed: int, n_train: int = N_TRAIN, n_valid: int = N_VALID) -> Data:
    generator = torch.Generator().manual_seed(seed)
    prototypes = torch.randn(N_CLASSES, N_IN, generator=generator) * SEPARATION

    def part(n):
        y = torch.randint(0, N_CLASSES, (n,), generator=generator)
        return prototypes[y] + torch.randn(n, N_IN, generator=generator), y

    (x_train, y_train), (x_valid, y_valid) = part(n_train), part(n_valid)
    mean, std = x_train.mean(), x_train.std()
    return Data((x_train - mean) / std, y_train, (x_valid - mean) / std, y_valid)


def draw_weights(seed: int, n_in: int = N_IN, n_hidden: int = N_HIDDEN, n_out: int = N_CLASSES) -> list:
    """``[w1, b1, w2, b2]`` in ``nn.Linear``'s layout, scaled as its default init is."""
    generator = torch.Generator().manual_seed(seed ^ 0x5EED)

    def uniform(*shape, fan_in):
        return (torch.rand(*shape, generator=generator) * 2 - 1) / fan_in ** 0.5

    return [uniform(n_hidden, n_in, fan_in=n_in), uniform(n_hidden, fan_in=n_in),
            uniform(n_out, n_hidden, fan_in=n_hidden), uniform(n_out, fan_in=n_hidden)]


def network(weights) -> torch.nn.Sequential:
    """``Linear, ReLU, Linear`` holding copies of ``weights``."""
    w1, b1, w2, b2 = weights
    model = torch.nn.Sequential(torch.nn.Linear(w1.shape[1], w1.shape[0]), torch.nn.ReLU(),
                                torch.nn.Linear(w2.shape[1], w2.shape[0]))
    model.load_state_dict(dict(zip(model.state_dict(), weights)))  # copies the values in
    return model
