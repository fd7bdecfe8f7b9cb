"""adbd for an emulated phone: adb's transport protocol on a loopback TCP port, what a phone with
Wi-Fi debugging listens on (``adb connect 127.0.0.1:PORT``).

Written from adb's own documents and headers, read in aosp-mirror/platform_system_core at
0b633d880 (adb/, Android 10, the adb 29 that Debian ships):

* ``protocol.txt`` and ``adb.h``: 24-byte little-endian headers (command, arg0, arg1, length,
  checksum, magic = command ^ 0xffffffff); CNXN(version, maxdata, "device::props;features=…"),
  AUTH(TOKEN 1 / SIGNATURE 2 / RSAPUBLICKEY 3), OPEN(local-id, 0, service), OKAY (ready), WRTE
  (one unacknowledged write per stream in each direction), CLSE. ``adb.cpp`` parse_banner reads
  ro.product.name/model/device and features from the banner.
* ``daemon/services.cpp``: ``shell[,args]:command`` (``v2`` in args: the shell protocol, else
  raw bytes), ``exec:command`` (raw, stdin from the stream), ``sync:``.
* ``shell_protocol.h``: v2 packets are id (1 byte: 0 stdin, 1 stdout, 2 stderr, 3 exit,
  4 close stdin) + length (4 bytes, LE) + data; the exit packet carries one byte, the code.
* ``SYNC.TXT`` and ``file_sync_protocol.h``: 8-byte requests (id, LE length) + path; STAT (mode,
  size, mtime), STA2/LST2 (error, dev, ino, mode, nlink, uid, gid, size, atime, mtime, ctime),
  LIST/DENT/DONE and LIS2/DNT2/DONE (``daemon/file_sync_service.cpp`` do_list), SEND
  "path,mode" + DATA chunks (≤ 64 KiB) + DONE(mtime) → OKAY or FAIL(message), RECV → DATA…
  DONE, QUIT.
* ``client/adb_install.cpp``: with the ``cmd`` feature, ``adb install`` streams the APK into
  ``exec:cmd package 'install' … -S SIZE`` and prints the status line the device returns.

    python adbd.py SPEC.json ROOT     # prints "listening PORT", serves until killed

SPEC: ``serial`` (for the test's bookkeeping; adb names a TCP device by its address), ``state``
("device"; "unauthorized": AUTH tokens forever, never accepting the host's key; "offline": the
connection is up but the daemon never answers CNXN), ``props``,
``features`` (default: what a current phone reports; an Android 6 phone lacks shell_v2),
``fail.disconnect_after`` (the phone vanishes, closing every connection and its port, when the
host opens that many shell services), and what phone.py reads.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import socket
import struct
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from phone import Phone  # noqa: E402

A_CNXN, A_AUTH, A_OPEN, A_OKAY, A_CLSE, A_WRTE = 0x4E584E43, 0x48545541, 0x4E45504F, 0x59414B4F, 0x45534C43, 0x45545257
A_VERSION = 0x01000001
MAX_PAYLOAD = 1024 * 1024
AUTH_TOKEN, AUTH_SIGNATURE, AUTH_RSAPUBLICKEY = 1, 2, 3
HEADER = struct.Struct("<6I")
FEATURES = "shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir"
SHELL_STDOUT, SHELL_STDERR, SHELL_EXIT = 1, 2, 3
SYNC_DATA_MAX = 64 * 1024
ENOENT = 2


class Vanished(Exception):
    """The phone is gone (unplugged, out of Wi-Fi): nothing more is answered."""


class Stream:
    """One stream of a connection: the host's id, flow control and what the host wrote to us."""

    def __init__(self, connection: Connection, local_id: int, remote_id: int) -> None:
        self.connection = connection
        self.local_id = local_id
        self.remote_id = remote_id
        self.ready = threading.Event()
        self.ready.set()  # an OPEN implies a READY (protocol.txt)
        self.incoming: queue.Queue[bytes | None] = queue.Queue()
        self.buffer = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        for start in range(0, len(data), self.connection.max_payload):
            if not self.ready.wait(30):
                raise Vanished("the host stopped acknowledging writes")
            if self.closed:
                return
            self.ready.clear()
            self.connection.send(A_WRTE, self.local_id, self.remote_id, data[start:start + self.connection.max_payload])

    def read_exactly(self, count: int) -> bytes | None:
        while len(self.buffer) < count:
            chunk = self.incoming.get()
            if chunk is None:
                return None
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.connection.send(A_CLSE, self.local_id, self.remote_id)


class Connection:
    def __init__(self, device: Device, sock: socket.socket) -> None:
        self.device = device
        self.sock = sock
        self.lock = threading.Lock()
        self.streams: dict[int, Stream] = {}
        self.next_id = 1
        self.max_payload = 4096  # until the host's CNXN says more
        self.online = False

    def send(self, command: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        header = HEADER.pack(command, arg0, arg1, len(data), sum(data) & 0xFFFFFFFF, command ^ 0xFFFFFFFF)
        with self.lock:
            self.sock.sendall(header + data)

    def receive(self) -> tuple[int, int, int, bytes] | None:
        header = self._read(HEADER.size)
        if header is None:
            return None
        command, arg0, arg1, length, _checksum, magic = HEADER.unpack(header)
        if magic != command ^ 0xFFFFFFFF:
            return None  # a corrupt header closes the connection (protocol.txt)
        data = self._read(length) if length else b""
        return None if data is None else (command, arg0, arg1, data)

    def _read(self, count: int) -> bytes | None:
        data = b""
        while len(data) < count:
            try:
                chunk = self.sock.recv(count - len(data))
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return data

    def serve(self) -> None:
        try:
            while (message := self.receive()) is not None:
                self.handle(*message)
        finally:
            for stream in self.streams.values():
                stream.incoming.put(None)
            self.sock.close()

    def handle(self, command: int, arg0: int, arg1: int, data: bytes) -> None:
        spec = self.device.spec
        if command == A_CNXN:
            self.max_payload = min(arg1, MAX_PAYLOAD)
            if spec.get("state", "device") == "offline":
                return  # the link is up, the daemon never answers: adb lists it offline
            if spec.get("state", "device") == "unauthorized":
                self.send(A_AUTH, AUTH_TOKEN, 0, os.urandom(20))
            else:
                self.online = True
                self.send(A_CNXN, A_VERSION, MAX_PAYLOAD, self.device.banner().encode())
        elif command == A_AUTH:
            if arg0 == AUTH_SIGNATURE:  # no key of this host is trusted: ask it to try another
                self.send(A_AUTH, AUTH_TOKEN, 0, os.urandom(20))
            # AUTH_RSAPUBLICKEY: the phone would show "Allow USB debugging?"; nobody answers.
        elif not self.online:
            return  # nothing but CNXN/AUTH before the connection is up
        elif command == A_OPEN:
            service = data.rstrip(b"\0").decode()
            stream = Stream(self, self.next_id, arg0)
            self.next_id += 1
            self.streams[stream.local_id] = stream
            threading.Thread(target=self.device.run_service, args=(stream, service), daemon=True).start()
        elif command == A_OKAY:
            stream = self.streams.get(arg1)
            if stream is not None:
                stream.ready.set()
        elif command == A_WRTE:
            stream = self.streams.get(arg1)
            if stream is not None:
                stream.incoming.put(data)
                self.send(A_OKAY, stream.local_id, stream.remote_id)
        elif command == A_CLSE:
            stream = self.streams.pop(arg1, None)
            if stream is not None:
                stream.closed = True
                stream.ready.set()
                stream.incoming.put(None)


class Device:
    def __init__(self, spec: dict, root: Path) -> None:
        self.spec = spec
        self.phone = Phone(root, spec)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections: list[Connection] = []
        self.shells_opened = 0
        self.lock = threading.Lock()

    def banner(self) -> str:
        props = self.spec["props"]
        return (f"device::ro.product.name={props.get('ro.product.name', 'emulated')};"
                f"ro.product.model={props['ro.product.model']};ro.product.device={props.get('ro.product.device', 'emu')};"
                f"features={self.spec.get('features', FEATURES)}")

    def serve_forever(self) -> None:
        print(f"listening {self.listener.getsockname()[1]}", flush=True)
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            connection = Connection(self, sock)
            self.connections.append(connection)
            threading.Thread(target=connection.serve, daemon=True).start()

    def vanish(self) -> None:
        """Gone at once, mid-conversation: every connection and the port close; adb reconnects in vain."""
        self.listener.close()
        for connection in self.connections:
            try:
                connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        os._exit(0)

    def run_service(self, stream: Stream, service: str) -> None:
        try:
            if service.startswith("shell") or service.startswith("exec:"):
                with self.lock:
                    self.shells_opened += 1
                    limit = self.spec.get("fail", {}).get("disconnect_after")
                    if limit is not None and self.shells_opened >= limit:
                        self.vanish()
            if service.startswith("shell"):
                arguments, _, command = service[len("shell"):].partition(":")
                self.shell(stream, command, "v2" in arguments.split(","))
            elif service.startswith("exec:"):
                self.exec(stream, service[len("exec:"):])
            elif service.startswith("sync:"):
                stream.connection.send(A_OKAY, stream.local_id, stream.remote_id)
                self.sync(stream)
            else:
                stream.connection.streams.pop(stream.local_id, None)
                stream.closed = True
                stream.connection.send(A_CLSE, 0, stream.remote_id)  # a failed OPEN
                return
        except (Vanished, OSError):
            pass
        stream.close()

    def shell(self, stream: Stream, command: str, protocol_v2: bool) -> None:
        stream.connection.send(A_OKAY, stream.local_id, stream.remote_id)
        output = self.phone.shell(command)
        if not protocol_v2:  # stdout and stderr mixed, no exit code: what old devices give
            stream.write(output.stdout + output.stderr)
            return
        packets = b""
        for packet_id, data in ((SHELL_STDOUT, output.stdout), (SHELL_STDERR, output.stderr)):
            if data:
                packets += struct.pack("<BI", packet_id, len(data)) + data
        packets += struct.pack("<BI", SHELL_EXIT, 1) + bytes([output.exit_code & 0xFF])
        stream.write(packets)

    def exec(self, stream: Stream, command: str) -> None:
        stream.connection.send(A_OKAY, stream.local_id, stream.remote_id)
        words = shlex.split(command)
        if words[:3] == ["cmd", "package", "install"] and "-S" in words:
            size = int(words[words.index("-S") + 1])
            apk = stream.read_exactly(size)
            stream.write(self.phone.install(apk or b"").encode())
            return
        output = self.phone.shell(command)
        stream.write(output.stdout)

    # --- sync: ------------------------------------------------------------------------------

    def sync(self, stream: Stream) -> None:
        while (request := stream.read_exactly(8)) is not None:
            kind, length = request[:4], struct.unpack("<I", request[4:])[0]
            if kind == b"QUIT":
                return
            argument = stream.read_exactly(length)
            if argument is None:
                return
            path = argument.decode()
            if kind == b"STAT":
                stream.write(b"STAT" + self._stat_v1(path))
            elif kind in (b"STA2", b"LST2"):
                stream.write(kind + self._stat_v2(path))
            elif kind in (b"LIST", b"LIS2"):
                self._list(stream, path, version_2=kind == b"LIS2")
            elif kind == b"SEND":
                self._receive_file(stream, path)
            elif kind == b"RECV":
                self._send_file(stream, path)
            else:
                return

    def _stat_v1(self, path: str) -> bytes:
        target = self.phone.path(path)
        if not target.exists():
            return struct.pack("<3I", 0, 0, 0)
        info = target.stat()
        return struct.pack("<3I", info.st_mode, info.st_size & 0xFFFFFFFF, int(info.st_mtime))

    def _stat_v2(self, path: str) -> bytes:
        target = self.phone.path(path)
        if not target.exists():
            return struct.pack("<IQQIIIIQqqq", ENOENT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        info = target.stat()
        return struct.pack("<IQQIIIIQqqq", 0, info.st_dev, info.st_ino, info.st_mode, info.st_nlink, 2000, 2000,
                           info.st_size, int(info.st_atime), int(info.st_mtime), int(info.st_ctime))

    def _list(self, stream: Stream, path: str, version_2: bool) -> None:
        """DENT (mode, size, mtime, name length) or DNT2 (the STA2 fields and name length) per
        entry, "." and ".." included as readdir gives them, then DONE of the same size."""
        folder = self.phone.path(path)
        names = [".", "..", *sorted(entry.name for entry in folder.iterdir())] if folder.is_dir() else []
        for name in names:
            info = (folder / name).stat()
            encoded = name.encode()
            if version_2:
                stream.write(b"DNT2" + struct.pack("<IQQIIIIQqqqI", 0, info.st_dev, info.st_ino, info.st_mode,
                                                   info.st_nlink, 2000, 2000, info.st_size, int(info.st_atime),
                                                   int(info.st_mtime), int(info.st_ctime), len(encoded)) + encoded)
            else:
                stream.write(b"DENT" + struct.pack("<4I", info.st_mode, info.st_size & 0xFFFFFFFF,
                                                   int(info.st_mtime), len(encoded)) + encoded)
        stream.write(b"DONE" + bytes(struct.calcsize("<IQQIIIIQqqqI") if version_2 else 16))

    def _receive_file(self, stream: Stream, argument: str) -> None:
        path, _, mode = argument.rpartition(",")
        data = bytearray()  # grown in place: a pushed runner folder holds libraries of several MB
        while True:
            header = stream.read_exactly(8)
            if header is None:
                return
            kind, length = header[:4], struct.unpack("<I", header[4:])[0]
            if kind == b"DONE":
                break
            if kind != b"DATA" or length > SYNC_DATA_MAX:
                self._fail(stream, "invalid data message")
                return
            chunk = stream.read_exactly(length)
            if chunk is None:
                return
            data += chunk
        target = self.phone.path(path)
        if target.is_dir():
            self._fail(stream, "couldn't create file: Is a directory")
            return
        target.parent.mkdir(parents=True, exist_ok=True)  # adbd's secure_mkdirs
        target.write_bytes(data)
        target.chmod(int(mode) & 0o777)
        stream.write(b"OKAY" + struct.pack("<I", 0))

    def _send_file(self, stream: Stream, path: str) -> None:
        target = self.phone.path(path)
        if not target.is_file():
            self._fail(stream, "No such file or directory")
            return
        data = target.read_bytes()
        for start in range(0, len(data), SYNC_DATA_MAX):
            chunk = data[start:start + SYNC_DATA_MAX]
            stream.write(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
        stream.write(b"DONE" + struct.pack("<I", 0))

    def _fail(self, stream: Stream, message: str) -> None:
        stream.write(b"FAIL" + struct.pack("<I", len(message)) + message.encode())


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    root = Path(sys.argv[2])
    Device(spec, root).serve_forever()


if __name__ == "__main__":
    main()
