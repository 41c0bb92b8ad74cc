"""Model FLOPs per token, peak FLOP/s per accelerator, and the MFU that follows from them.

FLOPs per token follow torchtitan (``get_dense_model_nparams_and_flops``) and the PaLM convention:
``6 * (parameters - embedding) + 12 * layers * hidden * seq_length`` for a forward and backward pass,
with no discount for causal masking. Peak dense BF16 throughputs are the vendors' figures, as
torchtitan's ``get_peak_flops`` lists them; a device not in the table (a CPU) has no MFU.
"""

from __future__ import annotations

from typing import Optional

# Dense BF16 tensor-core peak per device, TFLOP/s (vendor data sheets, no sparsity).
PEAK_BF16_TFLOPS = {
    "A100": 312.0,
    "A800": 312.0,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 989.0,      # SXM
    "H800": 989.0,
    "H200": 989.0,
    "H20": 148.0,
    "B200": 2250.0,
    "L40S": 362.0,
    "A10G": 70.0,
    "L4": 121.0,
}


def peak_tflops(device_name: str) -> Optional[float]:
    """The table's peak for a CUDA device name such as ``NVIDIA H100 80GB HBM3``; None if unknown."""
    name = device_name.upper()
    for key in sorted(PEAK_BF16_TFLOPS, key=len, reverse=True):  # "H100 NVL" before "H100"
        if key.upper() in name:
            return PEAK_BF16_TFLOPS[key]
    return None


def flops_per_token(parameters: int, embedding_parameters: int, layers: int, hidden: int, seq_length: int) -> float:
    return 6.0 * (parameters - embedding_parameters) + 12.0 * layers * hidden * seq_length


def model_flops_per_token(model_config, parameters: int, seq_length: int) -> float:
    """For a Hugging Face decoder config (Qwen2: untied input embedding counted out once)."""
    embedding = model_config.vocab_size * model_config.hidden_size
    return flops_per_token(parameters, embedding, model_config.num_hidden_layers, model_config.hidden_size,
                           seq_length)


def mfu(tflops_per_device: float, peak: Optional[float]) -> Optional[float]:
    return tflops_per_device / peak if peak else None


__all__ = ["PEAK_BF16_TFLOPS", "peak_tflops", "flops_per_token", "model_flops_per_token", "mfu"]
