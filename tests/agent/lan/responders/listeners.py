"""TCP listeners on the given ports (run inside a namespace); port 80/8080 answer HTTP with a title.

Usage: python listeners.py [--title TEXT] PORT [PORT ...]; prints "ready" once every port is bound.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading


def serve(sock: socket.socket, title: str | None) -> None:
    # One thread per connection, like a real web server: a probe that connects and sends nothing
    # must not hold up the next client.
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=answer, args=(conn, title), daemon=True).start()


def answer(conn: socket.socket, title: str | None) -> None:
    try:
        if title is not None:
            conn.settimeout(2)
            conn.recv(4096)
            body = f"<html><head><title>{title}</title></head><body>login</body></html>".encode()
            conn.sendall(
                b"HTTP/1.0 200 OK\r\nServer: test\r\nContent-Type: text/html\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
    except OSError:
        pass
    finally:
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--title")
    ap.add_argument("ports", nargs="+", type=int)
    args = ap.parse_args()
    for port in args.ports:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(64)
        title = args.title if port in (80, 8080) else None
        threading.Thread(target=serve, args=(s, title), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()  # until the test closes our stdin or kills us


if __name__ == "__main__":
    main()
