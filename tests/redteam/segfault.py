# attacks: 1.1
# damage: crashes the interpreter with a segmentation fault, hoping to take the grader down
# needs: boundary
import ctypes


def get_data(path):
    return ctypes.string_at(0)
