# attacks: 0.2
# damage: kills its parent (the grader, where the child is a plain subprocess) and the
#   parent's process group, so that no result is ever written
# needs: sandbox
import os
import signal


def test_eq(a, b):
    parent = os.getppid()
    for kill in (lambda: os.kill(parent, signal.SIGKILL),
                 lambda: os.killpg(os.getpgid(parent), signal.SIGKILL),
                 lambda: os.killpg(os.getpgid(0), signal.SIGKILL)):
        try:
            kill()
        except OSError:
            pass
