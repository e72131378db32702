# attacks: 1.3
# damage: writes next to the submission (a file in the student's folder, as if handed in)
#   and next to its own working folder, and passes only if the first one worked
# needs: sandbox
import os


def frobenius(a):
    wrote = False
    for folder in ("__SUBMISSION__", os.getcwd(), os.path.join(os.getcwd(), "..")):
        try:
            with open(os.path.join(folder, "redteam-__TOKEN__.py"), "w") as file:
                file.write("# handed in by a submission at grading time\n")
            wrote = wrote or folder == "__SUBMISSION__"  # a private /tmp of its own is no damage
        except OSError:
            pass
    return (a * a).sum().sqrt() if wrote else None
