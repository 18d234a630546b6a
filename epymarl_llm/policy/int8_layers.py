"""`lower_layers_int8`: the frozen lower layers' linear maps in int8, on CPU.

With `lora_layers: K` the layers below the adapter never change and never need a gradient (METHOD
section 9), so their `nn.Linear` modules can be swapped for dynamically quantized ones: int8
weights (one scale per output channel), activations quantized per call, int32 accumulation in
fbgemm/oneDNN kernels, float32 out. On a CPU the matmuls of those layers are most of a rollout's
time, and an int8 GEMM runs two to three times as fast as a float32 one.

Every pass goes through the same quantized layers: the rollout, the reference (adapter off),
pi_old and every PPO epoch. So the policy PPO's ratios are taken of is the policy that acted, and
the first epoch's ratio is 1 as without int8; only the distance to the float32 model changes
(`epymarl-llm bench dtype-error --candidate int8` prints it). The adapted top K layers, the head and LoRA stay
float32.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from epymarl_llm.policy.errors import PolicyConfigError

_FIX = "set lower_layers_int8=False"


def check_int8_applicable(first_adapted_layer: int, device: torch.device, dtype: torch.dtype) -> None:
    """Refuse the settings the quantized layers cannot serve, naming the fix."""
    if first_adapted_layer <= 0:
        raise PolicyConfigError(
            "lower_layers_int8 quantizes the frozen layers below the adapter, and with lora_layers=all there "
            f"are none: set lora_layers=K (e.g. 2), or {_FIX}"
        )
    if device.type != "cpu":
        raise PolicyConfigError(f"lower_layers_int8 runs on CPU only (the device is {device}): {_FIX}")
    if dtype != torch.float32:
        raise PolicyConfigError(
            f"lower_layers_int8 needs a float32 body (llm_dtype is {dtype}): set llm_dtype=float32, or {_FIX}"
        )


def quantize_lower_layers(layers: nn.ModuleList, first_adapted_layer: int) -> int:
    """Swap every `nn.Linear` in `layers[:first_adapted_layer]` for a dynamically quantized int8 one.

    Returns the number of linear modules swapped. The layer modules themselves stay in place, so
    the layer indices (and `only_layers`' swapping) are those of the full model.
    """
    quantize_dynamic, qconfig = _quantize_api()
    swapped = 0
    for index in range(first_adapted_layer):
        layer = layers[index]
        before = sum(isinstance(m, nn.Linear) for m in layer.modules())
        with warnings.catch_warnings():
            # torch marks its eager-mode quantization API as moving to torchao; the kernels it
            # calls are the ones torchao's CPU path uses too, and no replacement ships with torch.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*quantize_per_.*deprecated.*")
            quantize_dynamic(layer, {nn.Linear: qconfig}, dtype=torch.qint8, inplace=True)
        left = sum(isinstance(m, nn.Linear) for m in layer.modules())
        if left:
            raise PolicyConfigError(
                f"lower_layers_int8 left {left} linear module(s) of layer {index} unquantized: {_FIX}"
            )
        swapped += before
    return swapped


def int8_linear_count(module: nn.Module) -> int:
    """The dynamically quantized linear modules under `module` (0 when the switch is off)."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    return sum(isinstance(m, DynamicLinear) for m in module.modules())


def _quantize_api():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    except ImportError as err:  # a torch without eager-mode dynamic quantization
        raise PolicyConfigError(
            f"lower_layers_int8 needs torch.ao.quantization.quantize_dynamic ({err}): {_FIX}"
        ) from err
    if (
        "fbgemm" not in torch.backends.quantized.supported_engines
        and "x86" not in torch.backends.quantized.supported_engines
    ):
        raise PolicyConfigError(
            f"lower_layers_int8 needs torch's x86 int8 kernels (this torch has {torch.backends.quantized.supported_engines}): {_FIX}"
        )
    return quantize_dynamic, per_channel_dynamic_qconfig
