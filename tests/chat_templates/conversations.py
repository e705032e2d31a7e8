"""Conversations the conformance test renders through every template. Each has messages and
optionally tools, extra template kwargs, and whether it is a continue_final_message case."""

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
                "days": {"type": "integer", "description": "  Forecast days  "},
            },
            "required": ["city"],
        },
    },
}

SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web (résumé, 東京, \"quotes\").",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to search for"},
                "limit": {"type": ["integer", "null"], "description": "Max results"},
                "filters": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Key/value filters"},
                "tags": {"type": "array", "items": {"type": "string"}, "description": "Tags"},
                "score": {"type": "number", "description": "Minimum score 0.5"},
            },
            "required": ["query"],
        },
    },
}

CALL_DICT = {"id": "call12345", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}
CALL_STR = {"id": "call12345", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"unit\": \"celsius\"}"}}
CALL2_DICT = {"id": "call67890", "type": "function",
              "function": {"name": "search", "arguments": {"query": "雨 ☔", "limit": 3, "score": 0.25}}}

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


CONVERSATIONS = {
    "single_user": {"messages": [user("Hello, how are you?")]},
    "system_user": {"messages": [SYSTEM, user("What is the capital of France?")]},
    "multi_turn_system": {"messages": [SYSTEM, user("Hi"), assistant("Hello! How can I help?"), user("Tell me a joke.")]},
    "multi_turn_no_system": {"messages": [user("One"), assistant("Two"), user("Three"), assistant("Four"), user("Five")]},
    "ends_with_assistant": {"messages": [user("Ping"), assistant("Pong")]},
    "unicode": {"messages": [SYSTEM, user("Emoji 👍🏽👨‍👩‍👧 CJK 漢字かなカナ한국어, e\u0301 café, RTL שלום, ‘quotes’ \"dq\" 'sq' back\\slash {{ not jinja }} {% raw %}"),
                             assistant("Réponse: ✓ ✗ — «ok» \u00a0nbsp\tTab\nNew line"), user("Ещё раз? 🙂")]},
    "empty_content": {"messages": [SYSTEM, user(""), assistant(""), user("Now something.")]},
    "whitespace_content": {"messages": [{"role": "system", "content": "  padded system  \n"}, user("\n  spaced user  \n"),
                                        assistant("   I am an assistant   "), user("tab\tend\t")]},
    "content_parts": {"messages": [{"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
                                   {"role": "user", "content": [{"type": "text", "text": "Describe this."},
                                                                {"type": "text", "text": "And this."}]},
                                   {"role": "assistant", "content": [{"type": "text", "text": "Sure."}]},
                                   {"role": "user", "content": [{"type": "text", "text": "Thanks"}]}]},
    "tools_offered": {"messages": [SYSTEM, user("What's the weather in Paris?")], "tools": [WEATHER_TOOL, SEARCH_TOOL]},
    "tools_offered_no_system": {"messages": [user("Find me news about 東京")], "tools": [SEARCH_TOOL]},
    "tool_call_dict_args": {"messages": [user("Weather in Paris?"), {"role": "assistant", "content": None, "tool_calls": [CALL_DICT]},
                                         {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"temp\": 21, \"sky\": \"clear ☀\"}"},
                                         assistant("It is 21 °C and clear.")],
                            "tools": [WEATHER_TOOL]},
    "tool_call_str_args": {"messages": [SYSTEM, user("Weather in Paris?"), {"role": "assistant", "content": "", "tool_calls": [CALL_STR]},
                                        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "21 degrees"}],
                           "tools": [WEATHER_TOOL]},
    "parallel_tool_calls": {"messages": [user("Weather and news?"), {"role": "assistant", "content": None, "tool_calls": [CALL_DICT, CALL2_DICT]},
                                         {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "sunny"},
                                         {"role": "tool", "tool_call_id": "call67890", "name": "search", "content": "[\"a\", \"b\"]"}],
                            "tools": [WEATHER_TOOL, SEARCH_TOOL]},
    "kwargs_date": {"messages": [SYSTEM, user("What day is it?")], "kwargs": {"date_string": "01 Jan 2025", "custom_flag": True}},
    "continue_final": {"messages": [user("Write a haiku about the sea."), assistant("Waves fold into foam  ")], "continue": True},
    "continue_final_parts": {"messages": [user("Count:"), {"role": "assistant", "content": [{"type": "text", "text": "One, two,"}]}], "continue": True},
}
