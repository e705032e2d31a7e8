// Teacher-forced log-probabilities from llama.cpp itself, for scripts/make-quant-teacher-fixtures.py:
// decodes the given token ids in one batch (every position's logits kept) and prints, per
// position, llama.cpp's five most likely next tokens with their log-softmax values, as JSON.
// Usage: llama-teacher-logprobs MODEL.gguf THREADS ID[,ID...]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "llama.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s MODEL.gguf THREADS ID[,ID...]\n", argv[0]);
        return 2;
    }
    std::vector<llama_token> tokens;
    std::stringstream list(argv[3]);
    for (std::string id; std::getline(list, id, ',');) tokens.push_back(std::stoi(id));
    const int threads = std::atoi(argv[2]);

    llama_backend_init();
    llama_model *model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) return 1;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = cp.n_batch = cp.n_ubatch = (uint32_t)tokens.size();
    cp.n_threads = cp.n_threads_batch = threads;
    llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) return 1;

    llama_batch batch = llama_batch_init((int32_t)tokens.size(), 0, 1);
    for (size_t i = 0; i < tokens.size(); i++) {
        batch.token[i] = tokens[i];
        batch.pos[i] = (llama_pos)i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = (int32_t)tokens.size();
    if (llama_decode(ctx, batch) != 0) return 1;

    const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    std::printf("[");
    for (size_t i = 0; i < tokens.size(); i++) {
        const float *logits = llama_get_logits_ith(ctx, (int32_t)i);
        double mx = *std::max_element(logits, logits + vocab), sum = 0;
        for (int v = 0; v < vocab; v++) sum += std::exp((double)logits[v] - mx);
        const double lse = mx + std::log(sum);
        std::vector<int> ids(vocab);
        std::iota(ids.begin(), ids.end(), 0);
        std::partial_sort(ids.begin(), ids.begin() + 5, ids.end(),
                          [&](int a, int b) { return logits[a] > logits[b]; });
        std::printf("%s{\"ids\":[", i ? ",\n" : "");
        for (int k = 0; k < 5; k++) std::printf("%s%d", k ? "," : "", ids[k]);
        std::printf("],\"logprobs\":[");
        for (int k = 0; k < 5; k++) std::printf("%s%.9g", k ? "," : "", logits[ids[k]] - lse);
        std::printf("]}");
    }
    std::printf("]\n");
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
