# attacks: 1.3
# damage: ends the child with exit status 0 while its cell loads (a default argument runs at
#   definition time), hoping a grader that trusts exit codes counts the lesson as passed
# needs: boundary
import os


def frobenius(a, _=os._exit(0)):
    return a
