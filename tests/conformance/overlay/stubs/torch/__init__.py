"""Constants the test files read from torch at import or collection time (no tensors)."""
import types

long = "torch.int64"
float32, bfloat16, float16 = "torch.float32", "torch.bfloat16", "torch.float16"
strided, sparse_coo, sparse_csc, sparse_csr = "torch.strided", "torch.sparse_coo", "torch.sparse_csc", "torch.sparse_csr"
dtype = layout = str


def iinfo(kind):
    assert kind == long, kind
    return types.SimpleNamespace(min=-(2 ** 63), max=2 ** 63 - 1, bits=64)
