# attacks: 0.2
# damage: writes files into $HOME, the grader's home (/root) and the home of its user
# needs: sandbox
import os
import pwd


def test_eq(a, b):
    homes = {os.path.expanduser("~"), "/root", os.environ.get("HOME", "/root")}
    try:
        homes.add(pwd.getpwuid(0).pw_dir)
    except KeyError:
        pass
    for home in homes:
        try:
            with open(os.path.join(home, "redteam-__TOKEN__"), "w") as file:
                file.write("planted by a submission\n")
        except OSError:
            pass
