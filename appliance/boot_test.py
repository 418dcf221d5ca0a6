"""Boot test of the pamproxy appliance image.

Boots a copy of build/image/pamproxy-appliance.raw under qemu (UEFI, OVMF, software emulation
unless a working KVM is present) with the proxy and admin ports forwarded to free host ports, and
reads the serial console. The appliance's own pamproxy-status.service prints a block of
`pamproxy-status: key=value` lines once pamproxyd has settled (running, or failed for good); this
test waits for that block (polling the serial log file against a deadline: no fixed sleeps) and
checks every fact in it. It then powers the guest off through QMP (ACPI) and waits for a clean
power-down. Five boots of one disk:

  1. first boot (machine ID, master key, bootstrap admin token), then the demo flow from the
     host through the forwarded ports, as SPEC.md's Instructions have it: pamctl enables the
     proxy and the record type, adds a record, a user, a grant and a token; the AWS CLI copies
     a file to S3 and back through the guest's proxy; the session report shows the copy; the
     proxy's kTLS counter must have grown;
  2. the second boot: what first boot made persists (same key, CA, persistent journal, the store:
     the record's keys still decrypt and the proxy still works), and `pamctl audit verify`, run
     by the status service in the guest, finds the audit chain valid through the first boot's
     demo events;
  3. bad input at boot, a TOML error in /etc/pamproxy/pamproxy.toml,
  4. a master key that does not open the store, and
  5. a full /var: each time pamproxyd fails with the reason in the journal (file, line and key;
     the key and the database; the full file system), and the unit stops at its start limit
     instead of restarting forever (`--faults` picks some or none of these three).

What the test changes in its copy of the image (the built image stays pristine) and why:
the upstream is not AWS but the stand-in the integration tests use (tests/node/aws_front.js:
s3rver behind AWS's own SigV4 signer, which accepts only requests signed with the record's keys),
run on the host's loopback. qemu's user networking lets the guest reach the host's 127.0.0.1 as
10.0.2.2, so before the first boot the test writes into its copy of the root file system (with
debugfs at the root partition's offset: no mount, no loop device) the two things an administrator
would edit on a real appliance (appliance/README.md): /etc/pamproxy/pamproxy.toml, the packaged
file with `[upstream] resolve` overrides sending the AWS names the demo uses to 10.0.2.2:PORT and
`[tls] upstream_ca_file` naming the test CA, and that CA at /etc/pamproxy/test-upstream-ca.pem.
Nothing else changes: the private-address rule stays as packaged (an override names its address
explicitly, which the proxy takes as the permission for it; only names resolved through DNS must
not lead to private addresses). Before each of the last three boots it folds what the guest
wrote into its copy (qemu-img commit), then writes the TOML error; then the other key (TOML
restored); then fills the var partition (key restored; debugfs again, at that partition's
offset).

A boot that stalls (software emulation occasionally hangs early in the kernel) is retried once.
Secrets (the bootstrap admin token, the user's token, the record's AWS keys) are never printed.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from aws_front import AwsFront, RecordKeys, TestCA  # noqa: E402
from harness import parse_kv  # noqa: E402

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
STATUS_TIMEOUT_S = 300  # boot to the end of the status block (which waits for pamproxyd to settle)
POWEROFF_TIMEOUT_S = 90
EXPOSURE_MAX = 2.0
START_LIMIT_BURST = 5  # systemd/pamproxyd.service: StartLimitBurst=
AWS = "/usr/bin/aws"
PAMCTL = os.environ.get("PAMCTL") or os.path.join(ROOT, "build", "appliance", "src", "cli",
                                                   "pamctl")

# What the guest sees of the host (qemu user networking), and where the test CA goes.
HOST_FROM_GUEST = "10.0.2.2"
GUEST_CONFIG = "/etc/pamproxy/pamproxy.toml"
GUEST_UPSTREAM_CA = "/etc/pamproxy/test-upstream-ca.pem"
MASTER_KEY = "/etc/pamproxy/credentials/master-key"
# The AWS names the AWS CLI uses for S3 and STS in us-east-1 (path and virtual-host style).
AWS_HOSTS = ["s3.us-east-1.amazonaws.com", "*.s3.us-east-1.amazonaws.com", "s3.amazonaws.com",
             "sts.amazonaws.com", "sts.us-east-1.amazonaws.com"]
RECORD = RecordKeys("AKIAAPPLIANCEDEMO001", "applianceDemoSecretKey/0123456789abcdefghij")
BUCKET = "appliance-demo"
OBJECT_BYTES = 1 << 20


class BootStalled(Exception):
    """The guest never reached the status block in time (a retry may succeed)."""


class Failure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kvm_usable():
    # /dev/kvm may exist without being able to run a stock kernel; only trust it when asked.
    return os.environ.get("PAMPROXY_APPLIANCE_KVM") == "1" and os.access("/dev/kvm", os.W_OK)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=kw.pop("timeout", 300),
                          **kw)


def gpt_partitions(path, sector=512):
    """(name, byte offset) of each partition in a GPT disk image (the header at LBA 1)."""
    with open(path, "rb") as f:
        f.seek(sector)
        header = f.read(92)
        if header[:8] != b"EFI PART":
            raise Failure(f"{path}: no GPT header")
        entries_lba, count, size = struct.unpack_from("<QII", header, 72)
        f.seek(entries_lba * sector)
        table = f.read(count * size)
    out = []
    for i in range(count):
        entry = table[i * size:(i + 1) * size]
        if entry[:16] == bytes(16):
            continue
        first_lba = struct.unpack_from("<Q", entry, 32)[0]
        name = entry[56:128].decode("utf-16-le").rstrip("\0")
        out.append((name, first_lba * sector))
    return out


class Disk:
    """The test's own copy of the image: a sparse raw copy whose root file system the test may
    change with debugfs, and a qcow2 overlay over it that the guest boots (so that a stalled first
    boot can start again from the same disk)."""

    def __init__(self, workdir, image):
        self.raw = os.path.join(workdir, "appliance.raw")
        self.overlay = os.path.join(workdir, "disk.qcow2")
        r = run(["cp", "--sparse=always", image, self.raw])
        if r.returncode != 0:
            raise Failure(f"copying the image: {r.stderr.strip()}")
        parts = dict(gpt_partitions(self.raw))
        if "pamproxy-root" not in parts or "pamproxy-var" not in parts:
            raise Failure(f"no pamproxy-root and pamproxy-var partitions in {image}")
        self.root_fs = f"{self.raw}?offset={parts['pamproxy-root']}"
        self.var_fs = f"{self.raw}?offset={parts['pamproxy-var']}"

    def read(self, path):
        return self.read_bytes(path).decode()

    def read_bytes(self, path):
        r = subprocess.run(["debugfs", "-R", f"cat {path}", self.root_fs], capture_output=True,
                           timeout=60)
        if r.returncode != 0 or not r.stdout:
            raise Failure(f"debugfs cannot read {path}: {r.stderr.decode(errors='replace')}")
        return r.stdout

    def write(self, path, text, mode=0o644):
        """Replaces `path` on the root file system (root-owned, `mode`), and checks the result."""
        self.write_bytes(path, text.encode(), mode)

    def write_bytes(self, path, data, mode):
        local = os.path.join(os.path.dirname(self.raw), "debugfs-" + os.path.basename(path))
        fd = os.open(local, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        script = (f"rm {path}\nwrite {local} {path}\nsif {path} mode 0{0o100000 | mode:o}\n"
                  f"sif {path} uid 0\nsif {path} gid 0\n")
        run(["debugfs", "-w", "-f", "-", self.root_fs], input=script)
        os.unlink(local)
        if self.read_bytes(path) != data:
            raise Failure(f"debugfs did not write {path}")
        fsck = run(["e2fsck", "-fn", self.root_fs])
        if fsck.returncode != 0:
            raise Failure(f"root file system damaged after writing {path}: {fsck.stdout[-400:]}")

    def new_overlay(self):
        if os.path.exists(self.overlay):
            os.unlink(self.overlay)
        run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", self.raw,
             self.overlay], check=True)

    def commit_overlay(self):
        """Folds what the guest wrote into the raw copy, so that debugfs sees it."""
        run(["qemu-img", "commit", "-q", self.overlay], check=True)
        self.new_overlay()


def replace_line(text, old, new):
    lines = text.split("\n")
    at = [i for i, line in enumerate(lines) if line == old]
    if len(at) != 1:
        raise Failure(f"the packaged {GUEST_CONFIG} has {len(at)} lines `{old}` (expected one)")
    lines[at[0]] = new
    return "\n".join(lines), at[0] + 1


def guest_config(packaged, front_port):
    """The packaged configuration with the stand-in for AWS as the upstream: resolve overrides to
    the host (as the guest sees it) and the test CA as the upstream CA. Nothing else changes."""
    resolve = ", ".join('{ host = "%s", address = "%s:%d" }' % (h, HOST_FROM_GUEST, front_port)
                        for h in AWS_HOSTS)
    text, _ = replace_line(packaged, "resolve = []", f"resolve = [{resolve}]")
    text, _ = replace_line(text, 'upstream_ca_file = ""',
                           f'upstream_ca_file = "{GUEST_UPSTREAM_CA}"')
    return text


class Vm:
    def __init__(self, workdir, disk, name):
        self.workdir = workdir
        self.disk = disk
        self.serial = os.path.join(workdir, f"{name}-serial.log")
        self.qmp_path = os.path.join(workdir, f"{name}-qmp.sock")
        self.vars = os.path.join(workdir, "ovmf-vars.fd")
        if not os.path.exists(self.vars):
            shutil.copyfile(OVMF_VARS, self.vars)
        self.proxy_port = free_port()
        self.admin_port = free_port()
        self.proc = None

    def start(self):
        accel = ["-accel", "kvm", "-cpu", "host"] if kvm_usable() else [
            "-accel", "tcg,thread=multi", "-cpu", "max"]
        fwd = (f"hostfwd=tcp:127.0.0.1:{self.proxy_port}-:8081,"
               f"hostfwd=tcp:127.0.0.1:{self.admin_port}-:8443")
        cmd = ["qemu-system-x86_64", "-machine", "q35", *accel, "-smp", "2", "-m", "1024",
               "-nodefaults", "-display", "none", "-no-reboot",
               "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
               "-drive", f"if=pflash,format=raw,unit=1,file={self.vars}",
               "-drive", f"if=virtio,format=qcow2,file={self.disk}",
               "-nic", f"user,model=virtio-net-pci,{fwd}",
               "-serial", f"file:{self.serial}",
               "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        open(self.serial, "w").close()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)

    def log(self):
        with open(self.serial, "rb") as f:
            return f.read().decode("utf-8", "replace").replace("\r", "")

    def wait_for(self, pattern, timeout_s):
        """Polls the serial log until `pattern` matches; returns the match."""
        deadline = time.monotonic() + timeout_s
        rx = re.compile(pattern, re.M)
        while time.monotonic() < deadline:
            m = rx.search(self.log())
            if m:
                return m
            if self.proc.poll() is not None:
                raise Failure(f"qemu exited ({self.proc.returncode}) before `{pattern}`: "
                              f"{self.proc.stdout.read().decode(errors='replace')}")
            time.sleep(0.5)
        raise BootStalled(f"no `{pattern}` on the serial console within {timeout_s}s")

    def qmp(self, command):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(self.qmp_path)
            f = s.makefile("rw")
            json.loads(f.readline())  # greeting
            for c in ({"execute": "qmp_capabilities"}, {"execute": command}):
                f.write(json.dumps(c) + "\n")
                f.flush()
                while True:
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        break
                if "error" in reply:
                    raise Failure(f"qmp {c['execute']}: {reply['error']}")

    def power_off(self):
        t0 = time.monotonic()
        self.qmp("system_powerdown")
        try:
            self.proc.wait(timeout=POWEROFF_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise Failure(f"guest did not power off within {POWEROFF_TIMEOUT_S}s of ACPI power-down")
        if "reboot: Power down" not in self.log():
            raise Failure("qemu exited without the kernel's 'reboot: Power down' line")
        return time.monotonic() - t0

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def parse_status(log):
    """The last complete status block as a dict (repeated keys keep the last value); the daemon's
    own log lines it quotes are under "daemon_log", one parsed dict each."""
    blocks = re.findall(r"pamproxy-status: begin\n(.*?)^pamproxy-status: end$", log, re.M | re.S)
    if not blocks:
        raise Failure("no complete pamproxy-status block")
    facts = {"daemon_log": []}
    for line in blocks[-1].splitlines():
        # The console is shared (a getty prompt may land at the start of a line): take the text
        # from the marker on.
        at = line.find("pamproxy-status: ")
        if at < 0 or line.startswith("journal:", at + len("pamproxy-status: ")):
            continue
        body = line[at + len("pamproxy-status: "):]
        if body.startswith("tls_stat: "):
            facts["tls_stat_counters"] = body[len("tls_stat: "):].strip()
            continue
        if body.startswith("daemon_log: "):
            facts["daemon_log"].append(parse_kv(body[len("daemon_log: "):]))
            continue
        for m in re.finditer(r'(\w+)=("[^"]*"|\S+(?: mode=\S+ owner=\S+ bytes=\S+ mtime=\S+)?)', body):
            facts[m.group(1)] = m.group(2).strip('"')
    return facts


class Report:
    def __init__(self):
        self.failures = []
        self.secrets = set()

    def scrub(self, text):
        for s in self.secrets:
            if s:
                text = text.replace(s, "(secret withheld)")
        return text

    def check(self, name, ok, detail):
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {self.scrub(str(detail))}", flush=True)
        if not ok:
            self.failures.append(name)
        return ok

    def skip(self, name, reason):
        print(f"  SKIP  {name}: {reason}", flush=True)


def check_boot(report, facts, first_boot, previous=None):
    report.check("pamproxyd active (READY reached)", facts.get("pamproxyd") == "active",
                 f"pamproxyd={facts.get('pamproxyd')} reason={facts.get('pamproxyd_reason', '-')}")
    report.check("tls module loaded", facts.get("tls_module") == "loaded",
                 f"tls_module={facts.get('tls_module')}")
    report.check("/proc/net/tls_stat exists", facts.get("tls_stat") == "present",
                 f"tls_stat={facts.get('tls_stat')} counters: {facts.get('tls_stat_counters', '-')}")
    ulp = facts.get("tcp_available_ulp", "").split()
    report.check("tcp_available_ulp lists tls", "tls" in ulp, f"tcp_available_ulp={ulp}")
    exposure = facts.get("security_exposure", "unknown")
    try:
        ok = float(exposure) <= EXPOSURE_MAX
    except ValueError:
        ok = False
    report.check(f"systemd-analyze security pamproxyd.service <= {EXPOSURE_MAX}", ok,
                 f"exposure {exposure} (in the guest)")
    report.check("root read-only, var writable",
                 facts.get("root") == "ro" and facts.get("var") == "rw",
                 f"root={facts.get('root')} var={facts.get('var')}")
    report.check("no account with a password", facts.get("accounts_with_password") == "none",
                 f"accounts_with_password={facts.get('accounts_with_password')}")
    report.check("firewall: input policy drop, only 8081 and 8443",
                 facts.get("firewall_input_policy") == "drop"
                 and facts.get("firewall_tcp_ports") == "8081,8443",
                 f"policy={facts.get('firewall_input_policy')} ports={facts.get('firewall_tcp_ports')}")
    report.check("journal persistent", facts.get("journal") == "persistent",
                 f"journal={facts.get('journal')}")
    report.check("machine id committed", facts.get("machine_id") == "committed",
                 f"machine_id={facts.get('machine_id')}")
    report.check("unattended security upgrades on",
                 facts.get("unattended_upgrade") == "1" and facts.get("timer") == "enabled",
                 f"APT::Periodic::Unattended-Upgrade={facts.get('unattended_upgrade')} "
                 f"apt-daily-upgrade.timer={facts.get('timer')}")
    key = facts.get("master_key", "absent")
    report.check("master key credential: root only, 32 bytes",
                 key.startswith("present mode=400 owner=root bytes=32"), f"master_key={key}")
    report.check("audit chain valid (pamctl audit verify in the guest)",
                 facts.get("audit_verify") == "valid",
                 f"audit_verify={facts.get('audit_verify')} lines={facts.get('lines', '-')} "
                 f"checkpoints={facts.get('checkpoints', '-')} {facts.get('problem', '')}")
    if previous is not None:
        report.check("master key kept across reboot (not regenerated)",
                     key == previous.get("master_key"), f"before: {previous.get('master_key')}")
        try:
            boots = int(facts.get("boot", "0"))
        except ValueError:
            boots = 0
        report.check("journal holds the previous boot", boots >= 2, f"boots in journal={boots}")
        report.check("appliance CA kept across reboot",
                     facts.get("ca_sha256") == previous.get("ca_sha256") != "absent",
                     f"ca_sha256={facts.get('ca_sha256', '-')[:16]}...")
    if first_boot:
        token = facts.get("bootstrap_token")
        missing = components(facts)
        if "admin" in missing:
            report.skip("bootstrap admin token on the console",
                        "the guest's pamproxyd reports component admin missing "
                        f"(bootstrap_token={token}); the hook is in place")
        else:
            report.check("bootstrap admin token shown once on the console", token == "shown",
                         f"bootstrap_token={token}")


def components(facts):
    value = facts.get("components_missing", "none")
    return set() if value == "none" else set(value.split(","))


def object_url(request):
    """(bucket, key path) of an S3 request the stand-in for AWS logged, path or virtual-host
    style."""
    host, path = request.get("host", "").split(":")[0], request.get("path", "")
    if host.endswith(".amazonaws.com") and not host.startswith("s3."):
        return host.split(".")[0], path
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket, "/" + key


def metric_sum(text, name):
    """The sum of a Prometheus counter over its labels (None when the family is absent)."""
    values = [float(m.group(1)) for m in
              re.finditer(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M)]
    return int(sum(values)) if values else None


class Demo:
    """SPEC.md's Instructions from the host, through the guest's forwarded ports: the
    administrator with pamctl and the bootstrap token, the user with the AWS CLI and her token."""

    def __init__(self, workdir, report, front):
        self.dir = os.path.join(workdir, "demo")
        self.home = os.path.join(self.dir, "home")
        os.makedirs(self.home, mode=0o700)
        self.report = report
        self.front = front
        self.vm = None
        self.admin_token = None
        self.ca_file = os.path.join(self.home, "pamproxy-ca.pem")
        self.user_token_file = os.path.join(self.home, "pamproxy-token")
        self.user_token = None
        self.put_seq = None
        self.payload = os.urandom(OBJECT_BYTES)
        report.secrets.add(RECORD.secret_access_key)
        report.secrets.add(RECORD.access_key_id)

    def secret_file(self, name, text):
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def pamctl(self, *args, token=None):
        """pamctl against the guest's admin API as the admin (default) or with `token` ("" for
        none). Returns (ok, stdout, detail-for-a-report)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PAMCTL_", "AWS_"))}
        env["HOME"] = self.home
        env["PAMCTL_URL"] = f"https://127.0.0.1:{self.vm.admin_port}"
        if os.path.exists(self.ca_file):
            env["PAMCTL_CA"] = self.ca_file
        token = self.admin_token if token is None else token
        if token:
            env["PAMCTL_TOKEN"] = token
        r = run([PAMCTL, *args], env=env, timeout=120)
        detail = f"pamctl {' '.join(args[:2])}: exit {r.returncode} {r.stderr.strip()[-300:]}"
        return r.returncode == 0, r.stdout, detail

    def aws(self, *args):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_")
               and k.lower() not in ("https_proxy", "http_proxy", "no_proxy", "all_proxy")}
        env.update(self.exports)
        env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1",
                    "AWS_CONFIG_FILE": os.path.join(self.home, "aws-config"),
                    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                    "AWS_EC2_METADATA_DISABLED": "true", "HOME": self.home})
        r = run([AWS, *args], env=env, timeout=300)
        return r.returncode == 0, r.stdout, f"aws {' '.join(args[:2])}: exit {r.returncode} " \
                                             f"{r.stderr.strip()[-400:]}"

    # --- the steps of the first boot ------------------------------------------------------------

    def connect(self, vm, log, facts):
        """The bootstrap token from the console, the CA from the API (checked against the
        fingerprint the console showed)."""
        self.vm = vm
        m = re.search(r"^pamproxy: bootstrap admin token \(shown once\): (\S+)$", log, re.M)
        if not self.report.check("bootstrap admin token read from the console", m is not None,
                                 "line found" if m else "no token line on the serial console"):
            return False
        self.admin_token = m.group(1)
        self.report.secrets.update([self.admin_token, self.admin_token.partition(":")[2]])
        ok, out, detail = self.pamctl("ca", "export", "--insecure", self.ca_file, token="")
        fp = re.search(r"SHA-256 ([0-9A-Fa-f:]+)", out)
        got = fp.group(1).replace(":", "").lower() if fp else None
        if not self.report.check("appliance CA exported through the admin port, fingerprint as "
                                 "on the console", ok and got == facts.get("ca_sha256"),
                                 f"{detail if not ok else 'exported'}; api {str(got)[:16]}... "
                                 f"console {facts.get('ca_sha256', '-')[:16]}..."):
            return False
        ok, out, detail = self.pamctl("whoami", "--json")
        user = json.loads(out)["user"] if ok else {}
        return self.report.check("the bootstrap token is an admin's (whoami over verified TLS)",
                                 user.get("admin") is True,
                                 detail if not ok else f"user {user.get('name')}, "
                                                       f"admin={user.get('admin')}")

    def enable(self):
        ok, out, detail = self.pamctl("settings", "get", "--json")
        before = json.loads(out) if ok else None
        ok = ok and self.pamctl("settings", "set", "proxy.enabled", "true")[0]
        ok2, out2, _ = self.pamctl("settings", "get", "--json")
        after = json.loads(out2) if ok2 else None
        ok3, _, detail3 = self.pamctl("record-types", "enable", "aws-access-keys")
        ok4, out4, _ = self.pamctl("record-types", "list", "--json")
        enabled = ok4 and {"name": "aws-access-keys", "enabled": True} in json.loads(out4)["items"]
        return self.report.check(
            "enable the proxy and the S3 record type (pamctl)",
            ok and before == {"proxy.enabled": False} and after == {"proxy.enabled": True}
            and ok3 and enabled,
            f"proxy.enabled {before} -> {after}; aws-access-keys enabled={enabled} "
            f"{'' if ok3 else detail3}")

    def add_record_and_token(self):
        secret = self.secret_file("record.secret", RECORD.secret_access_key + "\n")
        ok, out, detail = self.pamctl("records", "add", "--name", "prod-billing", "--description",
                                      "billing exports", "--access-key-id", RECORD.access_key_id,
                                      "--secret-key-file", secret, "--json")
        if not self.report.check("add a record (pamctl records add)",
                                 ok and json.loads(out)["secret_access_key_set"] is True,
                                 detail if not ok else "secret_access_key_set=true"):
            return False
        record_id = json.loads(out)["id"]
        ok, out, detail = self.pamctl("users", "add", "alice", "--json")
        user_id = json.loads(out)["id"] if ok else None
        ok = ok and self.pamctl("grants", "add", "--user", user_id, "--record", record_id,
                                "--permissions", "view,connect")[0]
        ok2, _, detail2 = self.pamctl("tokens", "create", "laptop", "--user", str(user_id),
                                      "--expires-in", "1d", "--save", self.user_token_file)
        if ok2:
            with open(self.user_token_file) as f:
                self.user_token = f.read().strip()
            self.report.secrets.update([self.user_token, self.user_token.partition(":")[2]])
        ok3, out3, _ = self.pamctl("whoami", "--json", token=self.user_token or "")
        name = json.loads(out3)["user"]["name"] if ok3 else None
        return self.report.check("add a user with Connect on the record and her token (pamctl)",
                                 ok and ok2 and name == "alice",
                                 f"whoami with her token: {name}; "
                                 f"{'' if ok else detail} {'' if ok2 else detail2}")

    def copy(self):
        ok, out, detail = self.pamctl("env", "--record", "prod-billing", "--token-file",
                                      self.user_token_file, "--proxy",
                                      f"127.0.0.1:{self.vm.proxy_port}", "--ca", self.ca_file)
        self.exports = {}
        for line in out.splitlines():
            if line.startswith("export "):
                name, _, value = line[len("export "):].partition("=")
                self.exports[name] = shlex.split(value)[0]
        if not self.report.check("pamctl env gives the four variables",
                                 ok and set(self.exports) == {"HTTPS_PROXY", "AWS_CA_BUNDLE",
                                                              "AWS_ACCESS_KEY_ID",
                                                              "AWS_SECRET_ACCESS_KEY"},
                                 detail if not ok else sorted(self.exports)):
            return False
        with open(os.path.join(self.home, "aws-config"), "w") as f:
            f.write("[default]\n")
        src = os.path.join(self.dir, "payload.bin")
        back = os.path.join(self.dir, "payload.back")
        with open(src, "wb") as f:
            f.write(self.payload)
        seen_before = len(self.front.requests())
        t0 = time.monotonic()
        steps = [("s3", "mb", f"s3://{BUCKET}"),
                 ("s3", "cp", src, f"s3://{BUCKET}/payload.bin"),
                 ("s3", "cp", f"s3://{BUCKET}/payload.bin", back)]
        for args in steps:
            ok, _, detail = self.aws(*args)
            if not ok:
                break
        same = ok and open(back, "rb").read() == self.payload
        puts = [r for r in self.front.requests()[seen_before:]
                if r.get("method") == "PUT" and object_url(r) == (BUCKET, "/payload.bin")]
        signed = bool(puts) and all(r.get("verified") and r.get("status") == 200 for r in puts)
        return self.report.check(
            "aws s3 cp through the guest's proxy to the host's S3 and back (resolve override)",
            same and signed,
            f"{OBJECT_BYTES} bytes up and down in {time.monotonic() - t0:.1f}s, "
            f"identical={same}; the stand-in for AWS saw the PUT signed with the record's keys: "
            f"{signed}" + ("" if ok else f"; {detail}"))

    def session_report(self):
        deadline = time.monotonic() + 90
        ops = ("s3.mb", "s3.cp", "CreateBucket", "PutObject", "GetObject")

        def complete(session, text):
            return (all(op in text for op in ops) and session.get("user_name") == "alice"
                    and session.get("record_name") == "prod-billing"
                    and session.get("bytes_in", 0) >= OBJECT_BYTES
                    and session.get("bytes_out", 0) >= OBJECT_BYTES)

        session, text, detail, ok = {}, "", "", False
        # The session indexer follows the audit log (every 500 ms): the list and the report are
        # read again until both show the whole copy (the report first, so that the list read
        # after it is at least as recent), or the deadline passes.
        while True:
            ok, out, detail = self.pamctl("sessions", "list", "--json", token=self.user_token)
            items = json.loads(out)["items"] if ok else []
            if items:
                ok, text, detail = self.pamctl("sessions", "show", items[0]["id"],
                                               token=self.user_token)
                ok, out, detail = self.pamctl("sessions", "list", "--json",
                                              token=self.user_token)
                session = (json.loads(out)["items"] or [{}])[0] if ok else {}
                if complete(session, text):
                    break
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        shown = [op for op in ops if op in text]
        good = complete(session, text)
        ok2, out2, detail2 = self.pamctl("audit", "search", "--type", "request.completed",
                                         "--json")
        events = json.loads(out2)["items"] if ok2 else []
        puts = [e for e in events if e.get("eventName") == "PutObject"]
        if puts:
            self.put_seq = max(int(e["seq"]) for e in puts)
        return self.report.check(
            "session report shows the copy (pamctl sessions show; audit search)",
            good and self.put_seq is not None,
            f"session of {session.get('user_name')} on {session.get('record_name')}: "
            f"{session.get('requests')} requests, {session.get('bytes_in')} bytes in, "
            f"{session.get('bytes_out')} out; report shows {', '.join(shown) or 'nothing'}; "
            f"PutObject audit event at seq {self.put_seq}"
            + ("" if ok else f"; {detail}") + ("" if ok2 else f"; {detail2}"))

    def ktls(self, facts):
        ok, out, detail = self.pamctl("metrics")
        ktls = metric_sum(out, "pamproxy_tls_ktls_total") if ok else None
        user = metric_sum(out, "pamproxy_tls_userspace_total") if ok else None
        ulp = "tls" in facts.get("tcp_available_ulp", "").split()
        said = "; ".join(" ".join(f"{k}={v}" for k, v in line.items())
                         for line in facts["daemon_log"]) or "no tls log lines"
        return self.report.check(
            "kTLS counters grew in the guest (metrics)",
            ok and ulp and ktls is not None and ktls > 0,
            (detail if not ok else
             f"pamproxy_tls_ktls_total={ktls} pamproxy_tls_userspace_total={user} after the copy; "
             f"guest kernel offers the tls ULP: {ulp}; the daemon says: {said}"))

    # --- the second boot --------------------------------------------------------------------

    def after_reboot(self, vm, facts, first_facts):
        self.vm = vm
        try:
            lines1, lines2 = int(first_facts.get("lines", 0)), int(facts.get("lines", 0))
            last_seq = int(facts.get("last_seq", -1))
        except ValueError:
            lines1 = lines2 = last_seq = -1
        self.report.check(
            "pamctl audit verify (in the guest, next boot): the chain holds the demo's events",
            facts.get("audit_verify") == "valid" and self.put_seq is not None
            and last_seq >= self.put_seq and lines2 > lines1,
            f"audit_verify={facts.get('audit_verify')}: {lines2} lines up to seq {last_seq} "
            f"({lines1} at the first boot's start), {facts.get('checkpoints', '-')} checkpoints; "
            f"the copy's PutObject was seq {self.put_seq}")
        if self.user_token is None or not getattr(self, "exports", None):
            self.report.check("the store survives the reboot (aws s3 ls through the proxy)",
                              False, "not run: the first boot's demo did not get that far")
            return
        self.exports["HTTPS_PROXY"] = f"127.0.0.1:{vm.proxy_port}"
        ok, out, detail = self.aws("s3", "ls", f"s3://{BUCKET}/")
        self.report.check("the store survives the reboot: the record's keys still decrypt "
                          "(aws s3 ls through the proxy)", ok and "payload.bin" in out,
                          detail if not ok else "payload.bin listed")


# The demo flow of the first boot: each step names the daemon components it needs (every step is
# driven from the host through the admin API, so every step needs admin). A step whose component
# the guest's daemon reports missing is skipped with that reason; a step that cannot run because
# an earlier one failed fails too (never a silent pass).
DEMO_STEPS = [
    ("admin API reachable through the forwarded port", {"admin"}, "connect"),
    ("enable the proxy and the S3 record type (pamctl)", {"admin", "store"}, "enable"),
    ("add a record and a token (pamctl)", {"admin", "store"}, "add_record_and_token"),
    ("aws s3 cp through the proxy to the host's S3 (resolve override)",
     {"engine", "admin", "store"}, "copy"),
    ("session report shows the copy", {"admin", "audit"}, "session_report"),
    ("kTLS counters grew in the guest (metrics)", {"engine", "admin"}, "ktls"),
]


def run_demo(report, facts, vm, log, demo):
    missing = components(facts)
    blocked = None
    for name, needs, method in DEMO_STEPS:
        lacking = sorted(needs & missing)
        if lacking:
            report.skip(name, f"needs {', '.join(lacking)}: the guest's pamproxyd logged "
                              f"daemon.component_missing for {', '.join(lacking)}")
            blocked = blocked or name
            continue
        if blocked and method != "ktls":
            report.check(name, False, f"not run: `{blocked}` did not pass")
            continue
        if method == "connect":
            ok = demo.connect(vm, log, facts)
        elif method == "ktls":
            ok = demo.ktls(facts)
        else:
            ok = getattr(demo, method)()
        if not ok and method != "ktls":
            blocked = name


def print_status(name, log, ready_s):
    print(f"== boot {name}: status block after {ready_s:.1f}s", flush=True)
    for line in re.findall(r"^(?:pamproxy|appliance-firstboot|pamproxy-firstboot).*$", log, re.M):
        if "bootstrap admin token" in line:
            line = line.split(":")[0] + ": (token withheld from the test output)"
        print(f"   | {line}")


def boot(workdir, disk, name, first_boot, inspect, timeout_s=STATUS_TIMEOUT_S):
    """Boots the overlay, waits for the status block, calls inspect(vm, log, facts), powers off.
    A first boot that stalls starts again from a fresh overlay."""
    if first_boot:
        disk.new_overlay()
    for attempt in (1, 2):
        vm = Vm(workdir, disk.overlay, f"{name}-{attempt}")
        vm.start()
        try:
            vm.wait_for(r"^pamproxy-status: end$", timeout_s)
            ready_s = time.monotonic() - vm.started
            break
        except BootStalled as e:
            vm.kill()
            print(f"  boot {name} attempt {attempt}: {e}; serial log: {vm.serial}")
            if attempt == 2:
                raise Failure(f"boot {name} stalled twice")
            if first_boot:  # start the retry from a pristine first boot again
                disk.new_overlay()
        except Exception:
            vm.kill()
            raise
    try:
        log = vm.log()
        facts = parse_status(log)
        print_status(name, log, ready_s)
        inspect(vm, log, facts)
        off_s = vm.power_off()
        return facts, off_s
    finally:
        vm.kill()


def break_toml(disk):
    """The administrator's edit left an out-of-range value in the TOML."""
    broken, line = replace_line(disk.read(GUEST_CONFIG), 'ktls = "auto"', 'ktls = "maybe"')
    disk.write(GUEST_CONFIG, broken)
    return (f"{GUEST_CONFIG} line {line} says ktls = \"maybe\"",
            r"pamproxy\.toml:%d:\d+: key 'engine\.ktls'" % line)


def replace_master_key(disk):
    """The master key credential is not the one that sealed the store (a key restored from the
    wrong backup, or a lost key that first boot would otherwise have replaced)."""
    disk.write(GUEST_CONFIG, disk.read(GUEST_CONFIG).replace('ktls = "maybe"', 'ktls = "auto"'))
    disk.master_key = disk.read_bytes(MASTER_KEY)
    disk.write_bytes(MASTER_KEY, os.urandom(32), mode=0o400)
    return (f"{MASTER_KEY} holds another 32-byte key",
            r"master key \S+ does not open database")


def fill_var(disk):
    """/var full for everyone but root (ext4 keeps its reserved blocks for root, so the journal
    still has room to say why): one file whose blocks debugfs allocates without writing them."""
    disk.write(GUEST_CONFIG, disk.read(GUEST_CONFIG).replace('ktls = "maybe"', 'ktls = "auto"'))
    if getattr(disk, "master_key", None):
        disk.write_bytes(MASTER_KEY, disk.master_key, mode=0o400)
    stats = run(["debugfs", "-R", "stats", disk.var_fs]).stdout
    free = int(re.search(r"^Free blocks:\s+(\d+)", stats, re.M).group(1))
    reserved = int(re.search(r"^Reserved block count:\s+(\d+)", stats, re.M).group(1))
    script = f"write /dev/null /filler\nfallocate /filler 0 {free - reserved - 1}\n"
    run(["debugfs", "-w", "-f", "-", disk.var_fs], input=script)
    stats = run(["debugfs", "-R", "stats", disk.var_fs]).stdout
    left = int(re.search(r"^Free blocks:\s+(\d+)", stats, re.M).group(1))
    if left > reserved or run(["e2fsck", "-fn", disk.var_fs]).returncode != 0:
        raise Failure(f"filling /var left {left} free blocks ({reserved} reserved), or broke it")
    return (f"/var filled: {left} free blocks left, {reserved} reserved for root",
            r"database \S+ cannot be opened: its file system is full")


# Bad input at boot, one boot each (after the second boot, on the same disk): what is changed,
# and what the journal must say about it.
FAULTS = [("bad-toml", "a TOML error", break_toml),
          ("wrong-key", "a wrong master key", replace_master_key),
          ("full-var", "a full /var", fill_var)]


def check_fault(report, what, facts, expected_reason):
    restarts = facts.get("pamproxyd_restarts", "?")
    try:
        bounded = 1 <= int(restarts) <= START_LIMIT_BURST
    except ValueError:
        bounded = False
    report.check(f"{what} at boot: pamproxyd failed, not running",
                 facts.get("pamproxyd") == "failed", f"pamproxyd={facts.get('pamproxyd')}")
    reason = facts.get("pamproxyd_reason", "")
    report.check(f"{what}: the journal says why", re.search(expected_reason, reason) is not None,
                 f"pamproxyd_reason: {reason}")
    # systemd 252 keeps Result=exit-code when it refuses the restart: its journal line says so.
    report.check(f"{what}: the unit stops at its start limit (no endless restarts)",
                 facts.get("pamproxyd_start_limit") == "hit" and bounded,
                 f"start limit {facts.get('pamproxyd_start_limit')}, "
                 f"Result={facts.get('pamproxyd_result')} NRestarts={restarts} "
                 f"(StartLimitBurst={START_LIMIT_BURST})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", default=os.path.join(ROOT, "build/image/pamproxy-appliance.raw"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory (serial logs)")
    ap.add_argument("--faults", nargs="*", metavar="NAME",
                    help=f"only these bad-input boots ({', '.join(f[0] for f in FAULTS)}); "
                         "none when given without names")
    args = ap.parse_args()
    for path, what in ((args.image, "run appliance/build first"),
                       (PAMCTL, "appliance/build makes it (or set PAMCTL)"), (AWS, "awscli")):
        if not os.path.exists(path):
            print(f"appliance/test: {path} missing: {what}", file=sys.stderr)
            return 2
    t0 = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="pamproxy-appliance-test.")
    report = Report()
    timings = []
    front = None
    try:
        ca = TestCA(workdir)
        front = AwsFront(workdir, ca, [RECORD], names=AWS_HOSTS + ["localhost"]).__enter__()
        t = time.monotonic()
        disk = Disk(workdir, args.image)
        packaged = disk.read(GUEST_CONFIG)
        with open(ca.cert_path) as f:
            disk.write(GUEST_UPSTREAM_CA, f.read())
        disk.write(GUEST_CONFIG, guest_config(packaged, front.port))
        timings.append(f"disk copy and configuration {time.monotonic() - t:.0f}s")
        print(f"== the guest's {GUEST_CONFIG}: the packaged file with [upstream] resolve "
              f"{', '.join(AWS_HOSTS)} -> {HOST_FROM_GUEST}:{front.port} (the stand-in for AWS on "
              f"the host) and [tls] upstream_ca_file = {GUEST_UPSTREAM_CA} (its test CA)",
              flush=True)

        demo = Demo(workdir, report, front)

        def first(vm, log, facts):
            check_boot(report, facts, True)
            t = time.monotonic()
            run_demo(report, facts, vm, log, demo)
            timings.append(f"demo flow {time.monotonic() - t:.0f}s")

        t = time.monotonic()
        first_facts, off_s = boot(workdir, disk, "first", True, first)
        report.check("clean ACPI power-off", True, f"{off_s:.1f}s")
        timings.append(f"first boot {time.monotonic() - t:.0f}s")

        def second(vm, log, facts):
            check_boot(report, facts, False, first_facts)
            demo.after_reboot(vm, facts, first_facts)

        t = time.monotonic()
        _, off_s = boot(workdir, disk, "second", False, second)
        report.check("clean ACPI power-off", True, f"{off_s:.1f}s")
        timings.append(f"second boot {time.monotonic() - t:.0f}s")

        for name, what, prepare in FAULTS:
            if args.faults is not None and name not in args.faults:
                continue
            t = time.monotonic()
            disk.commit_overlay()
            change, expected = prepare(disk)
            print(f"== boot {name}: {change}", flush=True)
            _, off_s = boot(workdir, disk, name, False,
                            lambda vm, log, facts: check_fault(report, what, facts, expected))
            report.check("clean ACPI power-off", True, f"{off_s:.1f}s")
            timings.append(f"{name} boot {time.monotonic() - t:.0f}s")
    except Failure as e:
        report.failures.append(str(e))
        print(f"  FAIL  {report.scrub(str(e))}")
    finally:
        if front is not None:
            front.__exit__(None, None, None)
        if args.keep or report.failures:
            if not args.keep:  # the disk copies are large, the demo's files secret
                for name in ("appliance.raw", "disk.qcow2"):
                    if os.path.exists(os.path.join(workdir, name)):
                        os.unlink(os.path.join(workdir, name))
                shutil.rmtree(os.path.join(workdir, "demo"), ignore_errors=True)
            print(f"appliance/test: serial logs kept in {workdir} (the first boot's holds the "
                  f"bootstrap admin token)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    total = time.monotonic() - t0
    print(f"appliance/test: timings: {'; '.join(timings)}")
    if report.failures:
        print(f"appliance/test: FAILED ({len(report.failures)}): {'; '.join(report.failures)} "
              f"[{total:.0f}s]")
        return 1
    print(f"appliance/test: all checks passed (skips listed above) [{total:.0f}s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
