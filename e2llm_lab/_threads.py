"""How many CPU threads torch may use: chosen once per process, deliberately, so that a shared machine stays usable.

torch's default intra-op pool takes every logical core, and its OpenMP workers spin while they wait for a sibling.
Two such processes on one small machine do not each get half of it: a worker that waits for a descheduled sibling
spins on a core the other process needs, and both slow down many times over. So the toolkit

- takes the physical cores (hyper-threads share one core's arithmetic units), fewer when other work keeps cores
  busy *now* (:func:`busy_cpus`: a short sample of ``/proc/stat``; the 1-minute load average is only the fallback,
  since it still remembers work that ended seconds ago, such as the ``pip install`` just before a first run), and
  never fewer than one, and says why when it takes fewer than the cores;
- lets the user decide: ``configure_threads(n)``, ``$E2LLM_THREADS``, the CLI's ``--threads``, or a standard
  ``$OMP_NUM_THREADS`` already set;
- keeps one inter-op thread (the models here are one chain of operations; a second pool only competes);
- makes OpenMP workers sleep rather than spin while waiting (``OMP_WAIT_POLICY=PASSIVE``, ``KMP_BLOCKTIME=0``;
  read when the OpenMP runtime starts, so only effective when set before torch is imported);
- adds no pool of its own for data loading (``TOKENIZERS_PARALLELISM=false``; the DataLoaders use no workers).

Settings a user has exported themselves are left as they are.
"""
from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

__all__ = ["ENV_VAR", "busy_cpus", "choose_threads", "configure_threads", "physical_cores"]

#: The environment variable that sets the intra-op thread count of every toolkit entry point.
ENV_VAR = "E2LLM_THREADS"

#: Environment settings applied (unless already set) before torch is imported: sleeping, not spinning, OpenMP
#: workers (GNU libgomp reads OMP_WAIT_POLICY, Intel's runtime KMP_BLOCKTIME) and no tokenizer thread pool.
_QUIET_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0", "TOKENIZERS_PARALLELISM": "false"}

_chosen: int | None = None         # torch's threads are process-wide: the first choice holds for the process
#: How long :func:`busy_cpus` watches the machine: long enough to see a busy core, short enough not to be noticed.
SAMPLE_S = 0.2


def _usable_cpus() -> int:
    """Logical CPUs this process may run on (its affinity mask, e.g. a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def physical_cores(cpuinfo: str | Path = "/proc/cpuinfo") -> int:
    """Physical cores this process may use: distinct (package, core) pairs, at most the usable logical CPUs.

    Where the CPU topology cannot be read (macOS, Windows, a sandbox) this is the usable logical CPU count.
    """
    usable = _usable_cpus()
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return usable
    cores, package = set(), "0"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            package = value.strip()
        elif key == "core id":
            cores.add((package, value.strip()))
    return max(1, min(usable, len(cores))) if cores else usable


def _cpu_times(stat: Path) -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs together, from the first line of ``/proc/stat``."""
    fields = stat.read_text().splitlines()[0].split()
    if fields[0] != "cpu":
        raise ValueError(f"{stat}: first line is not the all-CPU total")
    values = [int(v) for v in fields[1:9]]      # user nice system idle iowait irq softirq steal (guest: in user)
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def busy_cpus(interval: float = SAMPLE_S, *, stat: str | Path = "/proc/stat") -> tuple[float, str]:
    """How many logical CPUs of the machine are busy with work now, and how that was measured.

    Reads the CPU time counters of ``/proc/stat`` twice, ``interval`` seconds apart (this process sleeps in
    between, so its own work does not count). Where they cannot be read (macOS, Windows, a sandbox), falls back to
    the 1-minute load average, which lags: it still counts work that ended up to a minute ago.

    Returns
    -------
    busy : float
        Busy logical CPUs of the whole machine (``0 .. os.cpu_count()``).
    source : str
        ``"now"`` (sampled) or ``"1-min load average"``, for the message that explains the choice.
    """
    stat = Path(stat)
    try:
        busy0, total0 = _cpu_times(stat)
        time.sleep(interval)
        busy1, total1 = _cpu_times(stat)
    except (OSError, ValueError, IndexError):
        try:
            return float(os.getloadavg()[0]), "1-min load average"
        except (AttributeError, OSError):        # Windows has no load average either
            return 0.0, "1-min load average"
    if total1 <= total0:                         # no tick passed: nothing measured, nothing busy
        return 0.0, "now"
    return (busy1 - busy0) / (total1 - total0) * (os.cpu_count() or 1), "now"


def _parse(value: str, source: str) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{source}={value!r} is not a thread count; give a whole number >= 1 (e.g. 1 on a busy "
                         f"machine), or leave it unset to let the toolkit choose")
    return n


def choose_threads(n: int | None = None, *, environ=None, cores: int | None = None, cpus: int | None = None,
                   load: float | None = None, host_cpus: int | None = None) -> int:
    """The intra-op thread count to use; a pure function of what it is given (the defaults read this machine).

    Parameters
    ----------
    n : int, optional
        Explicit request (``--threads``); wins over everything else.
    environ : mapping, optional
        Where ``E2LLM_THREADS`` (then ``OMP_NUM_THREADS``) is looked up; default ``os.environ``.
    cores : int, optional
        Physical cores; default :func:`physical_cores`.
    cpus : int, optional
        Usable logical CPUs, the upper bound of any request; default the process's affinity mask.
    load : float, optional
        Logical CPUs of the machine busy with other work; default :func:`busy_cpus` (measured now).
    host_cpus : int, optional
        Logical CPUs that load is spread over; default ``os.cpu_count()`` (measured values) or ``cpus`` (given
        ones). A container pinned to a few CPUs of a large host sees the host's load: only its share counts.

    Returns
    -------
    int
        ``n``, else ``$E2LLM_THREADS``, else ``$OMP_NUM_THREADS``, each at most ``cpus``; otherwise the physical
        cores not already busy, ``cores - round(load * cpus / host_cpus)``, at least 1.

    Raises
    ------
    ValueError
        For a request that is not a whole number >= 1 (the message names where it came from).
    """
    environ = os.environ if environ is None else environ
    if host_cpus is None:
        host_cpus = (os.cpu_count() or 1) if cpus is None else cpus
    cpus = _usable_cpus() if cpus is None else max(1, int(cpus))
    if n is not None:
        return min(_parse(n, "threads"), cpus)
    for name in (ENV_VAR, "OMP_NUM_THREADS"):
        if environ.get(name, "").strip():
            return min(_parse(environ[name], name), cpus)
    cores = physical_cores() if cores is None else max(1, int(cores))
    if load is None:
        load, _ = busy_cpus()
    share = min(1.0, cpus / max(1, int(host_cpus)))        # the part of the host's load that falls on our CPUs
    busy = math.floor(max(0.0, float(load)) * share + 0.5)
    return max(1, min(cores, cpus) - busy)


def configure_threads(n: int | None = None) -> int:
    """Choose the intra-op thread count (:func:`choose_threads`) and apply it to this process; returns it.

    Called by the CLI before it imports anything heavy, by :func:`~e2llm_lab.apps.quickstart.run_quickstart` and by
    :func:`~e2llm_lab.apps.colab.setup_notebook`. The first choice holds for the process (later calls without ``n``
    return it: by then the machine's busy CPUs include this process's own work); an explicit ``n`` re-applies.

    Parameters
    ----------
    n : int, optional
        Threads to use; default ``$E2LLM_THREADS``, ``$OMP_NUM_THREADS``, or physical cores minus the load.

    Returns
    -------
    int
        The intra-op thread count now in force (``torch.get_num_threads()``).
    """
    global _chosen
    if n is None and _chosen is not None:
        return _chosen
    overridden = n is not None or any(os.environ.get(k, "").strip() for k in (ENV_VAR, "OMP_NUM_THREADS"))
    load, source = (None, "") if overridden else busy_cpus()
    threads = choose_threads(n, load=load)
    free = min(physical_cores(), _usable_cpus())
    if not overridden and threads < free:
        print(f"e2llm_lab: using {threads} of {free} CPU cores: {load:.1f} CPU(s) of this machine were busy with "
              f"other work ({source}); set {ENV_VAR} or --threads to choose", file=sys.stderr, flush=True)
    if "torch" not in sys.modules:
        # read once, when the OpenMP runtime starts: too late once torch is imported
        for key, value in {**_QUIET_ENV, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}.items():
            os.environ.setdefault(key, value)
    else:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")   # read when a tokenizer first encodes
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:                       # only possible before the first inter-op work; harmless afterwards
        pass
    _chosen = threads
    return threads
