"""Shared machinery for `perf/run` and `perf/flamegraph` (python3 stdlib only).

What lives here: locating the repository and `../shared`, installing missing Debian tools, building mint,
the WSO2 scenario catalogue, a temporary mint home with WSO2's artifacts, the echo backend, an nginx
keep-alive reverse proxy, a wrk driver that returns a parsed summary, `/proc` readers (CPU ticks, RSS) and
process clean-up that also runs on Ctrl-C.

Everything listens on 127.0.0.1 only, and every process and temporary directory this module creates is torn
down by `cleanup()`; children also get PR_SET_PDEATHSIG so they die with the harness even on SIGKILL.
"""

import ctypes
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True

PERF_DIR = Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")

HEADERS = {
    "Content-Type": "text/xml",
    "SOAPAction": "urn:buyStocks",
    "routing": "xadmin;server1;community#1.0##",
}
ECHO_ADDRESS = "http://netty:8688/service/EchoService"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg, code=2):
    log(f"perf: error: {msg}")
    raise SystemExit(code)


# ---------------------------------------------------------------------------------------------------------
# Locations


def repo_root():
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=PERF_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return Path(out)
    except (OSError, subprocess.CalledProcessError):
        return PERF_DIR.parent


REPO = repo_root()
SHARED = REPO.parent / "shared"
WSO2 = SHARED / "bench" / "wso2-perf"
SYNAPSE_SRC = WSO2 / "synapse"
REQUESTS = WSO2 / "requests"


def target_dir():
    t = os.environ.get("CARGO_TARGET_DIR")
    return Path(t) if t else REPO / "target"


# ---------------------------------------------------------------------------------------------------------
# Scenarios and payloads


class Scenario:
    def __init__(self, name, artifact, path, check, note):
        self.name = name
        self.artifact = artifact  # file name in SYNAPSE_SRC
        self.path = path  # request path
        self.check = check  # "identical" | "symbols"
        self.note = note


SCENARIOS = [
    Scenario("DirectProxy", "DirectProxy-1.0.0.xml", "/services/DirectProxy/buyStocksOperation",
             "identical", "pass-through proxy"),
    Scenario("DirectAPI", "DirectAPI-1.0.0.xml", "/directApi", "identical", "API, call + respond"),
    Scenario("CBRProxy", "CBRProxy-1.0.0.xml", "/services/CBRProxy/buyStocksOperation",
             "symbols", "filter on body XPath //order[1]/symbol"),
    Scenario("CBRSOAPHeaderProxy", "CBRSOAPHeaderProxy-1.0.0.xml",
             "/services/CBRSOAPHeaderProxy/buyStocksOperation", "symbols", "filter on SOAP header XPath"),
    Scenario("CBRTransportHeaderProxy", "CBRTransportHeaderProxy-1.0.0.xml",
             "/services/CBRTransportHeaderProxy/buyStocksOperation", "symbols",
             "filter on $trp:routing"),
    Scenario("XSLTProxy", "XSLTProxy-1.0.0.xml", "/services/XSLTProxy/buyStocksOperation", "symbols",
             "xslt in and out"),
    Scenario("XSLTEnhancedProxy", "XSLTEnhancedProxy-1.0.0.xml",
             "/services/XSLTEnhancedProxy/buyStocksOperation", "symbols", "fastXSLT in and out"),
    Scenario("IterateAndAggregateProxy", "IterateAndAggregateProxy-1.0.0.xml",
             "/services/IterateAndAggregateProxy/buyStocksOperation", "orders*1",
             "iterate //order (one part per order: 7 at 1K), send each, aggregate"),
    Scenario("CloneAndAggregate2", "CloneAndAggregateWithTwoBackendProxy-1.0.0.xml",
             "/services/CloneAndAggregateWithTwoBackendProxy/buyStocksOperation", "orders*2",
             "clone to 2 endpoints, aggregate"),
    Scenario("CloneAndAggregate4", "CloneAndAggregateWithFourBackendProxy-1.0.0.xml",
             "/services/CloneAndAggregateWithFourBackendProxy/buyStocksOperation", "orders*4",
             "clone to 4 endpoints, aggregate"),
    Scenario("CloneAndAggregate8", "CloneAndAggregateWithEightBackendProxy-1.0.0.xml",
             "/services/CloneAndAggregateWithEightBackendProxy/buyStocksOperation", "orders*8",
             "clone to 8 endpoints, aggregate"),
]
SCENARIO_BY_KEY = {s.name.lower(): s for s in SCENARIOS}

# Artifacts every scenario may reference: the echo endpoint and the local entries (WSDL, stylesheets).
COMMON_ARTIFACTS = [
    "RealService-1.0.0.xml",
    "proxy_wsdl-1.0.0.xml",
    "xslt_transform-1.0.0.xml",
    "xslt_transform_reverse-1.0.0.xml",
    "fastxslt_transform-1.0.0.xml",
    "fastxslt_transform_reverse-1.0.0.xml",
]

PAYLOADS = {  # label -> file in REQUESTS
    "500B": "500B_buyStocks.xml",
    "1K": "1000B_buyStocks.xml",
    "10K": "10000B_buyStocks.xml",
    "100K": "100000B_buyStocks.xml",
    # mint's own: WSO2's 1K request with 10 shorter orders (1,185 bytes), so that iterate makes 10 parts.
    "1K10": "../payloads/1000B_10orders_buyStocks.xml",
}
PAYLOAD_ALIASES = {
    "500": "500B", "500b": "500B",
    "1k": "1K", "1kb": "1K", "1000": "1K", "1000b": "1K",
    "10k": "10K", "10kb": "10K", "10000": "10K", "10000b": "10K",
    "100k": "100K", "100kb": "100K", "100000": "100K", "100000b": "100K",
    "1k10": "1K10",
}


def parse_scenarios(text):
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if part.lower() == "all":
            out.extend(SCENARIOS)
            continue
        s = SCENARIO_BY_KEY.get(part.lower())
        if s is None:
            die(f"unknown scenario '{part}'; known: {', '.join(x.name for x in SCENARIOS)}")
        out.append(s)
    return list(dict.fromkeys(out))


def parse_payloads(text):
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if part.lower() == "all":
            out.extend(PAYLOADS)
            continue
        label = PAYLOAD_ALIASES.get(part.lower(), part.upper() if part.upper() in PAYLOADS else None)
        if label is None:
            die(f"unknown payload '{part}'; known: {', '.join(PAYLOADS)}")
        out.append(label)
    return list(dict.fromkeys(out))


def payload_path(label):
    name = PAYLOADS[label]
    return (PERF_DIR / "payloads" / name[len("../payloads/"):]) if name.startswith("../payloads/") else REQUESTS / name


# ---------------------------------------------------------------------------------------------------------
# Process bookkeeping and clean-up

_children = []  # Popen objects, in start order
_tempdirs = []
_cleaned = False


def _pdeathsig():
    # PR_SET_PDEATHSIG = 1: the child gets SIGKILL if the harness dies, even by SIGKILL.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, min(hard, 65536))
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ValueError, OSError):
        pass


def spawn(argv, cpus=None, env=None, stdout=None, stderr=None, keep=True):
    """Starts a child; `cpus` (a set of CPU numbers) pins it like `taskset -c`."""

    def pre():
        _pdeathsig()
        _raise_nofile()
        if cpus:
            os.sched_setaffinity(0, cpus)

    p = subprocess.Popen(
        argv,
        preexec_fn=pre,
        env=env,
        stdout=stdout if stdout is not None else subprocess.DEVNULL,
        stderr=stderr if stderr is not None else subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    if keep:
        _children.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=10.0):
    """Stops one child we started; returns its exit code (None if it had to be killed)."""
    if p.poll() is not None:
        if p in _children:
            _children.remove(p)
        return p.returncode
    try:
        p.send_signal(sig)
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = None
    if p in _children:
        _children.remove(p)
    return rc


def make_tempdir(prefix):
    d = Path(tempfile.mkdtemp(prefix=prefix))
    _tempdirs.append(d)
    return d


def cleanup():
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    for p in reversed(list(_children)):
        try:
            stop(p, timeout=5.0)
        except Exception:  # noqa: BLE001 - best effort during teardown
            pass
    for d in _tempdirs:
        shutil.rmtree(d, ignore_errors=True)


def install_signal_handlers():
    def handler(signum, _frame):
        # Ignore further signals while tearing down, then exit with 128+N.
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        log(f"\nperf: interrupted by signal {signum}; cleaning up")
        cleanup()
        os._exit(128 + signum)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, handler)


# ---------------------------------------------------------------------------------------------------------
# Tools and build

_apt_updated = False


def apt_install(packages):
    global _apt_updated
    if os.geteuid() != 0:
        die(f"missing {' '.join(packages)}; run as root or install them: apt-get install -y {' '.join(packages)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _apt_updated:
        log("perf: apt-get update")
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False,
                       stdout=subprocess.DEVNULL)
        _apt_updated = True
    log(f"perf: apt-get install -y {' '.join(packages)}")
    r = subprocess.run(["apt-get", "install", "-y", "-qq", *packages], env=env,
                       stdout=subprocess.DEVNULL)
    return r.returncode == 0


def ensure_tools(tools):
    """tools: list of (binary, [debian packages to try, in order])."""
    for binary, packages in tools:
        if shutil.which(binary):
            continue
        ok = False
        for pkg in packages:
            if apt_install([pkg]) and shutil.which(binary):
                ok = True
                break
        if not ok:
            die(f"could not install '{binary}' (tried: {', '.join(packages)})")


def build_mint(no_build):
    tdir = target_dir() / "release"
    mint, backend = tdir / "mint", tdir / "mint-backend"
    if not no_build:
        log("perf: cargo build --release --bin mint --bin mint-backend")
        r = subprocess.run(["cargo", "build", "--release", "--bin", "mint", "--bin", "mint-backend"],
                           cwd=REPO)
        if r.returncode != 0:
            if mint.exists() and backend.exists():
                log("perf: WARNING: cargo build failed; measuring the EXISTING binaries "
                    f"(built {time.ctime(mint.stat().st_mtime)})")
            else:
                die("cargo build failed and there are no binaries to measure")
    for b in (mint, backend):
        if not b.exists():
            die(f"{b} missing (build it or drop --no-build)")
    return mint, backend


def git_describe():
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"],
                               cwd=REPO, capture_output=True, text=True).stdout.strip()
        return rev + ("+uncommitted-src" if dirty else "")
    except OSError:
        return "unknown"


# ---------------------------------------------------------------------------------------------------------
# /proc readers


def _stat_fields(pid):
    """The fields of /proc/PID/stat after the command name; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2:].split()


def cpu_ticks(pid):
    """utime+stime of the whole process (all threads), in clock ticks; None once gone."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)


def user_ticks(pid):
    """utime alone (user space, all threads), in clock ticks; None once gone."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[11])


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss(pid):
    """Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(d))
    return out


def thread_affinity(pid):
    """{thread name: cpu list string} for every thread of pid."""
    out = []
    try:
        for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
            try:
                name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
                cpus = os.sched_getaffinity(int(tid))
                out.append((name, cpus))
            except OSError:
                continue
    except OSError:
        pass
    return out


def pin_all_threads(pid, cpus):
    """Like `taskset -a -p -c CPUS PID`: re-pins every existing thread (glommio binds its own)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass


def res_ipis(cpus):
    """Rescheduling IPIs received so far by `cpus` (all CPUs when None), from /proc/interrupts."""
    try:
        with open("/proc/interrupts") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    ncpu = len(lines[0].split())
    for line in lines[1:]:
        cols = line.split()
        if cols and cols[0] == "RES:":
            counts = [int(c) for c in cols[1:1 + ncpu]]
            return sum(c for i, c in enumerate(counts) if cpus is None or i in cpus)
    return None


def cpu_list(cpus):
    cpus = sorted(cpus)
    return ",".join(str(c) for c in cpus)


def loadavg():
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine_info():
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "kernel": os.uname().release,
        "cpu": model,
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


# ---------------------------------------------------------------------------------------------------------
# Ports and HTTP


def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_offset():
    """A mint --offset whose HTTP, HTTPS, internal and management ports are all free."""
    for _ in range(200):
        off = random.randint(2000, 40000)
        if all(port_free(base + off) for base in (8280, 8243, 9191, 9154)):
            return off
    die("no free port offset for mint")


def post(port, path, body, timeout=5.0):
    """One POST with WSO2's headers; returns (status, body bytes) or raises OSError."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", path, body=body, headers=HEADERS)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def check_response(scenario_check, payload, status, body):
    """None when the response is right, else a reason."""
    if status != 200:
        return f"status {status}: {body[:200]!r}"
    if scenario_check == "identical":
        if body != payload:
            return f"body differs from the payload ({len(body)} vs {len(payload)} bytes): {body[:200]!r}"
        return None
    if scenario_check.startswith("orders*"):
        # A split and aggregated answer: every part's orders (a clone's parts are whole copies).
        # (an order moved under `<Aggregated>`, which WSO2 puts in Synapse's namespace, says
        # `xmlns=""` to stay in none)
        want = payload.count(b"<order>") * int(scenario_check.split("*")[1])
        got = body.count(b"<order>") + body.count(b'<order xmlns="">')
        if got != want or b"<Aggregated" not in body:
            return f"expected <Aggregated> with {want} <order> elements, got {got}: {body[:200]!r}"
        return None
    want = payload.count(b"<symbol>")
    got = body.count(b"<symbol>")
    if got == 0 or got != want:
        return f"expected {want} <symbol> elements, got {got}: {body[:200]!r}"
    return None


def wait_until_serving(port, path, payload, check, deadline_s, proc=None):
    """Polls until a POST succeeds and is correct; returns seconds waited or raises."""
    t0 = time.perf_counter()
    last = None
    while time.perf_counter() - t0 < deadline_s:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before serving")
        try:
            status, body = post(port, path, payload, timeout=2.0)
            why = check_response(check, payload, status, body)
            if why is None:
                return time.perf_counter() - t0
            last = why
        except OSError as e:
            last = str(e)
        time.sleep(0.0005)
    raise RuntimeError(f"not serving after {deadline_s}s: {last}")


# ---------------------------------------------------------------------------------------------------------
# mint home, backend, nginx


def root_element(path):
    text = path.read_text(errors="replace")
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<\?.*?\?>", "", text, flags=re.S)
    m = re.search(r"<([A-Za-z_][\w:.-]*)", text)
    return m.group(1) if m else None


FOLDER_BY_ROOT = {
    "proxy": "proxy-services",
    "api": "api",
    "endpoint": "endpoints",
    "localEntry": "local-entries",
    "sequence": "sequences",
    "template": "templates",
}


def make_home(base, scenarios, backend_port, upstream_keepalive):
    """A mint home with the scenarios' WSO2 artifacts (+ endpoint and local entries)."""
    home = base
    syn = home / "repository" / "deployment" / "server" / "synapse-configs" / "default"
    (home / "conf").mkdir(parents=True, exist_ok=True)
    for f in [s.artifact for s in scenarios] + COMMON_ARTIFACTS:
        src = SYNAPSE_SRC / f
        root = root_element(src)
        folder = FOLDER_BY_ROOT.get(root)
        if folder is None:
            die(f"{src}: unexpected root element <{root}>")
        (syn / folder).mkdir(parents=True, exist_ok=True)
        text = src.read_text()
        text = text.replace(ECHO_ADDRESS, f"http://127.0.0.1:{backend_port}/service/EchoService")
        (syn / folder / f).write_text(text)
    (home / "conf" / "deployment.toml").write_text(
        "# written by perf/harness.py\n"
        "[server]\n"
        'bind_address = "127.0.0.1"\n'
        "\n[client]\n"
        f"max_idle_per_host = {upstream_keepalive}\n"
    )
    return home


def mint_check(mint, home):
    """Runs `mint check`; returns (exit code, combined output)."""
    r = subprocess.run([str(mint), "check", "--home", str(home)], capture_output=True, text=True,
                       env=dict(os.environ, RUST_LOG="warn"))
    return r.returncode, (r.stdout + r.stderr)


def supported_scenarios(mint, scenarios, tmp, backend_port, upstream_keepalive):
    """Splits scenarios into (supported, [(scenario, reason)]) with one `mint check` each."""
    ok, skipped = [], []
    for s in scenarios:
        home = make_home(tmp / f"check-{s.name}", [s], backend_port, upstream_keepalive)
        rc, out = mint_check(mint, home)
        unsupported = [ln.split(": ", 1)[-1].strip() for ln in out.splitlines()
                       if "not supported yet" in ln or "not built yet" in ln]
        mine = [ln for ln in out.splitlines() if s.artifact in ln]
        if unsupported:
            skipped.append((s, "; ".join(dict.fromkeys(unsupported))))
        elif rc != 0:
            skipped.append((s, "mint check failed: " + " | ".join(mine or out.splitlines()[-3:])))
        else:
            ok.append(s)
        shutil.rmtree(home, ignore_errors=True)
    return ok, skipped


def start_backend(backend_bin, cores, cpus, port=None, stderr_path=None):
    port = port or free_port()
    p = spawn([str(backend_bin), "--port", str(port), "--cores", str(cores)], cpus=cpus,
              env=dict(os.environ, RUST_LOG="warn"),
              stderr=open(stderr_path, "wb") if stderr_path else None)
    t0 = time.time()
    while time.time() - t0 < 10:
        if p.poll() is not None:
            die(f"mint-backend exited with {p.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return p, port
        except OSError:
            time.sleep(0.01)
    die("mint-backend did not start")


def start_mint(mint, home, offset, cores, cpus, stderr_path=None, wrapper=None):
    argv = [str(mint), "serve", "--home", str(home), "--offset", str(offset), "--cores", str(cores)]
    if wrapper:
        argv = wrapper + argv
    err = open(stderr_path, "ab") if stderr_path else None
    try:
        p = spawn(argv, cpus=cpus, env=dict(os.environ, RUST_LOG=os.environ.get("PERF_RUST_LOG", "warn")),
                  stderr=err)
    finally:
        if err:
            err.close()
    return p


NGINX_CONF = """# written by perf/harness.py; a keep-alive reverse proxy to the echo backend
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
worker_rlimit_nofile 65536;
events {{
    worker_connections 16384;
}}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_max_body_size 10m;
    # keep 100 KB bodies in memory both ways (no temp files), as mint does
    client_body_buffer_size 128k;
    proxy_buffer_size 16k;
    proxy_buffers 16 16k;
    proxy_busy_buffers_size 64k;
    proxy_max_temp_file_size 0;
    upstream echo_backend {{
        server 127.0.0.1:{backend_port};
        keepalive {keepalive};
        keepalive_requests 1000000;
        keepalive_timeout 60s;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        location / {{
            proxy_pass http://echo_backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def start_nginx(tmp, workers, backend_port, keepalive, cpus, wrapper=(), single_process=False):
    """nginx proxying to the backend with `workers` workers; waits until it accepts. With `single_process`
    (one worker, `master_process off`, as under `wrapper`, e.g. callgrind) it does not wait: the caller
    waits until it serves."""
    ndir = tmp / "nginx"
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (ndir / sub).mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = ndir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, tmp=ndir, backend_port=backend_port,
                                      keepalive=keepalive, port=port))
    nginx = shutil.which("nginx")
    master = "off" if single_process else "on"
    argv = list(wrapper) + [nginx, "-p", str(ndir), "-c", str(conf), "-e", str(ndir / "error.log"),
                            "-g", f"daemon off; master_process {master};"]
    p = spawn(argv, cpus=cpus, stderr=open(ndir / "stderr.log", "wb"))
    if single_process:
        return p, port, ndir
    t0 = time.time()
    while time.time() - t0 < 10:
        if p.poll() is not None:
            die(f"nginx exited with {p.returncode}: {(ndir / 'stderr.log').read_text()}"
                f"{(ndir / 'error.log').read_text() if (ndir / 'error.log').exists() else ''}")
        kids = children_of(p.pid)
        if len(kids) >= workers:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return p, port, ndir
            except OSError:
                pass
        time.sleep(0.01)
    die("nginx did not start")


def nginx_error_lines(ndir, since_bytes):
    f = ndir / "error.log"
    if not f.exists():
        return [], 0
    data = f.read_bytes()
    new = data[since_bytes:].decode(errors="replace").splitlines()
    return [ln for ln in new if "[warn]" in ln or "[error]" in ln or "[crit]" in ln], len(data)


# ---------------------------------------------------------------------------------------------------------
# wrk

WRK_LUA = r"""-- written by perf/harness.py: POST a WSO2 payload with the JMeter headers
local f = assert(io.open(os.getenv("PERF_PAYLOAD"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "text/xml"
wrk.headers["SOAPAction"] = "urn:buyStocks"
wrk.headers["routing"] = "xadmin;server1;community#1.0##"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "PERFJSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"connect\":%d,\"read\":%d," ..
    "\"write\":%d,\"status\":%d,\"timeout\":%d,\"mean_us\":%.1f,\"max_us\":%d," ..
    "\"p50_us\":%d,\"p75_us\":%d,\"p90_us\":%d,\"p99_us\":%d,\"p999_us\":%d}\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
"""


def write_wrk_lua(tmp):
    p = tmp / "post.lua"
    p.write_text(WRK_LUA)
    return p


def run_wrk(lua, url, payload_file, conns, duration, threads, cpus, timeout_s=30):
    argv = ["wrk", f"-t{min(threads, conns)}", f"-c{conns}", f"-d{duration}s", f"--timeout={timeout_s}s",
            "--latency", "-s", str(lua), url]
    env = dict(os.environ, PERF_PAYLOAD=str(payload_file))
    p = spawn(argv, cpus=cpus, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=duration + timeout_s + 60)
    if p in _children:
        _children.remove(p)
    out = out.decode(errors="replace")
    m = re.search(r"^PERFJSON (\{.*\})$", out, flags=re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed (rc {p.returncode}): {err.decode(errors='replace')[-500:]}\n{out[-500:]}")
    r = json.loads(m.group(1))
    r["text"] = out
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6) if r["duration_us"] else 0.0
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return r


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def box_ticks():
    """(busy, total) jiffies over all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    total = sum(vals[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - idle, total


def box_busy(t0, t1):
    """Percent of all CPUs busy between two box_ticks() samples."""
    busy, total = t1[0] - t0[0], t1[1] - t0[1]
    return 100.0 * busy / total if total > 0 else None


MISSED_WAKE_UP = "ready sockets did not wake the shard"


def missed_wake_ups(log_path):
    """The socket driver's missed wake-ups a log reports (src/net/ring.rs warns at the first and at each
    power of two, with the running count): the last count seen, 0 when none."""
    try:
        text = Path(log_path).read_text(errors="replace")
    except OSError:
        return 0
    last = 0
    for line in text.splitlines():
        if MISSED_WAKE_UP in line:
            m = re.search(r"missed\"?[=:]\s*(\d+)", line)
            last = int(m.group(1)) if m else last + 1
    return last


def crash_excerpt(log_path, limit=300):
    """The panic message (or last line) from a mint stderr log."""
    try:
        lines = Path(log_path).read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    for i in range(len(lines) - 1, -1, -1):
        if "panicked at" in lines[i]:
            return " ".join(x.strip() for x in lines[i:i + 2])[:limit]
    return (lines[-1] if lines else "empty log")[:limit]


def children_cpu_s():
    """user+sys seconds of all reaped children (wrk runs are reaped right after they finish)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def ctx_switches(pid):
    """Voluntary + involuntary context switches summed over every thread of pid."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def _h2load_time(text):
    """'554us' / '22.25ms' / '1.2s' -> milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    if not m:
        return None
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


def run_h2load(url, payload_file, conns, duration, rate, cpus):
    """Open-loop load at `rate` req/s in total (h2load --rps per connection); no percentiles."""
    per_conn = max(1, round(rate / conns))
    argv = ["h2load", "--h1", "-c", str(conns), f"--rps={per_conn}", "-D", str(duration),
            "-d", str(payload_file)]
    for k, v in HEADERS.items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(url)
    p = spawn(argv, cpus=cpus, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=duration + 120)
    if p in _children:
        _children.remove(p)
    out = out.decode(errors="replace")
    fin = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", out)
    req = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                    r"(\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    tfr = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out)
    if p.returncode != 0 or not (fin and req and codes):
        raise RuntimeError(f"h2load failed (rc {p.returncode}): {err.decode(errors='replace')[-300:]}"
                           f"\n{out[-500:]}")
    succeeded = int(req.group(3))
    return {
        "requests": succeeded,
        "rps": float(fin.group(2)),
        "status": int(codes.group(2)) + int(codes.group(3)) + int(codes.group(4)),
        "errors": int(req.group(4)) + int(req.group(5)) + int(req.group(6)),
        "mean_ms": _h2load_time(tfr.group(3)) if tfr else None,
        "max_ms": _h2load_time(tfr.group(2)) if tfr else None,
        "offered": per_conn * conns,
    }


def snapshot_binaries(tmp, *bins):
    """Copies the binaries into tmp/bin; returns the copies and a line naming the build time."""
    import hashlib

    d = tmp / "bin"
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for b in bins:
        dst = d / b.name
        shutil.copy2(b, dst)
        out.append(dst)
    first = bins[0]
    digest = hashlib.sha256(out[0].read_bytes()).hexdigest()[:12]
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(first.stat().st_mtime))
    return (*out, f"binary {first} built {built} (sha256 {digest}), measured from a private copy")
