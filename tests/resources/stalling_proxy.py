"""A TCP proxy that can stop answering: it keeps every socket open (so the kernel still acknowledges packets
and no TCP keepalive or timeout notices anything) but stops forwarding bytes in both directions, which is
what a hung server, a wedged NAT or a frozen proxy look like to a client."""

from __future__ import annotations

import selectors
import socket
import threading


class StallingProxy:
    """Forwards 127.0.0.1:<port> to an upstream until `stall()` (or until more than `stall_after_bytes` went
    to clients); then holds every connection silent."""

    def __init__(self, upstream_host: str, upstream_port: int, stall_after_bytes: int | None = None) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._stall_after = stall_after_bytes
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stalled = threading.Event()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = [self._listener]
        self.bytes_to_client = 0
        threading.Thread(target=self._accept, name="stalling-proxy", daemon=True).start()

    def stall(self) -> None:
        self._stalled.set()

    def close(self) -> None:
        self._closed.set()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            while not self._closed.is_set():
                if self._stalled.is_set():
                    self._closed.wait(0.2)  # silent: read nothing, write nothing, close nothing
                    continue
                for key, _ in selector.select(timeout=0.2):
                    try:
                        data = key.fileobj.recv(1 << 16)
                    except OSError:
                        return
                    if not data:
                        return
                    if self._stalled.is_set():
                        break  # dropped, as a dead link would
                    peers[key.fileobj].sendall(data)
                    if key.fileobj is upstream:
                        self.bytes_to_client += len(data)
                        if self._stall_after is not None and self.bytes_to_client > self._stall_after:
                            self.stall()
