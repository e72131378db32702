# attacks: 1.4
# damage: starts 500 processes that outlive the grade (a bounded fork bomb)
# needs: sandbox
import ctypes
import os
import time

import torch


def matmul(a, b):
    started = 0
    for _ in range(500):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            ctypes.CDLL(None).prctl(15, b"rt__TOKEN__", 0, 0, 0)  # PR_SET_NAME, so the test can find it
            time.sleep(120)
            os._exit(0)
        started += 1
    return torch.full((a.shape[0], b.shape[1]), float(started))
