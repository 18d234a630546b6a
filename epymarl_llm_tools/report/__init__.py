"""Sacred run reading (file storage and MongoDB), transfer metrics, figures and tables (paper section 5).

    runs, messages = read_file_runs(["results/sacred"])
    runs += read_mongo_runs("mongodb://host:27017/sacred")
    write_report(runs, Path("report"), ReportOptions(), messages)

matplotlib and pymongo load only when figures are drawn or MongoDB is read.
"""

from __future__ import annotations

from epymarl_llm_tools.report.curves import Curve, SeedBand, seed_band
from epymarl_llm_tools.report.errors import ReportInputError
from epymarl_llm_tools.report.file_runs import find_run_dirs, read_file_runs, read_run_dir
from epymarl_llm_tools.report.runs import Run, RunMode, run_from_config, source_map_from_checkpoint
from epymarl_llm_tools.report.transfer_metrics import (
    SpeedUp,
    TransferSettings,
    asymptotic_performance,
    jumpstart,
    speed_up,
    steps_to_asymptote,
    steps_to_reach,
)

__all__ = [
    "Curve",
    "SeedBand",
    "seed_band",
    "ReportInputError",
    "find_run_dirs",
    "read_file_runs",
    "read_run_dir",
    "Run",
    "RunMode",
    "run_from_config",
    "source_map_from_checkpoint",
    "SpeedUp",
    "TransferSettings",
    "asymptotic_performance",
    "jumpstart",
    "speed_up",
    "steps_to_asymptote",
    "steps_to_reach",
    "read_mongo_runs",
    "write_report",
    "ReportOptions",
]


def __getattr__(name: str):
    # Lazy: `build` imports matplotlib, `mongo_runs` imports pymongo on use.
    if name in ("write_report", "ReportOptions", "ReportResult"):
        from epymarl_llm_tools.report import build

        return getattr(build, name)
    if name == "read_mongo_runs":
        from epymarl_llm_tools.report.mongo_runs import read_mongo_runs

        return read_mongo_runs
    raise AttributeError(f"module 'epymarl_llm_tools.report' has no attribute {name!r}")
