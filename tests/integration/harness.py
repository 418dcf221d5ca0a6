"""Shared helpers for integration tests: paths of the built binaries, temporary state
directories, and a running pamproxyd whose log lines can be awaited (no sleeps)."""

import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time

PAMPROXYD = os.environ.get("PAMPROXYD", "pamproxyd")
PAMCTL = os.environ.get("PAMCTL", "pamctl")
SOURCE_ROOT = os.environ.get("SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def parse_kv(line):
    """Parses one key=value log line into a dict (values may be "quoted")."""
    out = {}
    i = 0
    n = len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        eq = line.find("=", i)
        if eq < 0:
            break
        key = line[i:eq]
        i = eq + 1
        if i < n and line[i] == '"':
            i += 1
            val = []
            while i < n and line[i] != '"':
                if line[i] == "\\" and i + 1 < n:
                    i += 1
                val.append(line[i])
                i += 1
            i += 1
            out[key] = "".join(val)
        else:
            end = line.find(" ", i)
            end = n if end < 0 else end
            out[key] = line[i:end]
            i = end
    return out


class TempDir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="pamproxy-test-")

    def file(self, name, text):
        p = os.path.join(self.path, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


class Daemon:
    """A pamproxyd child. Its stderr (the log) is read on a thread into a queue, so a test can
    wait for a given event with a deadline instead of sleeping."""

    def __init__(self, args, cwd, env=None, prefix=()):
        """`prefix`: a command that execs pamproxyd with the arguments after it (e.g. unshare),
        so the child's pid is still pamproxyd's. A --config file without an [admin] section gets
        one on port 0: tests run in parallel, and none may take the default admin port."""
        args = list(args)
        if "--config" in args:
            path = args[args.index("--config") + 1]
            with open(path) as f:
                text = f.read()
            if "[admin]" not in text:
                with open(path, "a") as f:
                    f.write('\n[admin]\nlisten = "127.0.0.1:0"\n')
        full_env = dict(os.environ)
        full_env.pop("STATE_DIRECTORY", None)
        full_env.pop("CREDENTIALS_DIRECTORY", None)
        full_env.pop("NOTIFY_SOCKET", None)
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen(list(prefix) + [PAMPROXYD] + list(args), cwd=cwd, env=full_env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.seen = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_event(self, event, timeout=20.0, **fields):
        """Returns the parsed line of the next event named `event` whose fields match."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no event %s %r within %.0fs; log so far:\n%s" %
                                     (event, fields, timeout, "\n".join(self.seen)))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("pamproxyd exited (code %s) before event %s; log:\n%s" %
                                     (self.proc.wait(), event, "\n".join(self.seen)))
            self.seen.append(line)
            kv = parse_kv(line)
            if kv.get("event") == event and all(kv.get(k) == v for k, v in fields.items()):
                return kv

    def wait_event_or_seen(self, event, timeout=20.0, **fields):
        """Like wait_event, but a matching line already read past (while waiting for another
        event) counts: for events logged by several threads in no fixed order."""
        for line in self.seen:
            kv = parse_kv(line)
            if kv.get("event") == event and all(kv.get(k) == v for k, v in fields.items()):
                return kv
        return self.wait_event(event, timeout, **fields)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
