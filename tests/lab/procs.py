"""Processes the lab starts: PID records, liveness, stopping, and who holds a port.

A PID alone can be reused by an unrelated process after ours exits, so each record
also keeps the process start time from /proc/<pid>/stat; a PID whose start time differs
is not ours and is never signalled.
"""
import errno
import json
import os
import pathlib
import signal
import socket
import subprocess
import time

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """Return /proc/<pid>/stat split after the command name, or None if it is gone."""
    try:
        raw = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses; it ends at the last ')'.
    return raw[raw.rindex(")") + 2:].split()


def start_time(pid):
    """Clock-tick start time of a process (field 22 of /proc/<pid>/stat), or None."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def state(pid):
    """The state letter of a process (R, S, D, T for stopped by a signal, Z...), or None."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def is_running(pid, started=None):
    """True if `pid` exists, is not a zombie and (if given) started at `started`."""
    fields = _stat_fields(pid)
    if not fields or fields[0] in ("Z", "X"):
        return False
    return started is None or int(fields[19]) == started


def cmdline(pid):
    """The command line of a process as one string ('' if it is gone)."""
    try:
        raw = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def group_members(pgid):
    """PIDs whose process group is `pgid` (the lab starts every service as a group leader)."""
    members = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry.name)
        if fields and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def rss_kib(pid):
    """(RSS, PSS) of a process in KiB from /proc/<pid>/smaps_rollup; (0, 0) if unreadable."""
    rss = pss = 0
    try:
        for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class Record:
    """What the lab knows about one process it started, persisted as JSON."""

    def __init__(self, pid, started, argv, log):
        self.pid = pid
        self.started = started
        self.argv = argv
        self.log = log

    @classmethod
    def load(cls, path):
        try:
            data = json.loads(pathlib.Path(path).read_text())
            return cls(int(data["pid"]), int(data["started"]), data["argv"], data["log"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, path):
        tmp = pathlib.Path(f"{path}.tmp")
        tmp.write_text(json.dumps({"pid": self.pid, "started": self.started,
                                   "argv": self.argv, "log": self.log}) + "\n")
        tmp.replace(path)

    def alive(self):
        return is_running(self.pid, self.started)

    def members(self):
        """Our process and everything still running in its process group."""
        if not self.alive():
            return [p for p in group_members(self.pid) if p != self.pid]
        return group_members(self.pid)


def signal_members(record, sig):
    """Send `sig` to the recorded process and everything in its process group; return the PIDs.

    The lab starts every component as a group leader, so this reaches a gunicorn master and
    its workers, or cotyledon's parent and its service process, together.
    """
    sent = []
    for pid in record.members():
        try:
            os.kill(pid, sig)
            sent.append(pid)
        except ProcessLookupError:
            pass
    return sent


def spawn(argv, log_path, env=None, cwd=None):
    """Start `argv` in a new session (its own process group), output appended to `log_path`.

    Returns (Popen, Record). The caller keeps the Popen so it can reap the child.
    """
    log_path = pathlib.Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, cwd=cwd, start_new_session=True, close_fds=True)
    started = None
    for _attempt in range(100):
        started = start_time(proc.pid)
        if started is not None:
            break
        time.sleep(0.01)
    return proc, Record(proc.pid, started or 0, [str(a) for a in argv], str(log_path))


def stop(record, timeout=20.0, sig=signal.SIGTERM):
    """Signal a recorded process, wait for its whole process group, SIGKILL what is left.

    `sig=None` only waits (the caller already signalled). Returns the PIDs that had to be
    killed. Does nothing for a PID that is not ours.
    """
    if sig is not None and record.alive():
        try:
            os.kill(record.pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not record.alive() and not record.members():
            return []
        time.sleep(0.1)
    killed = []
    for pid in ([record.pid] if record.alive() else []) + record.members():
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            pass
    for _attempt in range(50):
        if not record.alive() and not record.members():
            break
        time.sleep(0.1)
    return killed


def tail(path, lines=20):
    """The last `lines` lines of a text file ('' if it does not exist)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# Ports ---------------------------------------------------------------------------------
def port_is_free(port, host="127.0.0.1"):
    """True if a listener could bind host:port right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def port_accepts(port, host="127.0.0.1", timeout=0.5):
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _listening_inodes(port):
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = pathlib.Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def port_owner(port):
    """(pid, command line) of a process listening on TCP `port`, or None if not visible."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for proc_dir in pathlib.Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            fds = list((proc_dir / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    return int(proc_dir.name), cmdline(proc_dir.name)
            except OSError:
                continue
    return None
