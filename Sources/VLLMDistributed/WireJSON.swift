import Foundation

/// The JSON the parallel ranks' messages use (requests and outputs to data-parallel replicas,
/// sampling state and tokens between pipeline stages). Logprobs may be -inf (a token a grammar
/// or a bias rules out), which plain JSON cannot carry: non-finite numbers travel as strings.
public enum WireJSON {
    public static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return Array(try encoder.encode(value)) } catch {
            fatalError("parallel ranks' message: cannot encode \(T.self) (\(error))")
        }
    }

    /// A message from a rank of the same build (the world checked it): one that does not decode
    /// is a bug, which stops the process.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try decoder.decode(type, from: Data(bytes)) } catch {
            fatalError("parallel ranks' message: cannot decode \(T.self) (\(error))")
        }
    }
}
