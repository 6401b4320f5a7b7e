"""A memory diagnostic for the app server (not part of the app): which objects outlive the sessions.

Put this folder on the server's ``PYTHONPATH`` (Python imports ``sitecustomize`` at start-up),
for example ``PYTHONPATH=benchmarks/memory_diagnostic LAPSELENS_BOOK_IDLE_SECONDS=60
.venv/bin/python benchmarks/bench_hostile_load.py --sessions 8 --settle 240``. In a process
running ``app.py`` it starts a thread that, once the server has had no session for 60 s, writes
``dump-idle-N.txt`` to ``LAPSELENS_MEMDIAG_DIR`` (default ``/tmp/memdiag``): RSS, glibc's
``mallinfo2``, Arrow's pool, live objects by type, every DataFrame, array, index or bytes
object over 1 MB with its referrers, the referrer chains of any live ``AppSession`` or
``SessionState``, big objects that only untracked containers hold (two levels of referents; their
referrer chains go through frames and tracebacks), the mappings holding 4 MB or more with a peek at
what the big anonymous ones contain, and pymalloc's statistics. With it on the ``PYTHONPATH``,
``SIGUSR1`` makes the server write every thread's stack to its log (``faulthandler``). Sessions 9
and 10 found the leaks of the README's "Memory returns to its level" with it.
"""

import os
import sys
import threading
import time

FOLDER = os.environ.get("LAPSELENS_MEMDIAG_DIR", "/tmp/memdiag")


def _dump(tag):
    import collections
    import ctypes
    import gc
    import types

    gc.collect()
    out = open(f"{FOLDER}/dump-{tag}.txt", "w")

    def rss():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return line.strip()

    out.write(rss() + "\n")

    class M(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = M
        m = libc.mallinfo2()
        out.write("glibc: " + ", ".join(f"{n}={getattr(m, n) / 1e6:.1f}MB" for n, _ in M._fields_) + "\n")
    except Exception as e:
        out.write(f"mallinfo2 failed {e}\n")
    try:
        import pyarrow as pa

        out.write(f"arrow pool {pa.default_memory_pool().backend_name} {pa.total_allocated_bytes() / 1e6:.1f}MB\n")
    except Exception as e:
        out.write(f"arrow {e}\n")
    objs = gc.get_objects()
    counts = collections.Counter(type(o).__name__ for o in objs)
    out.write("objects: " + str(len(objs)) + " " + str(counts.most_common(25)) + "\n")
    sizes = collections.Counter()
    big = []
    try:
        import numpy as np
        import pandas as pd
    except Exception:
        np = pd = None
    for o in objs:
        try:
            if pd is not None and isinstance(o, pd.DataFrame):
                s = int(o.memory_usage(deep=False).sum())
                sizes["DataFrame"] += s
                if s > 1e6:
                    big.append((s, "DataFrame", o))
            elif np is not None and isinstance(o, np.ndarray) and o.base is None:
                sizes["ndarray"] += o.nbytes
                if o.nbytes > 1e6:
                    big.append((o.nbytes, "ndarray", o))
            elif isinstance(o, (bytes, bytearray)):
                sizes["bytes"] += len(o)
                if len(o) > 1e6:
                    big.append((len(o), "bytes", o))
            elif isinstance(o, dict):
                sizes["dict"] += sys.getsizeof(o)
        except Exception:
            pass
    # untracked objects: str, bytes aren't gc tracked; walk containers for big str/bytes
    for o in objs:
        if isinstance(o, (list, tuple, dict)):
            it = o.values() if isinstance(o, dict) else o
            try:
                for v in it:
                    if isinstance(v, (bytes, str)) and len(v) > 1e6:
                        big.append((len(v), type(v).__name__, v))
                    elif np is not None and isinstance(v, np.ndarray) and v.nbytes > 1e6 and not gc.is_tracked(v):
                        big.append((v.nbytes, "untracked ndarray", v))
                    elif pd is not None and isinstance(v, pd.Index) and len(v) > 100_000:
                        big.append((int(v.memory_usage(deep=False)), "Index", v))
            except Exception:
                pass

    def describe(r, child):
        d = type(r).__name__
        if isinstance(r, dict):
            key = next((k for k, v in r.items() if v is child), None)
            d += f" [key={str(key)[:80]!r}] keys={str(list(r.keys())[:8])[:200]}"
        elif isinstance(r, types.ModuleType):
            d += " " + r.__name__
        elif isinstance(r, (list, tuple)):
            d += f" len={len(r)}"
        elif isinstance(r, types.FrameType):
            d += f" {r.f_code.co_filename}:{r.f_lineno} {r.f_code.co_name}"
        elif isinstance(r, types.TracebackType):
            d += f" of frame {r.tb_frame.f_code.co_name}"
        elif isinstance(r, BaseException):
            d += f" {r!r}"[:200]
        else:
            d += " " + repr(type(r))[:120]
        return d

    # untracked big objects held by frames (threads', coroutines'), instances' attributes and cells
    holders = [o for o in objs if isinstance(o, types.FrameType)]
    for frame in sys._current_frames().values():
        while frame is not None:
            holders.append(frame)
            frame = frame.f_back
    for o in holders:
        try:
            for k, v in o.f_locals.items():
                if isinstance(v, (bytes, bytearray, memoryview)) and len(v) > 1e6:
                    big.append((len(v), f"{type(v).__name__} in frame {o.f_code.co_filename}:{o.f_lineno} {o.f_code.co_name} local {k}", v))
        except Exception:
            pass
    for o in objs:
        try:
            d = getattr(o, "__dict__", None) if not isinstance(o, type) else None
            vals = list(d.values()) if isinstance(d, dict) else []
            if type(o).__name__ == "cell":
                vals.append(o.cell_contents)
            for v in vals:
                if isinstance(v, (bytes, bytearray, memoryview)) and len(v) > 1e6:
                    big.append((len(v), f"{type(v).__name__} attribute of {type(o)!r}", v))
        except Exception:
            pass
    # Anything big that only untracked objects hold (a dict of bytes is not tracked): walk two levels of referents.
    seen_big = {id(b[2]) for b in big}
    for o in objs:
        try:
            for child in gc.get_referents(o):
                grandchildren = gc.get_referents(child) if not gc.is_tracked(child) and isinstance(child, (dict, list, tuple)) else ()
                for v, via in [(child, None)] + [(g, child) for g in grandchildren]:
                    is_array = np is not None and isinstance(v, np.ndarray)
                    size = len(v) if isinstance(v, (bytes, bytearray)) else (v.nbytes if is_array else 0)
                    if size > 1e6 and id(v) not in seen_big:
                        seen_big.add(id(v))
                        how = f"untracked {type(via).__name__} in " if via is not None else ""
                        big.append((size, f"{type(v).__name__} referred to by {how}{describe(o, via if via is not None else v)[:200]}", o))
        except Exception:
            pass
    _smaps(out)
    out.write("sizes: " + str({k: f"{v / 1e6:.1f}MB" for k, v in sizes.items()}) + "\n")
    big.sort(key=lambda x: -x[0])
    out.write(f"big: {len(big)} total {sum(b[0] for b in big) / 1e6:.1f}MB\n")
    ids = {id(objs), id(big), id(sys._getframe())}
    for b in big:
        ids.add(id(b))

    try:
        from streamlit import runtime

        if runtime.exists():
            inst = runtime.get_instance()
            mgr = inst._session_mgr
            out.write(f"sessions: active={len(mgr.list_active_sessions())} all={len(mgr.list_sessions())}\n")
            for info in mgr.list_sessions():
                out.write(f"  session {info.session.id} active={mgr.is_active_session(info.session.id)}\n")
            ufm = inst._uploaded_file_mgr
            files = getattr(ufm, "file_storage", {})
            out.write(f"uploaded file manager: {len(files)} sessions, {sum(len(v) for v in files.values())} files\n")
    except Exception as e:
        out.write(f"runtime probe failed {e!r}\n")
    # Who keeps a session's widget state alive: long chains of first referrers from each WStates / SessionState / AppSession.
    for o in objs:
        name = type(o).__name__
        if name not in ("WStates", "SessionState", "AppSession", "ScriptRunner"):
            continue
        out.write(f"\nALIVE {name} {type(o)!r}\n")
        cur = o
        seen2 = set(ids)
        for depth in range(16):
            refs = [r for r in gc.get_referrers(cur) if id(r) not in seen2 and not isinstance(r, types.FrameType) and r is not objs]
            if not refs:
                out.write("  " * (depth + 1) + "(no referrer: a root or only frames)\n")
                frames = [r for r in gc.get_referrers(cur) if isinstance(r, types.FrameType)]
                for f in frames[:3]:
                    out.write("  " * (depth + 1) + f"frame {f.f_code.co_filename}:{f.f_lineno} {f.f_code.co_name}\n")
                break
            for r in refs[:3]:
                out.write("  " * (depth + 1) + ("* " if r is refs[0] else "  ") + describe(r, cur)[:300] + "\n")
            seen2.add(id(refs[0]))
            cur = refs[0]
    for s_, k, o in big[:12]:
        out.write(f"\n{s_ / 1e6:.1f}MB {k} {getattr(o, 'shape', '')}\n")
        # BFS up the referrers, skipping our own containers and frames
        frontier = [(o, 0)]
        seen = set(ids)
        lines = 0
        while frontier and lines < 40:
            cur, depth = frontier.pop(0)
            if depth >= 7:
                continue
            for r in gc.get_referrers(cur):
                if id(r) in seen or (isinstance(r, types.FrameType) and r.f_code.co_name == "_dump") or r is frontier:
                    continue
                seen.add(id(r))
                out.write("  " * (depth + 1) + describe(r, cur) + "\n")
                lines += 1
                if not isinstance(r, types.ModuleType):
                    frontier.append((r, depth + 1))
    r, w = os.pipe()
    saved = os.dup(2)
    os.dup2(w, 2)
    try:
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    lines = data.decode(errors="replace").splitlines()
    out.write("\n".join(x for x in lines if "arena" in x.lower() or "Total" in x or "bytes in" in x) + "\n")
    out.close()


def _smaps(out):
    """The process's mappings holding 4 MB or more resident, and a peek at what the big anonymous ones hold."""
    maps = []
    cur = None
    for line in open("/proc/self/smaps"):
        head = line.split()
        if "-" in head[0] and not head[0].endswith(":"):
            lo, hi = (int(x, 16) for x in head[0].split("-"))
            cur = {"lo": lo, "hi": hi, "path": head[5] if len(head) > 5 else "[anon]", "perm": head[1]}
            maps.append(cur)
        elif head[0] in ("Rss:", "Anonymous:", "Swap:") and cur is not None:
            cur[head[0][:-1]] = int(head[1]) * 1024
    total = sum(m.get("Rss", 0) for m in maps)
    anon = sum(m.get("Anonymous", 0) for m in maps)
    out.write(f"smaps: {len(maps)} mappings, Rss {total / 1e6:.1f}MB, anonymous {anon / 1e6:.1f}MB\n")
    by_size = {}
    for m in maps:
        if m["path"] == "[anon]" or m["path"].startswith("["):
            size = m["hi"] - m["lo"]
            key = "64MB arena-sized" if size in (64 << 20, (64 << 20) - 4096) else ("< 1MB" if size < 1 << 20 else "other")
            by_size.setdefault(key, [0, 0])
            by_size[key][0] += 1
            by_size[key][1] += m.get("Rss", 0)
    out.write("anonymous by shape: " + str({k: f"{n} maps {r / 1e6:.1f}MB" for k, (n, r) in by_size.items()}) + "\n")
    try:
        mem = os.open("/proc/self/mem", os.O_RDONLY)
    except OSError:
        mem = None
    for m in sorted(maps, key=lambda m: -m.get("Rss", 0)):
        if m.get("Rss", 0) < 4e6:
            break
        out.write(f"  {m['lo']:x}-{m['hi']:x} {m['perm']} size {(m['hi'] - m['lo']) / 1e6:.1f}MB rss {m['Rss'] / 1e6:.1f}MB {m['path']}\n")
        if mem is not None and m["path"] in ("[anon]", "[heap]") and "r" in m["perm"]:
            size = m["hi"] - m["lo"]
            for frac in (0, 0.25, 0.5, 0.9):
                at = m["lo"] + int(size * frac) // 4096 * 4096
                try:
                    peek = os.pread(mem, 96, at)
                except OSError as e:
                    peek = repr(e).encode()
                out.write(f"      @{frac:.2f} {peek!r}\n")
    if mem is not None:
        os.close(mem)


def _watch():
    os.makedirs(FOLDER, exist_ok=True)
    idle_since = None
    dumped = 0
    while True:
        time.sleep(5)
        try:
            from streamlit import runtime

            if not runtime.exists():
                continue
            n = len(runtime.get_instance()._session_mgr.list_sessions())
        except Exception:
            continue
        if n:
            idle_since = None
            continue
        if idle_since is None:
            idle_since = time.time()
        elif idle_since is not False and time.time() - idle_since > 60:
            dumped += 1
            try:
                _dump(f"idle-{dumped}")
            except Exception as e:
                open(f"{FOLDER}/dump-idle-{dumped}.err", "w").write(repr(e))
            idle_since = False


if "app.py" in sys.argv:
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # every thread's stack to the server's log, on demand
    threading.Thread(target=_watch, daemon=True).start()
