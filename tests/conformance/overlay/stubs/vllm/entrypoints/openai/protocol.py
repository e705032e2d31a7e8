from typing import Any, Optional

from pydantic import BaseModel


# The OpenAI Batch API's output line (https://platform.openai.com/docs/api-reference/batch),
# the shape vLLM's run-batch writes.
class BatchResponseData(BaseModel):
    status_code: int = 200
    request_id: str
    body: Optional[Any] = None


class BatchRequestOutput(BaseModel):
    id: str
    custom_id: str
    response: Optional[BatchResponseData]
    error: Optional[Any]
