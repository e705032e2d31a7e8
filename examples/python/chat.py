# LLM.chat: conversations rendered through the model's chat template, then generated.
from vllm import LLM, SamplingParams

llm = LLM(model="HuggingFaceTB/SmolLM2-135M-Instruct")
conversation = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
outputs = llm.chat(conversation, SamplingParams(temperature=0, max_tokens=32))
print(outputs[0].outputs[0].text)
