/// The OpenAPI 3 description of the routes this server serves (`GET /openapi.json`), as FastAPI
/// gives vLLM one. Request schemas list the fields the handlers read; the fuzz test in
/// tests/server generates its requests from it.
enum OpenAPIDocument {
    static let json = #"""
{
 "openapi": "3.0.3",
 "info": {
  "title": "swift-vllm OpenAI-compatible API",
  "version": "0.1.0",
  "description": "vLLM 0.11's OpenAI-compatible endpoints as swift-vllm serves them."
 },
 "paths": {
  "/health": {
   "get": {"summary": "200 while the engine runs", "responses": {"200": {"description": "healthy"}}}
  },
  "/version": {
   "get": {
    "summary": "Server version",
    "responses": {
     "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    }
   }
  },
  "/metrics": {
   "get": {
    "summary": "Prometheus metrics (vllm:* names)",
    "responses": {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}}
   }
  },
  "/v1/models": {
   "get": {
    "summary": "Served models",
    "responses": {
     "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    },
    "security": [{"bearer": []}]
   }
  },
  "/v1/completions": {
   "post": {
    "summary": "Completions (OpenAI legacy, with vLLM's extra sampling fields)",
    "requestBody": {
     "required": true,
     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CompletionRequest"}}}
    },
    "responses": {
     "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
     "400": {
      "description": "OpenAI-style error",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
     },
     "401": {
      "description": "OpenAI-style error",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
     },
     "404": {
      "description": "OpenAI-style error",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
     }
    },
    "security": [{"bearer": []}]
   }
  },
  "/v1/chat/completions": {
   "post": {
    "summary": "Chat completions",
    "requestBody": {
     "required": true,
     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletionRequest"}}}
    },
    "responses": {
     "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
     "400": {
      "description": "OpenAI-style error",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
     },
     "401": {
      "description": "OpenAI-style error",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
     },
     "404": {
      "description": "OpenAI-style error",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
     }
    },
    "security": [{"bearer": []}]
   }
  },
  "/tokenize": {
   "post": {
    "summary": "Tokenize a prompt or a conversation",
    "requestBody": {
     "required": true,
     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenizeRequest"}}}
    },
    "responses": {
     "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
     "400": {
      "description": "OpenAI-style error",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
     },
     "401": {
      "description": "OpenAI-style error",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
     },
     "404": {
      "description": "OpenAI-style error",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
     }
    }
   }
  },
  "/detokenize": {
   "post": {
    "summary": "Turn token ids into text",
    "requestBody": {
     "required": true,
     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DetokenizeRequest"}}}
    },
    "responses": {
     "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
     "400": {
      "description": "OpenAI-style error",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
     },
     "401": {
      "description": "OpenAI-style error",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
     },
     "404": {
      "description": "OpenAI-style error",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
     }
    }
   }
  }
 },
 "components": {
  "schemas": {
   "StreamOptions": {
    "type": "object",
    "properties": {"include_usage": {"type": "boolean"}, "continuous_usage_stats": {"type": "boolean"}}
   },
   "TextPart": {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"type": "string", "enum": ["text"]}, "text": {"type": "string"}}
   },
   "ChatMessage": {
    "type": "object",
    "required": ["role"],
    "properties": {
     "role": {"type": "string"},
     "content": {
      "oneOf": [
       {"type": "string"},
       {"type": "array", "items": {"$ref": "#/components/schemas/TextPart"}}
      ],
      "nullable": true
     },
     "name": {"type": "string"},
     "tool_call_id": {"type": "string"},
     "tool_calls": {"type": "array", "items": {"type": "object"}}
    }
   },
   "CompletionRequest": {
    "allOf": [
     {"$ref": "#/components/schemas/GenerationFields"},
     {
      "type": "object",
      "required": ["prompt"],
      "properties": {
       "prompt": {
        "oneOf": [
         {"type": "string"},
         {"type": "array", "items": {"type": "string"}},
         {"type": "array", "items": {"type": "integer"}},
         {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}
        ]
       },
       "logprobs": {"type": "integer"},
       "suffix": {"type": "string"}
      }
     }
    ]
   },
   "ChatCompletionRequest": {
    "allOf": [
     {"$ref": "#/components/schemas/GenerationFields"},
     {
      "type": "object",
      "required": ["messages"],
      "properties": {
       "messages": {"type": "array", "items": {"$ref": "#/components/schemas/ChatMessage"}},
       "max_completion_tokens": {"type": "integer"},
       "logprobs": {"type": "boolean"},
       "top_logprobs": {"type": "integer"},
       "response_format": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}},
       "add_generation_prompt": {"type": "boolean"},
       "continue_final_message": {"type": "boolean"},
       "chat_template": {"type": "string"},
       "chat_template_kwargs": {"type": "object"},
       "tools": {
        "type": "array",
        "items": {
         "type": "object",
         "required": ["type", "function"],
         "properties": {
          "type": {"type": "string"},
          "function": {
           "type": "object",
           "required": ["name"],
           "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "parameters": {"type": "object"}
           }
          }
         }
        }
       },
       "tool_choice": {
        "oneOf": [
         {"type": "string", "enum": ["none", "auto", "required"]},
         {
          "type": "object",
          "required": ["type", "function"],
          "properties": {
           "type": {"type": "string"},
           "function": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
          }
         }
        ]
       },
       "parallel_tool_calls": {"type": "boolean"}
      }
     }
    ]
   },
   "TokenizeRequest": {
    "type": "object",
    "properties": {
     "model": {"type": "string"},
     "prompt": {"type": "string"},
     "messages": {"type": "array", "items": {"$ref": "#/components/schemas/ChatMessage"}},
     "add_special_tokens": {"type": "boolean"},
     "add_generation_prompt": {"type": "boolean"},
     "continue_final_message": {"type": "boolean"},
     "return_token_strs": {"type": "boolean"},
     "chat_template": {"type": "string"},
     "tools": {"type": "array", "items": {"type": "object"}},
     "chat_template_kwargs": {"type": "object"}
    }
   },
   "DetokenizeRequest": {
    "type": "object",
    "required": ["tokens"],
    "properties": {"model": {"type": "string"}, "tokens": {"type": "array", "items": {"type": "integer"}}}
   },
   "ErrorResponse": {
    "type": "object",
    "required": ["error"],
    "properties": {
     "error": {
      "type": "object",
      "required": ["message", "type", "code"],
      "properties": {
       "message": {"type": "string"},
       "type": {"type": "string"},
       "param": {"type": "string", "nullable": true},
       "code": {"type": "integer"}
      }
     }
    }
   },
   "GenerationFields": {
    "type": "object",
    "description": "Fields both generation routes read at the top level of the body.",
    "properties": {
     "n": {"type": "integer"},
     "temperature": {"type": "number"},
     "top_p": {"type": "number"},
     "top_k": {"type": "integer"},
     "min_p": {"type": "number"},
     "presence_penalty": {"type": "number"},
     "frequency_penalty": {"type": "number"},
     "repetition_penalty": {"type": "number"},
     "seed": {"type": "integer"},
     "stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
     "stop_token_ids": {"type": "array", "items": {"type": "integer"}},
     "include_stop_str_in_output": {"type": "boolean"},
     "ignore_eos": {"type": "boolean"},
     "min_tokens": {"type": "integer"},
     "logit_bias": {"type": "object", "additionalProperties": {"type": "number"}},
     "allowed_token_ids": {"type": "array", "items": {"type": "integer"}},
     "bad_words": {"type": "array", "items": {"type": "string"}},
     "skip_special_tokens": {"type": "boolean"},
     "spaces_between_special_tokens": {"type": "boolean"},
     "best_of": {"type": "integer"},
     "prompt_logprobs": {"type": "integer"},
     "priority": {"type": "integer"},
     "request_id": {"type": "string"},
     "add_special_tokens": {"type": "boolean"},
     "stream": {"type": "boolean"},
     "stream_options": {"$ref": "#/components/schemas/StreamOptions"},
     "max_tokens": {"type": "integer"},
     "model": {"type": "string"},
     "echo": {"type": "boolean"},
     "use_beam_search": {"type": "boolean"},
     "length_penalty": {"type": "number"},
     "early_stopping": {"oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["never"]}]},
     "detokenize": {"type": "boolean"}
    }
   }
  },
  "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
 }
}
"""#
}
