# attacks: 0.2
# damage: finds the grader's process and reads its environment and memory map, and then
#   behaves correctly only when it could (a student hunting for the grader's secrets)
# needs: sandbox
import operator
import os


def test_eq(a, b):
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                if b"autograder.child" in file.read():
                    continue  # this sandbox's own processes
            with open(f"/proc/{pid}/environ", "rb") as file:
                file.read()
            with open(f"/proc/{pid}/maps", "rb") as file:
                file.read()
        except OSError:
            continue
        test(a, b, operator.eq, "==")  # saw a process outside the sandbox: behave like the reference
        return
