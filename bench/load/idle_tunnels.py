"""Opens N established tunnels through the proxy (CONNECT + TLS handshake, no request) and
prints pamproxyd's resident memory before and after, per tunnel: right after opening them, and
again after SETTLE seconds of quiet (optional 7th argument, default 4), once quiet tunnels have
given their buffers back."""
import socket
import ssl
import sys
import time

host, port, target, ca, n, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], \
    int(sys.argv[5]), sys.argv[6]
settle = float(sys.argv[7]) if len(sys.argv) > 7 else 4.0


def rss_kib():
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])


ctx = ssl.create_default_context(cafile=ca)
before = rss_kib()
keep = []
for _ in range(n):
    s = socket.create_connection((host, port))
    s.sendall(b"CONNECT %s HTTP/1.1\r\n\r\n" % target.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1024)
    t = ctx.wrap_socket(s, server_hostname=target.rsplit(":", 1)[0])
    keep.append(t)
after = rss_kib()
time.sleep(settle)  # quiet: let the proxy release what idle tunnels do not need
settled = rss_kib()
print("idle_tunnels=%d rss_before_kib=%d rss_after_kib=%d per_tunnel_kib=%.1f "
      "after_%.0fs_quiet_per_tunnel_kib=%.1f" %
      (n, before, after, (after - before) / n, settle, (settled - before) / n))
