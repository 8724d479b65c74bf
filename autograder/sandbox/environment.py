"""The environment a submission's process starts with: nothing of the grader's own."""

from __future__ import annotations

from upsampling_course.checks import SEED_ENV


def job_environment(seed: int, single_thread: bool) -> dict[str, str]:
    """Variables of a job's process; ``single_thread`` when several jobs share the cores."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        SEED_ENV: str(seed),
        "MPLBACKEND": "Agg",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_ENABLE_ONEDNN_OPTS": "0",
    }
    if single_thread:  # several TensorFlow thread pools would fight over the cores
        env |= {
            "TF_NUM_INTRAOP_THREADS": "1",
            "TF_NUM_INTEROP_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        }
    return env
