/// One sample line of Prometheus' text exposition format:
/// `name{label="value",...} value`.
struct PrometheusSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Reads Prometheus' text format (version 0.0.4), as the registry emits it,
/// back into samples: the dashboard's sampler reads the same text a scraper
/// does, so the charts show exactly what `/metrics` serves.
enum PrometheusText {
    /// The samples of `text`; comment lines (`# HELP`, `# TYPE`) and blank
    /// lines are skipped. A malformed line is an error naming its number and
    /// text (the tests use this to check `/metrics` parses).
    static func parse(_ text: String) throws -> [PrometheusSample] {
        var samples: [PrometheusSample] = []
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let sample = parseLine(Substring(line)) else {
                throw PrometheusTextError(line: number, text: String(line))
            }
            samples.append(sample)
        }
        return samples
    }

    /// One sample line, or nil if it is not one.
    static func parseLine(_ line: Substring) -> PrometheusSample? {
        var i = line.startIndex
        func isNameChar(_ c: Character, first: Bool) -> Bool {
            c == "_" || c == ":" || (c.isASCII && c.isLetter) || (!first && c.isASCII && c.isNumber)
        }
        let nameStart = i
        while i < line.endIndex, isNameChar(line[i], first: i == nameStart) { i = line.index(after: i) }
        guard i > nameStart else { return nil }
        let name = String(line[nameStart..<i])
        var labels: [String: String] = [:]
        if i < line.endIndex, line[i] == "{" {
            i = line.index(after: i)
            while i < line.endIndex, line[i] != "}" {
                let keyStart = i
                while i < line.endIndex, isNameChar(line[i], first: i == keyStart), line[i] != ":" { i = line.index(after: i) }
                guard i > keyStart, i < line.endIndex, line[i] == "=" else { return nil }
                let key = String(line[keyStart..<i])
                i = line.index(after: i)
                guard i < line.endIndex, line[i] == "\"" else { return nil }
                i = line.index(after: i)
                var value = ""
                while i < line.endIndex, line[i] != "\"" {
                    if line[i] == "\\" {
                        i = line.index(after: i)
                        guard i < line.endIndex else { return nil }
                        switch line[i] {
                        case "n": value.append("\n")
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        default: return nil
                        }
                    } else {
                        value.append(line[i])
                    }
                    i = line.index(after: i)
                }
                guard i < line.endIndex else { return nil }
                i = line.index(after: i)   // closing quote
                labels[key] = value
                if i < line.endIndex, line[i] == "," { i = line.index(after: i) }
            }
            guard i < line.endIndex else { return nil }
            i = line.index(after: i)   // "}"
        }
        guard i < line.endIndex, line[i] == " " else { return nil }
        let rest = line[line.index(after: i)...].split(separator: " ")
        // A value, optionally followed by a timestamp (integer milliseconds).
        guard let valueText = rest.first, rest.count <= 2 else { return nil }
        if rest.count == 2, Int64(rest[1]) == nil { return nil }
        let value: Double
        switch valueText {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let v = Double(valueText) else { return nil }
            value = v
        }
        return PrometheusSample(name: name, labels: labels, value: value)
    }
}

/// A line of `/metrics` that is neither a comment nor `name{labels} value`.
struct PrometheusTextError: Error, CustomStringConvertible {
    var line: Int
    var text: String
    var description: String { "Prometheus text, line \(line): not a sample line: \(text)" }
}
