"""A small authoritative DNS responder on a loopback UDP port, for tests that make pamproxyd
resolve real names through c-ares: A/AAAA answers from a table, NXDOMAIN for the rest, and a
count of the questions seen per name."""

import socket
import struct
import threading


class DnsResponder:
    def __init__(self, table, ttl=60):
        """table: {"name": ["192.0.2.1", "2001:db8::1", ...]}"""
        self.table = {k.lower().rstrip("."): v for k, v in table.items()}
        self.ttl = ttl
        self.questions = {}
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = "127.0.0.1:%d" % self.port
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def asked(self, name):
        with self.lock:
            return self.questions.get(name, 0)

    def _run(self):
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(512)
            except OSError:
                return
            if len(data) < 12:
                continue
            labels, p = [], 12
            while p < len(data) and data[p] != 0:
                n = data[p]
                labels.append(data[p + 1:p + 1 + n].decode("ascii", "replace"))
                p += 1 + n
            p += 1
            if p + 4 > len(data):
                continue
            qtype = struct.unpack("!H", data[p:p + 2])[0]
            name = ".".join(labels).lower()
            with self.lock:
                self.questions[name] = self.questions.get(name, 0) + 1
            known = name in self.table
            answers = b""
            count = 0
            for addr_text in self.table.get(name, []):
                family = socket.AF_INET6 if ":" in addr_text else socket.AF_INET
                rtype = 28 if family == socket.AF_INET6 else 1
                if rtype != qtype:
                    continue
                rdata = socket.inet_pton(family, addr_text)
                answers += b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, self.ttl, len(rdata)) + rdata
                count += 1
            flags = 0x8400 | (0 if known else 3)
            header = data[:2] + struct.pack("!HHHHH", flags, 1, count, 0, 0)
            self.sock.sendto(header + data[12:p + 4] + answers, addr)

    def stop(self):
        self._stop = True
        self.sock.close()
