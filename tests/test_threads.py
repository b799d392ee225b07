"""The CPU thread count: explicit request, environment overrides, load-based reduction, bounds, and its effect."""
import os
import subprocess
import sys

import pytest

import e2llm_lab._threads as threads_mod
from e2llm_lab._threads import busy_cpus, choose_threads, physical_cores


@pytest.mark.parametrize("load,expected", [
    (0.0, 4), (0.4, 4),          # an idle machine: every physical core
    (0.6, 3), (1.0, 3),          # one busy process takes one core away
    (2.2, 2), (3.5, 1),          # 3.5 rounds to 4 busy of 4: still one thread
    (9.0, 1), (-1.0, 4),         # never below 1; a nonsense load counts as idle
])
def test_automatic_choice_is_free_physical_cores(load, expected):
    assert choose_threads(environ={}, cores=4, cpus=8, load=load) == expected


def test_a_container_counts_its_share_of_the_host_load():
    # pinned to 2 of a 64-CPU host's cores, which runs 30 processes: about one of our two cores is taken
    assert choose_threads(environ={}, cores=2, cpus=2, host_cpus=64, load=30.0) == 1
    assert choose_threads(environ={}, cores=2, cpus=2, host_cpus=64, load=10.0) == 2      # 0.3 of a core: free
    assert choose_threads(environ={}, cores=2, cpus=2, host_cpus=2, load=1.0) == 1        # no container: all of it


def test_physical_cores_never_exceed_usable_cpus():
    assert choose_threads(environ={}, cores=8, cpus=2, load=0.0) == 2      # a container pinned to 2 CPUs


def test_explicit_request_then_environment_in_that_order():
    env = {"E2LLM_THREADS": "3", "OMP_NUM_THREADS": "2"}
    assert choose_threads(1, environ=env, cores=4, cpus=8, load=0.0) == 1
    assert choose_threads(environ=env, cores=4, cpus=8, load=0.0) == 3
    assert choose_threads(environ={"OMP_NUM_THREADS": "2"}, cores=4, cpus=8, load=0.0) == 2
    # an override is obeyed even on a loaded machine (the user decided), but capped at the usable CPUs
    assert choose_threads(environ={"E2LLM_THREADS": "3"}, cores=4, cpus=8, load=7.0) == 3
    assert choose_threads(environ={"E2LLM_THREADS": "64"}, cores=4, cpus=8, load=0.0) == 8
    assert choose_threads(64, environ={}, cores=4, cpus=8, load=0.0) == 8
    assert choose_threads(environ={"E2LLM_THREADS": "  "}, cores=4, cpus=8, load=0.0) == 4   # blank = unset


@pytest.mark.parametrize("source,value", [("E2LLM_THREADS", "0"), ("E2LLM_THREADS", "two"),
                                          ("OMP_NUM_THREADS", "-1"), ("threads", 0)])
def test_a_bad_count_names_where_it_came_from(source, value):
    kwargs = {"environ": {}} if source == "threads" else {"environ": {source: value}}
    n = value if source == "threads" else None
    with pytest.raises(ValueError, match=rf"{source}={value!r} is not a thread count"):
        choose_threads(n, cores=4, cpus=8, load=0.0, **kwargs)


def test_physical_cores_from_cpuinfo(tmp_path):
    # two packages x two cores, each with two hyper-threads: 8 logical CPUs, 4 physical cores
    blocks = [f"processor\t: {i}\nphysical id\t: {i // 4}\ncore id\t\t: {(i // 2) % 2}\n" for i in range(8)]
    (tmp_path / "cpuinfo").write_text("\n".join(blocks))
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert physical_cores(tmp_path / "cpuinfo") == min(4, usable)
    assert physical_cores(tmp_path / "missing") == usable               # unreadable topology: logical CPUs


def _fresh(code: str, **env) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("E2LLM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY",
                                                              "KMP_BLOCKTIME", "MKL_NUM_THREADS",
                                                              "TOKENIZERS_PARALLELISM")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**clean, **env},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_configure_threads_applies_to_torch_and_sets_quiet_openmp_before_import():
    code = ("import os, sys; from e2llm_lab._threads import configure_threads; n = configure_threads(); "
            "import torch; print(n, torch.get_num_threads(), torch.get_num_interop_threads(), "
            "os.environ['OMP_WAIT_POLICY'], os.environ['TOKENIZERS_PARALLELISM'], configure_threads())")
    n, intra, inter, wait, tok, again = _fresh(code, E2LLM_THREADS="1")
    assert (n, intra, inter, wait, tok, again) == ("1", "1", "1", "PASSIVE", "false", "1")
    # a setting the user exported stays as it is
    assert _fresh(code, E2LLM_THREADS="1", OMP_WAIT_POLICY="ACTIVE")[3] == "ACTIVE"


def test_cli_threads_option_and_env_var_reach_torch():
    # the command's own work replaced by a report of torch's thread counts at the moment it would start
    code = ("import sys, torch, e2llm_lab.apps.cli as c; "
            "c._build_samples = lambda a: print(torch.get_num_threads(), torch.get_num_interop_threads()) or 0; "
            "sys.exit(c.main(sys.argv[1:]))")

    def run(*args, **env):
        clean = {k: v for k, v in os.environ.items() if k not in ("E2LLM_THREADS", "OMP_NUM_THREADS")}
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                              env={**clean, **env}, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert run("build-samples", "--threads", "1", E2LLM_THREADS="2") == ["1", "1"]     # the option wins
    assert run("--threads", "1", "build-samples") == ["1", "1"]                        # before the command too
    if len(os.sched_getaffinity(0)) >= 2:
        assert run("build-samples", E2LLM_THREADS="2") == ["2", "1"]


def _stat(user: int, idle: int) -> str:
    # /proc/stat's all-CPU line: user nice system idle iowait irq softirq steal guest guest_nice
    return f"cpu  {user} 0 0 {idle} 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n"


@pytest.mark.parametrize("busy_share", [0.0, 0.5, 1.0])
def test_busy_cpus_measures_the_machine_now_from_proc_stat(tmp_path, monkeypatch, busy_share):
    stat = tmp_path / "stat"
    stat.write_text(_stat(1000, 5000))
    ticks = 400                                  # jiffies of all CPUs during the sample
    # the second read sees the counters after the interval: busy_share of them spent working
    monkeypatch.setattr(threads_mod.time, "sleep",
                        lambda s: stat.write_text(_stat(1000 + int(ticks * busy_share),
                                                         5000 + ticks - int(ticks * busy_share))))
    monkeypatch.setattr(threads_mod.os, "cpu_count", lambda: 2)
    busy, source = busy_cpus(stat=stat)
    assert source == "now"
    assert busy == pytest.approx(2 * busy_share)


def test_busy_cpus_ignores_past_load_and_falls_back_to_it_only_without_proc_stat(tmp_path, monkeypatch):
    # a 1-minute load average of 1.9 from a pip install that has just ended: the machine is idle now
    monkeypatch.setattr(threads_mod.os, "getloadavg", lambda: (1.9, 0.8, 0.3))
    monkeypatch.setattr(threads_mod.time, "sleep", lambda s: None)
    stat = tmp_path / "stat"
    stat.write_text(_stat(1000, 5000))
    assert busy_cpus(stat=stat) == (0.0, "now")                     # no tick passed: nothing busy
    assert busy_cpus(stat=tmp_path / "missing") == (1.9, "1-min load average")
    assert choose_threads(environ={}, cores=2, cpus=2, load=busy_cpus(stat=stat)[0]) == 2


def test_configure_threads_says_why_it_takes_fewer_than_the_cores(monkeypatch, capsys):
    monkeypatch.setattr(threads_mod, "_chosen", None)
    for key in ("E2LLM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(threads_mod, "busy_cpus", lambda: (1.0, "now"))
    monkeypatch.setattr(threads_mod, "physical_cores", lambda: 2)
    monkeypatch.setattr(threads_mod, "_usable_cpus", lambda: 2)
    monkeypatch.setattr(threads_mod.os, "cpu_count", lambda: 2)
    import torch
    before = torch.get_num_threads()
    try:
        assert threads_mod.configure_threads() == 1
        err = capsys.readouterr().err
        assert "using 1 of 2 CPU cores" in err and "1.0 CPU(s)" in err and "(now)" in err
        # a quiet machine: every core, and nothing to explain
        monkeypatch.setattr(threads_mod, "_chosen", None)
        monkeypatch.setattr(threads_mod, "busy_cpus", lambda: (0.1, "now"))
        assert threads_mod.configure_threads() == 2
        assert capsys.readouterr().err == ""
    finally:
        torch.set_num_threads(before)
