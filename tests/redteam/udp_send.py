# attacks: 2.10
# damage: sends UDP datagrams to a server on the grader's machine (127.0.0.1)
# needs: sandbox
import socket


def relu_grad(inp, out):
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sender:
                sender.sendto(b"__TOKEN__ was here", (host, __UDP_PORT__))
        except OSError:
            pass
