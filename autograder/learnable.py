"""The learnable, MNIST-shaped data sets that the training tasks (lessons 03-06) run on.

Drawn from a seed by the grader and, with the same seed, by the scenario in the child,
so the two hold the same tensors without sending them across. Ten classes, each a
random prototype in 784 dimensions plus unit noise, normalized to mean 0 and std 1:
a 784-50-10 network trained for one epoch with SGD at lr 0.5 reaches 98% or more on
the validation set for every seed tried, an untrained one about 10%.

Lesson 06's CNN trains on images (``draw_images``): rows of 784 pixels that are 28x28
pictures, each class a coarse pattern (a 2x2 grid of blocks) and a brightness of its own,
plus unit noise, normalized. Ten SGD steps at lr 0.4 on one batch of 32 lower the loss of
the course's first CNN, as PyTorch initializes it, on that batch for each of 300 seeds
tried (by 0.4% at the least, 3% typically; ``tests/test_data.py`` tries 20); the grader
rebuilds that CNN (``cnn``) to measure.
Nothing here judges.
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


IMAGE_SIZE, CNN_BATCH, CNN_STEPS, CNN_LR = 28, 32, 10, 0.4
CNN_CHANNELS = (8, 16, 32, 32)


def draw_images(seed: int, n: int = CNN_BATCH, c: int = N_CLASSES, grid: int = 2) -> tuple:
    """``(x, y)``: ``n`` flattened 28x28 images of ``c`` classes, normalized."""
    generator = torch.Generator().manual_seed(seed)
    patterns = torch.randn(c, 1, grid, grid, generator=generator) * 2 + torch.randn(c, 1, 1, 1, generator=generator)
    patterns = torch.nn.functional.interpolate(patterns, size=IMAGE_SIZE, mode="nearest").reshape(c, -1)
    y = torch.randint(0, c, (n,), generator=generator)
    x = patterns[y] + torch.randn(n, IMAGE_SIZE * IMAGE_SIZE, generator=generator)
    return (x - x.mean()) / x.std(), y


class _Reshape(torch.nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(*self.shape)


def cnn(c: int = N_CLASSES) -> torch.nn.Sequential:
    """The course's first CNN: resize, four conv+ReLU of stride 2, pool, flatten, linear."""
    layers, n_in = [_Reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)], 1
    for i, n_out in enumerate(CNN_CHANNELS):
        size = 5 if i == 0 else 3
        layers += [torch.nn.Conv2d(n_in, n_out, size, padding=size // 2, stride=2), torch.nn.ReLU()]
        n_in = n_out
    return torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), _Reshape(-1, n_in),
                               torch.nn.Linear(n_in, c))


def cnn_layer_shapes(bs: int, c: int = N_CLASSES) -> list[tuple[int, ...]]:
    """The output shape of each layer of ``cnn`` for a batch of ``bs`` rows."""
    x, shapes = torch.zeros(bs, IMAGE_SIZE * IMAGE_SIZE), []
    with torch.set_grad_enabled(False):
        for module in cnn(c):
            x = module(x)
            shapes.append(tuple(x.shape))
    return shapes


def cnn_network(weights, c: int = N_CLASSES) -> torch.nn.Sequential:
    """``cnn`` holding copies of ``weights`` (its parameters in order)."""
    model = cnn(c)
    model.load_state_dict(dict(zip(model.state_dict(), weights)))
    return model
