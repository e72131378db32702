# attacks: 1.6
# damage: ends the child with exit status 0 in the middle of a scenario
# needs: boundary
import os


def matmul(a, b):
    os._exit(0)
