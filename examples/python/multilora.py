# Several LoRA adapters in one batch, each prompt naming its own (vLLM's multilora example).
import sys

from vllm import LLM, SamplingParams
from vllm.lora.request import LoRARequest

sql_lora_path, chat_lora_path = sys.argv[1], sys.argv[2]
llm = LLM(model="HuggingFaceTB/SmolLM2-135M-Instruct", enable_lora=True, max_lora_rank=8, max_loras=2)
params = SamplingParams(temperature=0, max_tokens=16)
prompts = ["[user] Write a SQL query to count users [/user] [assistant]", "Tell me a joke:", "Hello"]
loras = [LoRARequest("sql", 1, sql_lora_path), LoRARequest("chat", 2, chat_lora_path), None]
for output, lora in zip(llm.generate(prompts, params, lora_request=loras), loras):
    print(f"{lora.lora_name if lora else 'base'}: {output.outputs[0].text!r}")
