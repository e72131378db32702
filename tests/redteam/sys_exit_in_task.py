# attacks: 2.4
# damage: raises SystemExit(0) inside the task, hoping the harness stops with success
# needs: boundary
import sys


def relu(x):
    sys.exit(0)
