"""Run a snippet with every network entry point of the socket module replaced by a tripwire.

Used as ``python tests/_offline.py SNIPPET``: exits 3 and prints the attempt if anything
tries to resolve a name or open a connection; otherwise runs SNIPPET and exits with its status.
Unix-domain sockets are allowed (they never leave the machine).
"""

import socket
import sys

attempts = []


def _trip(name):
    def tripwire(*args, **kwargs):
        attempts.append((name, args[:2]))
        sys.stderr.write(f"NETWORK ATTEMPT: {name} {args[:2]!r}\n")
        raise OSError(f"network blocked in test: {name}")

    return tripwire


_real_connect = socket.socket.connect


def _connect(self, address):
    if self.family == getattr(socket, "AF_UNIX", None):
        return _real_connect(self, address)
    return _trip("socket.connect")(self, address)


socket.socket.connect = _connect
socket.socket.connect_ex = lambda self, address: _connect(self, address)
socket.create_connection = _trip("create_connection")
socket.getaddrinfo = _trip("getaddrinfo")
socket.gethostbyname = _trip("gethostbyname")

code = sys.argv[1]
try:
    exec(compile(code, "<offline snippet>", "exec"), {"__name__": "__main__"})
finally:
    if attempts:
        sys.stderr.write(f"{len(attempts)} network attempt(s)\n")
        sys.stdout.flush()
        import os

        os._exit(3)
