"""What the learner reports while and after it updates: progress lines and the run summary's numbers."""

from __future__ import annotations

from epymarl_llm.learner import LolmPPOLearner
from epymarl_llm.run_summary import ARGS_ATTR, RunSummary


class _Console:
    def __init__(self):
        self.lines: list[str] = []

    def info(self, line: str) -> None:
        self.lines.append(line)


def test_the_update_prints_the_epoch_and_minibatch_it_reached(fake):
    logger = fake.logger()
    logger.console_logger = _Console()
    # max_prompts_per_forward=4 cuts the batch's live agent-steps into many minibatches.
    learner = LolmPPOLearner(fake.mac(), {}, logger, fake.args(epochs=2, progress_interval_s=1e-9))
    learner.train(fake.batch(), t_env=10, episode_num=3)
    summary, *lines = logger.console_logger.lines
    assert summary == "a fake policy"  # the policy's own line, once, when the learner is built
    assert lines[0].startswith("update at t_env 10: pi_old/reference pass, minibatch 1/")
    assert any(line.startswith("update at t_env 10: epoch 2/2, minibatch ") for line in lines)
    n = int(lines[0].split("minibatch 1/")[1].split()[0])
    assert len(lines) == 3 * n  # every minibatch of the pre-pass and of both epochs: the interval is ~0


def test_the_run_summary_gets_each_update_and_checkpoint(fake, tmp_path):
    args = fake.args(epochs=1, progress_interval_s=0)
    summary = RunSummary()
    setattr(args, ARGS_ATTR, summary)
    logger = fake.logger()
    logger.console_logger = _Console()
    learner = LolmPPOLearner(fake.mac(), {}, logger, args)
    batch = fake.batch()
    learner.train(batch, t_env=10, episode_num=3)
    learner.train(batch, t_env=20, episode_num=6)
    assert logger.console_logger.lines == ["a fake policy"]  # progress_interval_s: 0: no progress lines
    live = (6 + 4 + 3) * 3 - 4  # as test_ppo_learner counts them
    assert summary.updates == 2 and summary.update_agent_steps == 2 * live and summary.update_s > 0
    assert summary.beta == learner.kl_schedule.beta(20) and summary.kl_to_reference is not None
    learner.save_models(str(tmp_path))
    assert summary.checkpoint == str(tmp_path)
