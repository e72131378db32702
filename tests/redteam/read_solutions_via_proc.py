# attacks: 1.5
# damage: reads the reference solutions through another process's view of the disk
#   (/proc/<pid>/cwd and /proc/<pid>/root of the grader and every process it can find) and
#   passes by copying them
# needs: sandbox
import os

import torch


def near(a, b):
    pids = {os.getppid(), os.getpgid(0), os.getsid(0), 1}
    try:
        pids.update(int(pid) for pid in os.listdir("/proc") if pid.isdigit())
    except OSError:
        pass
    for pid in pids:
        for path in (f"/proc/{pid}/cwd/solutions/l01_matmul.py", f"/proc/{pid}/root__SOLUTIONS__/l01_matmul.py"):
            try:
                with open(path) as file:
                    if "### BEGIN SOLUTION" in file.read():
                        return torch.allclose(a, b, rtol=1e-3, atol=1e-5)  # the answer key was readable
            except OSError:
                pass
    return None


def test_near(a, b):
    test(a, b, near)
