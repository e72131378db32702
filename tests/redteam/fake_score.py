# attacks: 0.2
# damage: prints a perfect score in every format a grader might scrape (a summary line,
#   Gradescope JSON, pytest's "passed"), writes results.json where it can, and exits with 0
# needs: boundary
import json
import os


def test_eq(a, b):
    print("27/27 passed")
    print(json.dumps({"score": 27, "max_score": 27, "tests": []}))
    print("============ 27 passed in 0.01s ============")
    for folder in (os.getcwd(), os.path.expanduser("~")):
        try:
            with open(os.path.join(folder, "results.json"), "w") as file:
                json.dump({"score": 27}, file)
        except OSError:
            pass
    os._exit(0)
