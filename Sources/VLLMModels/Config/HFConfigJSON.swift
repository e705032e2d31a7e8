import Foundation

/// A Hugging Face `config.json` object with typed, checked access (JSON numbers arrive as
/// NSNumber: booleans and numbers written with a fraction are told apart from integers).
struct HFConfigJSON {
    let object: [String: Any]
    let path: String

    /// config.json files are a few KB; anything far larger is not one.
    static let maxBytes = 16 << 20

    init(object: [String: Any], path: String) {
        self.object = object
        self.path = path
    }

    init(path: String) throws(ModelLoadError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .cannotOpen(path: path, reason: "cannot read it")
        }
        guard data.count <= Self.maxBytes else { throw .corrupt(path: path, reason: "\(data.count) bytes is too large for a config file") }
        guard let any = try? JSONSerialization.jsonObject(with: data), let object = any as? [String: Any] else {
            throw .corrupt(path: path, reason: "not a JSON object")
        }
        self.init(object: object, path: path)
    }

    func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    func int(_ key: String) -> Int? {
        guard let n = object[key] as? NSNumber, !Self.isBool(n) else { return nil }
        let d = n.doubleValue
        guard d.rounded() == d, abs(d) < 1e15 else { return nil }
        return Int(d)
    }

    func double(_ key: String) -> Double? {
        guard let n = object[key] as? NSNumber, !Self.isBool(n) else { return nil }
        return n.doubleValue
    }

    func bool(_ key: String) -> Bool? {
        guard let n = object[key] as? NSNumber, Self.isBool(n) else { return nil }
        return n.boolValue
    }

    func string(_ key: String) -> String? { object[key] as? String }

    func strings(_ key: String) -> [String]? { object[key] as? [String] }

    /// A list of numbers (booleans refused).
    func doubles(_ key: String) -> [Double]? {
        guard let a = object[key] as? [NSNumber], !a.contains(where: Self.isBool) else { return nil }
        return a.map(\.doubleValue)
    }

    func nested(_ key: String) -> HFConfigJSON? {
        (object[key] as? [String: Any]).map { HFConfigJSON(object: $0, path: path) }
    }

    private static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    var reader: ConfigReader {
        ConfigReader(path: path, lookup: { int($0) }, present: { has($0) })
    }
}
