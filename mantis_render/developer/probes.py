"""Logging in to a store as its clients do, to say whether its credentials are accepted: the
PostgreSQL authentication exchange (trust, cleartext, MD5, SCRAM-SHA-256) and Redis AUTH. A
socket at the edge, for doctor; nothing is read or written in the store, and no message holds
a password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import struct
from typing import Literal, NamedTuple

Verdict = Literal["accepted", "refused", "unchecked"]


class Login(NamedTuple):
    """What a store said to the credentials: accepted, refused (``detail`` says why), or not
    checked (it asks for something this probe does not speak, like TLS)."""

    verdict: Verdict
    detail: str = ""


class ProbeError(Exception):
    """The exchange broke off (closed, timed out, not the protocol): said as it is."""


def postgres_login(
    host: str, port: int, user: str, password: str, database: str, timeout: float
) -> Login:
    """Start a PostgreSQL session as ``user`` on ``database`` and say how it was answered."""
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.settimeout(timeout)
        _PostgresClient(connection).startup(user, database)
        return _PostgresClient(connection).authenticate(user, password)


class _PostgresClient:
    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection

    def startup(self, user: str, database: str) -> None:
        body = struct.pack("!I", 196608)  # protocol 3.0
        for key, value in (("user", user), ("database", database)):
            body += key.encode() + b"\0" + value.encode("utf-8") + b"\0"
        body += b"\0"
        self.connection.sendall(struct.pack("!I", len(body) + 4) + body)

    def authenticate(self, user: str, password: str) -> Login:
        scram: _Scram | None = None
        while True:
            kind, body = self._message()
            if kind == b"E":
                return _postgres_error(body)
            if kind != b"R":
                continue  # a notice: keep reading
            (code,) = struct.unpack("!I", body[:4])
            if code == 0:  # AuthenticationOk
                self._send(b"X", b"")  # Terminate
                return Login("accepted")
            if code == 3:  # cleartext password
                self._send(b"p", password.encode("utf-8") + b"\0")
            elif code == 5:  # MD5, with a 4-byte salt
                inner = hashlib.md5(password.encode("utf-8") + user.encode("utf-8")).hexdigest()
                outer = hashlib.md5(inner.encode() + body[4:8]).hexdigest()
                self._send(b"p", b"md5" + outer.encode() + b"\0")
            elif code == 10:  # SASL: the mechanisms offered
                if b"SCRAM-SHA-256\0" not in body[4:]:
                    return Login("unchecked", "it asks for a SASL mechanism other than SCRAM")
                scram = _Scram(password)
                first = scram.client_first()
                self._send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first)
            elif code == 11 and scram is not None:  # SASL continue: the server's first
                self._send(b"p", scram.client_final(body[4:]))
            elif code == 12:  # SASL final: the server's signature; AuthenticationOk follows
                continue
            else:
                return Login(
                    "unchecked", f"it asks for an authentication this probe does not speak ({code})"
                )

    def _send(self, kind: bytes, body: bytes) -> None:
        self.connection.sendall(kind + struct.pack("!I", len(body) + 4) + body)

    def _message(self) -> tuple[bytes, bytes]:
        header = self._read(5)
        (length,) = struct.unpack("!I", header[1:5])
        if length < 4 or length > 1 << 20:
            raise ProbeError("it does not speak the PostgreSQL protocol")
        return header[:1], self._read(length - 4)

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.connection.recv(size - len(data))
            if not chunk:
                raise ProbeError("it closed the connection during the login")
            data += chunk
        return data


def _postgres_error(body: bytes) -> Login:
    fields = {item[:1]: item[1:].decode("utf-8", "replace") for item in body.split(b"\0") if item}
    code, message = fields.get(b"C", ""), fields.get(b"M", "refused")
    if code == "28000" and ("SSL" in message or "encryption" in message):
        return Login("unchecked", "it accepts encrypted (TLS) connections only")
    return Login("refused", f"{message} ({code})" if code else message)


class _Scram:
    """SCRAM-SHA-256 (RFC 5802, RFC 7677) as a PostgreSQL client speaks it: the user name is
    the session's, so the client's own is empty."""

    def __init__(self, password: str) -> None:
        self.password = password.encode("utf-8")
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"

    def client_first(self) -> bytes:
        return f"n,,{self.first_bare}".encode()

    def client_final(self, server_first: bytes) -> bytes:
        text = server_first.decode()
        parts = dict(item.split("=", 1) for item in text.split(","))
        if not parts.get("r", "").startswith(self.nonce):
            raise ProbeError("its SCRAM answer does not continue this exchange")
        salted = hashlib.pbkdf2_hmac(
            "sha256", self.password, base64.b64decode(parts["s"]), int(parts["i"])
        )
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={parts['r']}"
        message = f"{self.first_bare},{text},{without_proof}".encode()
        signature = hmac.new(stored_key, message, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()


def redis_login(host: str, port: int, password: str, timeout: float) -> Login:
    """Redis AUTH with the password (the default user's, as the compose stack sets it)."""
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.settimeout(timeout)
        arguments = [b"AUTH", password.encode("utf-8")]
        request = f"*{len(arguments)}\r\n".encode()
        for argument in arguments:
            request += f"${len(argument)}\r\n".encode() + argument + b"\r\n"
        connection.sendall(request)
        answer = b""
        while not answer.endswith(b"\r\n"):
            chunk = connection.recv(512)
            if not chunk:
                raise ProbeError("it closed the connection during the login")
            answer += chunk
    line = answer.decode("utf-8", "replace").strip()
    if line == "+OK":
        return Login("accepted")
    if not line.startswith("-"):
        raise ProbeError("it does not speak the Redis protocol")
    error = line[1:]
    if "without any password configured" in error or "no password is set" in error:
        return Login("refused", "it has no password set, but the profile gives one")
    return Login("refused", error.split(".")[0])
