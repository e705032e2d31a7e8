# Parallel sampling: n completions per prompt, the best n of best_of by cumulative logprob,
# with logprobs of each token.
from vllm import LLM, SamplingParams

llm = LLM(model="HuggingFaceTB/SmolLM2-135M-Instruct")
params = SamplingParams(n=3, best_of=5, temperature=0.9, max_tokens=24, seed=42, logprobs=2)
for output in llm.generate(["Write a short poem about the sea:"], params):
    for completion in output.outputs:
        first = completion.logprobs[0]
        print(f"[{completion.index}] {completion.text!r} first-token candidates: "
              f"{ {t: round(l.logprob, 3) for t, l in first.items()} }")
