"""Demonstrators: what chooses the actions of a demonstration episode (LEED's generation module).

Every demonstrator maps one env step, obs (N, obs_size) and avail (N, A) of all agents, to actions
(N,) and `valid` (N,) bool: whether the demonstrator's own answer was a valid, available action.
Dead agents (only no-op available) take no-op and are not asked.

- `ScriptedDemonstrator`: focus fire on the available target with the least health (+ shield),
  a Medivac heals the available ally with the least health; with no target, move towards the
  nearest visible enemy. A baseline, and the demonstrator of the tests.
- `TextLmDemonstrator`: a causal LM *generates* an action as text from the prompt the policy reads
  (paper section 4.2), parsed back to an action id; an unparseable or unavailable answer is counted
  and replaced by an action sampled uniformly from the available ones.
- `CheckpointDemonstrator`: a trained lolm_mappo policy (LoRA + action head checkpoint).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from epymarl_llm.actions import N_BASE_ACTIONS, acting_agents
from epymarl_llm.prompts.layout import MOVE_DIRECTIONS
from epymarl_llm.prompts.template import action_name

MOVES = {d: 2 + i for i, d in enumerate(MOVE_DIRECTIONS)}


def sample_available(avail_row: np.ndarray, rng: np.random.Generator) -> int:
    return int(rng.choice(np.flatnonzero(avail_row)))


class UniformDemonstrator:
    """Every live agent takes an available action uniformly at random: the floor a demonstrator's
    episodes are compared with."""

    name = "uniform"

    def __init__(self, layout: Any):
        self.layout = layout

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "rule": "an available action uniformly at random"}

    def act(self, obs: np.ndarray, avail: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        actions = np.zeros(len(obs), dtype=np.int64)
        for i in np.flatnonzero(acting_agents(avail)):
            actions[i] = sample_available(avail[i], rng)
        return actions, np.ones(len(obs), dtype=bool)


class ScriptedDemonstrator:
    """Focus fire / heal the weakest, else close in on the nearest visible enemy."""

    name = "scripted"

    def __init__(self, layout: Any):
        self.layout = layout

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.name,
            "rule": "attack the available enemy with least health+shield; a Medivac heals "
            "the available ally with least health; else move towards the nearest visible enemy (east if none)",
        }

    def act(self, obs: np.ndarray, avail: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        actions = np.zeros(len(obs), dtype=np.int64)
        for i in np.flatnonzero(acting_agents(avail)):
            actions[i] = self._act_one(obs[i], avail[i], int(i), rng)
        return actions, np.ones(len(obs), dtype=bool)

    def _health(self, row: np.ndarray, offset: int, features: tuple[str, ...]) -> float:
        total = 0.0
        for f in ("health", "shield"):
            if f in features:
                total += float(row[offset + features.index(f)])
        return total

    def _act_one(self, row: np.ndarray, avail: np.ndarray, agent: int, rng: np.random.Generator) -> int:
        lay = self.layout
        targets = np.flatnonzero(avail[N_BASE_ACTIONS:])
        if len(targets):
            if lay.spec.is_healer(agent):  # target j is ally (agent) j; SMAC never offers the healer itself

                def score(j):
                    slot = j - (j > agent)
                    return self._health(row, lay.ally_offset + slot * lay.ally_feats, lay.ally_features)
            else:

                def score(j):
                    return self._health(row, lay.enemy_offset + j * lay.enemy_feats, lay.enemy_features)

            return N_BASE_ACTIONS + int(min(targets, key=lambda j: (score(int(j)), int(j))))
        best, nearest = None, np.inf
        for j in range(lay.n_enemies):
            base = lay.enemy_offset + j * lay.enemy_feats
            dist = float(row[base + 1])  # "distance": 0 when not visible
            if dist > 0 and dist < nearest:
                best, nearest = (float(row[base + 2]), float(row[base + 3])), dist
        if best is not None:
            dx, dy = best
            order = (
                ["east" if dx > 0 else "west", "north" if dy > 0 else "south"]
                if abs(dx) >= abs(dy)
                else ["north" if dy > 0 else "south", "east" if dx > 0 else "west"]
            )
        else:
            order = ["east"]
        for d in order:
            if avail[MOVES[d]]:
                return MOVES[d]
        return sample_available(avail, rng)


_ANSWER_CLEAN = re.compile(r"[^a-z0-9\- ]+")


def parse_action(answer: str, avail_row: np.ndarray, healer: bool) -> tuple[int | None, bool]:
    """Generated text -> (action id or None, available).

    The answer's first line, lower-cased and stripped of punctuation, is searched for the actions'
    words as the prompt writes them ("attack enemy 2", "move north", "stop"), each as whole words:
    the earliest one wins, and of two starting at the same word the longer ("attack enemy 12" is
    not "attack enemy 1"). An instruct model often answers in a sentence ("To win, you must attack
    enemy 3."), which names the action after other words.
    Returns (None, False) for no match and (id, False) for an action that exists but is unavailable.
    """
    line = answer.strip().split("\n", 1)[0].lower()
    line = " " + " ".join(_ANSWER_CLEAN.sub(" ", line).split()) + " "
    best: tuple[int, int, int] | None = None  # (start, -length, action)
    for a in range(len(avail_row)):
        words = action_name(a, healer)
        start = line.find(" " + words + " ")
        if start >= 0 and (best is None or (start, -len(words)) < best[:2]):
            best = (start, -len(words), a)
    if best is None:
        return None, False
    return best[2], bool(avail_row[best[2]])


# Appended to the policy's prompt for the generating demonstrator only: the policy reads the
# prompt's last state and never generates, so its prompt ends at "Your action:".
ANSWER_INSTRUCTION = "Answer with one of the available actions above, exactly as written, and nothing else."


def _with_answer_instruction(text: str) -> str:
    """`text` with `ANSWER_INSTRUCTION` on its own line before the closing "Your action:" (or at the end)."""
    head, closing, tail = text.rpartition("Your action:")
    return f"{head}{ANSWER_INSTRUCTION}\n{closing}{tail}" if closing else f"{text}\n{ANSWER_INSTRUCTION}"


class TextLmDemonstrator:
    """A causal LM answers each agent's prompt with generated text, parsed to an action id.

    Args:
        model_dir: a local folder (or hub name) of a causal LM with its tokenizer, a named model
            (`smollm2-135m`) or a `.gguf` file.
        max_new_tokens: generation budget of an answer (action names are at most 4 words).
        sample: sample the answer (temperature 1) instead of greedy decoding.
        chat: wrap the prompt in the tokenizer's chat template when it has one (instruct models).
        answer_instruction: add `ANSWER_INSTRUCTION` before the prompt's closing "Your action:", so
            that an instruct model answers with an action's words rather than a sentence about it.
    """

    name = "text_lm"

    def __init__(
        self,
        layout: Any,
        model_dir: str,
        max_new_tokens: int = 8,
        sample: bool = False,
        chat: bool = True,
        answer_instruction: bool = True,
        device: str = "cpu",
        prompt_config: Any = None,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from epymarl_llm.policy.named_models import resolve_model
        from epymarl_llm.prompts import PromptEncoder

        self.layout, self.model_dir = layout, str(model_dir)
        self.max_new_tokens, self.sample, self.device = max_new_tokens, sample, device
        # A named model (smollm2-135m) or a .gguf file: its converted folder (converted on first use).
        folder = resolve_model(self.model_dir)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder)
            self.model = AutoModelForCausalLM.from_pretrained(folder).to(device).eval()
        except OSError as err:
            raise ValueError(
                f"cannot load a causal LM from {self.model_dir!r} ({err}); pass --model DIR, a local "
                "folder (e.g. from `epymarl-llm make-tiny-model DIR`)"
            ) from err
        self.tokenizer.padding_side = "left"  # generation continues every row at its end
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.chat = bool(chat and getattr(self.tokenizer, "chat_template", None))
        self.answer_instruction = answer_instruction
        self.encoder = PromptEncoder(layout, None, config=prompt_config)
        self._torch = torch
        self.last_answers: list[str] = []

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.name,
            "model": self.model_dir,
            "max_new_tokens": self.max_new_tokens,
            "sample": self.sample,
            "chat_template": self.chat,
            "fallback": "invalid or unavailable answers replaced by a uniformly sampled available action",
            "answer_instruction": ANSWER_INSTRUCTION if self.answer_instruction else None,
        }

    def _inputs(self, texts: list[str]) -> list[str]:
        if self.answer_instruction:
            texts = [_with_answer_instruction(t) for t in texts]
        if not self.chat:
            return texts
        return [
            self.tokenizer.apply_chat_template(
                [{"role": "user", "content": t}], tokenize=False, add_generation_prompt=True, enable_thinking=False
            )
            for t in texts
        ]

    def answers(self, texts: list[str]) -> list[str]:
        torch = self._torch
        batch = self.tokenizer(self._inputs(texts), return_tensors="pt", padding=True).to(self.device)
        with torch.no_grad():
            out = self.model.generate(
                **batch,
                max_new_tokens=self.max_new_tokens,
                do_sample=self.sample,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new = out[:, batch["input_ids"].shape[1] :]
        return self.tokenizer.batch_decode(new, skip_special_tokens=True)

    def act(self, obs: np.ndarray, avail: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        actions = np.zeros(len(obs), dtype=np.int64)
        valid = np.ones(len(obs), dtype=bool)
        live = np.flatnonzero(acting_agents(avail))
        if len(live) == 0:
            return actions, valid
        texts = self.encoder.texts(obs[live], avail[live], live)
        self.last_answers = self.answers(texts)
        for i, answer in zip(live, self.last_answers, strict=True):
            action, ok = parse_action(answer, avail[i], self.layout.spec.is_healer(int(i)))
            valid[i] = ok
            actions[i] = action if ok else sample_available(avail[i], rng)
        return actions, valid


class CheckpointDemonstrator:
    """A lolm_mappo checkpoint (`results/models/<token>/<step>/`) acting greedily or by sampling."""

    name = "checkpoint"

    def __init__(
        self,
        layout: Any,
        checkpoint: str,
        llm_model: str | None = None,
        sample: bool = False,
        device: str = "cpu",
        policy_overrides: dict[str, Any] | None = None,
    ):
        import torch

        from epymarl_llm.load_plan import MANIFEST_FILE, CheckpointManifest
        from epymarl_llm.policy import LlmPolicy, PolicyConfig
        from epymarl_llm.prompts import PromptEncoder

        path = Path(checkpoint)
        manifest = CheckpointManifest.read(path) or CheckpointManifest(map_name=None)
        model = llm_model or manifest.llm_model
        if not model:
            raise ValueError(f"{path} has no {MANIFEST_FILE} naming its backbone: pass --llm-model DIR")
        self.checkpoint, self.layout, self.sample = str(path), layout, sample
        cfg = PolicyConfig(**{"llm_model": model, "device": device, **(policy_overrides or {})})
        self.policy = LlmPolicy(cfg)
        self.policy.load_trainable(path)
        self.policy.eval()
        self.encoder = PromptEncoder(layout, self.policy.tokenizer)
        self.manifest = manifest
        self._torch = torch

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.name,
            "checkpoint": self.checkpoint,
            "trained_on": self.manifest.map_name,
            "llm_model": self.policy.cfg.llm_model,
            "sample": self.sample,
        }

    def act(self, obs: np.ndarray, avail: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        torch = self._torch
        from epymarl_llm.learner.losses import masked_log_softmax

        actions = np.zeros(len(obs), dtype=np.int64)
        live = np.flatnonzero(acting_agents(avail))
        if len(live):
            av = torch.as_tensor(avail[live] > 0)
            tokens = self.encoder.encode(torch.as_tensor(obs[live]), av, torch.as_tensor(live), entity_spans=False)
            with torch.no_grad():
                logp = masked_log_softmax(
                    self.policy.forward_chunked(tokens, av.to(self.policy.device)), av.to(self.policy.device)
                ).cpu()
            if self.sample:
                probs = logp.exp().double().numpy()
                actions[live] = [rng.choice(len(p), p=p / p.sum()) for p in probs]
            else:
                actions[live] = logp.argmax(-1).numpy()
        return actions, np.ones(len(obs), dtype=bool)
