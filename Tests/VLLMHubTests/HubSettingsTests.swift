import Foundation
import Testing
@testable import VLLMHub

/// The environment variables huggingface_hub reads, with its precedence.
@Suite struct HubSettingsTests {
    @Test(arguments: [
        (["HOME": "/h"], "/h/.cache/huggingface/hub"),
        (["HOME": "/h", "XDG_CACHE_HOME": "/x"], "/x/huggingface/hub"),
        (["HOME": "/h", "XDG_CACHE_HOME": "/x", "HF_HOME": "/hf"], "/hf/hub"),
        (["HOME": "/h", "HF_HOME": "~/hf"], "/h/hf/hub"),
        (["HOME": "/h", "HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy"], "/legacy"),
        (["HOME": "/h", "HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy", "HF_HUB_CACHE": "/c"], "/c"),
        (["HOME": "/h", "HF_HUB_CACHE": "", "HF_HOME": "/hf"], "/hf/hub"),
    ])
    func cacheRootPrecedence(environment: [String: String], expected: String) {
        #expect(HubSettings(environment: environment).cacheRoot == expected)
    }

    @Test func endpointDefaultsToThePublicHubAndLosesTrailingSlashes() {
        #expect(HubSettings(environment: ["HOME": "/h"]).endpoint == HubSettings.defaultEndpoint)
        #expect(HubSettings(environment: ["HOME": "/h", "HF_ENDPOINT": "http://mirror.test:8080//"]).endpoint == "http://mirror.test:8080")
    }

    @Test(arguments: [("1", true), ("true", true), ("YES", true), ("On", true), ("0", false), ("false", false), ("", false), ("no", false)])
    func offlineValues(value: String, expected: Bool) {
        #expect(HubSettings(environment: ["HOME": "/h", "HF_HUB_OFFLINE": value]).offline == expected)
    }

    @Test func transformersOfflineCountsToo() {
        #expect(HubSettings(environment: ["HOME": "/h", "TRANSFORMERS_OFFLINE": "1"]).offline)
        #expect(!HubSettings(environment: ["HOME": "/h"]).offline)
    }

    @Test func tokenFromVariableThenTokenFile() async throws {
        try await withTemporaryDirectory { dir in
            let base = ["HOME": dir, "HF_HOME": dir + "/hf"]
            #expect(HubSettings(environment: base).token == nil)
            try write("hf_from_file\n", to: dir + "/hf/token")
            #expect(HubSettings(environment: base).token == "hf_from_file")
            #expect(HubSettings(environment: base.merging(["HF_TOKEN": "hf_env"]) { $1 }).token == "hf_env")
            #expect(HubSettings(environment: base.merging(["HUGGING_FACE_HUB_TOKEN": "hf_legacy"]) { $1 }).token == "hf_legacy")
            try write("  hf_elsewhere  ", to: dir + "/elsewhere")
            #expect(HubSettings(environment: base.merging(["HF_TOKEN_PATH": dir + "/elsewhere"]) { $1 }).token == "hf_elsewhere")
            // XDG_CACHE_HOME moves the default HF_HOME, and so the token file.
            try write("hf_xdg", to: dir + "/xdg/huggingface/token")
            #expect(HubSettings(environment: ["HOME": dir, "XDG_CACHE_HOME": dir + "/xdg"]).token == "hf_xdg")
        }
    }
}
