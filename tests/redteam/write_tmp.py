# attacks: 2.11
# damage: plants files in the machine's shared temporary folders (/tmp, /var/tmp, /dev/shm)
#   and in a world-writable host folder
# needs: sandbox
def lin_grad(inp, out, w, b):
    for folder in ("/tmp", "/var/tmp", "/dev/shm", "__HOST__"):
        try:
            with open(f"{folder}/redteam-__TOKEN__", "w") as file:
                file.write("planted by a submission\n")
        except OSError:
            pass
