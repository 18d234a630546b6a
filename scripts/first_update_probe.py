"""How far one Adam step moves a fresh policy, pretrained body against random init.

    python scripts/first_update_probe.py MODEL [HEAD_INPUT_NORM]    # e.g. smollm2-135m rms

On 16 real 2s3z prompts, float32, `lora_layers=2`: the scale of the head's input (the body's last-token
state), the initial policy's distance from uniform, then for three learning rates one Adam step on a
policy-gradient loss with fixed random advantages and actions sampled from the initial policy, and the
KL and probability ratios it leaves. The same seeds give both bodies the same head, LoRA and batch.
HEAD_INPUT_NORM is the policy's `head_input_norm` ("none", the default, or "rms").
"""

import sys
import time

import torch

from epymarl_llm.policy import LlmPolicy, PolicyConfig
from epymarl_llm.prompts import PromptEncoder, load_map_layout, random_observations

MODEL = sys.argv[1]
HEAD_INPUT_NORM = sys.argv[2] if len(sys.argv) > 2 else "none"
layout = load_map_layout("2s3z", env="sc2")
obs, avail, ids = random_observations(layout, 16, seed=3)
avail[:, 1] = 1
avail_t = torch.as_tensor(avail) != 0
adv = torch.randn(16, generator=torch.Generator().manual_seed(0))


def kl(p, q):
    return float((p * (p.clamp_min(1e-12).log() - q.clamp_min(1e-12).log())).sum(-1).mean())


def head_input(policy, batch) -> torch.Tensor:
    """The tensor the action head receives (the body's last-token states)."""
    seen = []
    hook = policy.head.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach()))
    with torch.no_grad():
        policy(batch, avail_t)
    hook.remove()
    return seen[0]


def fresh(init):
    torch.manual_seed(0)  # the same head and LoRA initialisation for every run
    keys = dict(llm_model=MODEL, llm_init=init, llm_dtype="float32", lora_layers=2, head_input_norm=HEAD_INPUT_NORM)
    return LlmPolicy(PolicyConfig(**keys)).eval()


for init in ("pretrained", "random"):
    t = time.time()
    pol = fresh(init)
    batch = PromptEncoder(layout, pol.tokenizer).encode(obs, avail, ids)
    x = head_input(pol, batch)
    with torch.no_grad():
        p0 = pol(batch, avail_t).softmax(-1)
    uniform = avail_t.float() / avail_t.sum(-1, keepdim=True)
    a = p0.multinomial(1, generator=torch.Generator().manual_seed(1)).squeeze(-1)
    print(
        f"[{init}, head_input_norm {HEAD_INPUT_NORM}] body's last-token state: mean norm {x.norm(dim=-1).mean():.1f}, max |feature| {x.abs().max():.1f}; "
        f"KL(uniform || pi_0) {kl(uniform, p0):.2e}"
    )
    for lr in (3e-4, 1e-4, 3e-5):
        pol = fresh(init)
        opt = torch.optim.Adam(pol.trainable_parameters(), lr=lr)
        pol.train()
        logp = pol(batch, avail_t).log_softmax(-1)
        (-(adv * logp.gather(-1, a[:, None]).squeeze(-1)).mean()).backward()
        opt.step()
        pol.eval()
        with torch.no_grad():
            p1 = pol(batch, avail_t).softmax(-1)
        ratio = p1.gather(-1, a[:, None]) / p0.gather(-1, a[:, None])
        print(
            f"[{init}] lr {lr:g}: one Adam step -> KL(pi_0 || pi_1) {kl(p0, p1):.3e}, "
            f"max |ratio - 1| {float((ratio - 1).abs().max()):.3f}, ratios outside [0.8, 1.2]: "
            f"{float(((ratio - 1).abs() > 0.2).float().mean()):.2f}"
        )
    print(f"[{init}] {time.time() - t:.0f} s")
