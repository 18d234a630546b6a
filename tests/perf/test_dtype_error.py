"""The bf16-against-fp32 measurement: it really runs a bf16 body, and its error is a float32 head's."""

from epymarl_llm_tools.bench import dtype_error


def test_bf16_body_differs_from_fp32_by_rounding_only_and_the_figures_are_printed():
    r = dtype_error.measure(model="tiny", rows=4, repeats=1)
    # A bf16 body rounds every activation: the probabilities must move (else bf16 was not used) ...
    assert r["max_abs_prob_error"] > 0
    # ... but only by rounding: the head and log-softmax are float32.
    assert (
        r["max_abs_prob_error"] < 0.05 and 0 <= r["mean_kl_fp32_to_candidate"] <= r["max_kl_fp32_to_candidate"] < 0.01
    )
    assert 0.5 <= r["argmax_agreement"] <= 1.0
    assert r["fp32_forward_s"] > 0 and r["candidate_forward_s"] > 0
    text = dtype_error.format_result(r)
    assert "KL(fp32 || bf16)" in text and "tiny on 4 prompts" in text


def test_int8_candidate_is_measured_on_the_frozen_layers():
    r = dtype_error.measure(model="tiny", rows=4, repeats=1, candidate="int8", lora_layers=1)
    assert r["candidate"] == "int8" and 0 < r["max_abs_prob_error"] < 0.05
    assert "KL(fp32 || int8)" in dtype_error.format_result(r) and "lora_layers 1" in dtype_error.format_result(r)
