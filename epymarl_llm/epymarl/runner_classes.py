"""`lolm_episode` and `lolm_parallel`: EPyMARL's own runners with `runners.LolmRunnerMixin` in front.

This module imports EPyMARL's `runners` package from the user's checkout (its `src/` is on
`sys.path` in a run), so only the registry entries (`registration.TARGETS`) import it, when
EPyMARL's run.py builds the runner.
"""

from __future__ import annotations

from runners.episode_runner import EpisodeRunner
from runners.parallel_runner import ParallelRunner

from epymarl_llm.epymarl.runners import LolmRunnerMixin


class LolmEpisodeRunner(LolmRunnerMixin, EpisodeRunner):
    """`runner: lolm_episode`: one env in the run's own process (EPyMARL's `episode` runner)."""


class LolmParallelRunner(LolmRunnerMixin, ParallelRunner):
    """`runner: lolm_parallel`: `batch_size_run` env worker processes (EPyMARL's `parallel` runner)."""
