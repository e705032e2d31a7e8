# Greedy decoding, top-k sampling and stop sequences.
from vllm import LLM, SamplingParams

llm = LLM(model="HuggingFaceTB/SmolLM2-135M-Instruct")
prompts = ["The capital of France is", "List three colors:\n1."]
greedy = SamplingParams(temperature=0, max_tokens=32)
top_k = SamplingParams(temperature=0.7, top_k=20, max_tokens=32, seed=1)
stopped = SamplingParams(temperature=0, max_tokens=64, stop=["\n", "."], include_stop_str_in_output=False)
for params in (greedy, top_k, stopped):
    for output in llm.generate(prompts, params):
        completion = output.outputs[0]
        print(f"{output.prompt!r} -> {completion.text!r} ({completion.finish_reason}, stop_reason={completion.stop_reason!r})")
