"""A private rsyslogd for tests: RFC 5425 (syslog over TLS, imtcp with the gtls driver) on a
loopback port, writing every message it receives to one file in RSYSLOG_SyslogProtocol23Format
(one line per message). It runs in the foreground with its own work directory and pid file, and
can be stopped and started again on the same port."""

import os
import signal
import socket
import subprocess
import time

CONFIG = """
global(workDirectory="{work}" maxMessageSize="64k"
       defaultNetstreamDriver="gtls"
       defaultNetstreamDriverCAFile="{ca}"
       defaultNetstreamDriverCertFile="{cert}"
       defaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="{port}")
*.* action(type="omfile" file="{out}" template="RSYSLOG_SyslogProtocol23Format")
"""


class Collector:
    def __init__(self, directory, ca, port):
        """`ca` is an aws_front.TestCA: it signs the collector's certificate (IP 127.0.0.1)."""
        self.dir = os.path.join(directory, "collector")
        self.work = os.path.join(self.dir, "work")
        os.makedirs(self.work, exist_ok=True)
        cert, key = ca.issue("collector", ["collector.test"])
        self.port = port
        self.out = os.path.join(self.dir, "collected.log")
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(work=self.work, ca=ca.cert_path, cert=cert, key=key,
                                  port=port, out=self.out))
        self.proc = None

    def start(self, timeout=15.0):
        with open(os.path.join(self.dir, "rsyslogd.out"), "a") as out:
            self.proc = subprocess.Popen(["rsyslogd", "-n", "-f", self.conf, "-i", self.pidfile],
                                         stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(os.path.join(self.dir, "rsyslogd.out")) as f:
                    raise RuntimeError("rsyslogd exited: %s" % f.read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("rsyslogd did not listen on %d" % self.port)

    def stop(self):
        """SIGTERM: rsyslogd writes what it has received, then exits."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def lines(self):
        try:
            with open(self.out, "rb") as f:
                return f.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            return []
