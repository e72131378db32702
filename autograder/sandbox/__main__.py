"""``python -m autograder.sandbox``: one line per layer, on or off and why."""
from autograder.sandbox import doctor_lines

print("\n".join(doctor_lines()))
