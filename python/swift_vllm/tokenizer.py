"""`LLM.get_tokenizer()`: the engine's own tokenizer, with the methods vLLM scripts call."""
import json


class Tokenizer:
    def __init__(self, engine, info):
        self._engine = engine
        self.vocab_size = info["vocab_size"]
        self.eos_token_id = info["eos_token_id"]
        self.bos_token_id = info["bos_token_id"]
        self.chat_template = info["chat_template"]

    def __len__(self):
        return self.vocab_size

    def encode(self, text: str, add_special_tokens: bool = True) -> list:
        if not isinstance(text, str):
            raise TypeError(f"encode() takes a str, got {type(text).__name__}")
        return self._engine.call("encode", {"text": text, "add_special_tokens": add_special_tokens})

    def __call__(self, text, add_special_tokens: bool = True):
        return {"input_ids": self.encode(text, add_special_tokens)}

    def decode(self, token_ids, skip_special_tokens: bool = False) -> str:
        ids = list(token_ids)
        if not all(isinstance(t, int) and not isinstance(t, bool) for t in ids):
            raise TypeError("decode() takes a list of int")
        return self._engine.call("decode", {"token_ids": ids, "skip_special_tokens": skip_special_tokens})

    def apply_chat_template(self, conversation, tools=None, chat_template=None, add_generation_prompt: bool = False,
                            continue_final_message: bool = False, tokenize: bool = True, **kwargs):
        body = json.dumps({"messages": conversation, "tools": tools, "chat_template_kwargs": kwargs or None})
        [text] = self._engine.call("chat_prompts", {"conversations": [body], "chat_template": chat_template,
                                                    "add_generation_prompt": add_generation_prompt,
                                                    "continue_final_message": continue_final_message})
        return self.encode(text, add_special_tokens=False) if tokenize else text
