# Beam search, both ways vLLM has offered it: LLM.beam_search with BeamSearchParams, and the
# older SamplingParams(use_beam_search=True, best_of=…, temperature=0).
from vllm import LLM, SamplingParams
from vllm.sampling_params import BeamSearchParams

llm = LLM(model="HuggingFaceTB/SmolLM2-135M-Instruct")
prompts = ["The capital of France is", "Once upon a time"]
for output in llm.beam_search(prompts, BeamSearchParams(beam_width=4, max_tokens=16)):
    for sequence in output.sequences:
        print(f"{sequence.cum_logprob:.3f} {sequence.text!r}")

params = SamplingParams(n=2, best_of=4, use_beam_search=True, temperature=0, max_tokens=16)
for output in llm.generate(prompts, params):
    for completion in output.outputs:
        print(f"{output.prompt!r} -> {completion.text!r} (cumulative logprob {completion.cumulative_logprob:.3f})")
