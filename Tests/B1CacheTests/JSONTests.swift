import B1Cache
import Foundation
import Testing

@Suite(.perTestTimeLimit) struct JSONTests {
    @Test func numbersKeepTheirLiteralText() throws {
        let value = try JSONParser.parse(#"{"a": 12.50, "b": 12345678901234567890123, "c": -0.0, "d": 1e-7}"#)
        #expect(value["a"] == .number("12.50"))
        #expect(value["b"] == .number("12345678901234567890123"))
        #expect(JSONWriter.compactString(value) == #"{"a":12.50,"b":12345678901234567890123,"c":-0.0,"d":1e-7}"#)
    }

    @Test func prettyOutputMatchesPythonSortKeysIndentTwo() throws {
        let text = #"{"z": [1, {"y": "é\n\"q\"", "x": []}], "a": {}, "m": null, "t": true}"#
        let value = try JSONParser.parse(text)
        let expected = """
            {
              "a": {},
              "m": null,
              "t": true,
              "z": [
                1,
                {
                  "x": [],
                  "y": "é\\n\\"q\\""
                }
              ]
            }

            """
        #expect(String(decoding: JSONWriter.prettyData(value), as: UTF8.self) == expected)
    }

    @Test func escapesRoundTrip() throws {
        let original = JSONValue.string("tab\t nul\u{0} bell\u{7} quote\" slash\\ emoji 🧾 \u{2028}")
        let text = JSONWriter.compactString(original)
        #expect(text.contains("\\u0000") && text.contains("\\u0007"))
        #expect(try JSONParser.parse(text) == original)
        #expect(try JSONParser.parse(#""\ud83e\uddfe \/""#) == .string("🧾 /"))
    }

    @Test(arguments: [
        ("", "unexpected end of input"), ("{\"a\": 1", "unexpected end"), ("[1,]", "unexpected character"),
        ("{\"a\" 1}", "expected ':'"), ("01", "unexpected text"), ("1.", "invalid number"), ("\"\u{1}\"", "control"),
        ("tru", "unexpected end"), ("[1] x", "unexpected text"), ("\"\\ud800\"", "surrogate"), ("{1: 2}", "string key"),
        ("\"\\x\"", "invalid escape"), ("nul\u{0}", "invalid literal"),
    ])
    func malformedTextIsRefusedWithAReason(text: String, reason: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        do {
            _ = try JSONParser.parse(text)
        } catch {
            #expect(error.message.contains(reason), "\(error)")
        }
    }

    @Test func errorsGiveLineAndColumn() {
        do {
            _ = try JSONParser.parse("{\n  \"a\": 1,\n  \"b\": ?\n}")
            Issue.record("parsed")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 8)
        }
    }

    @Test func invalidUTF8IsRefused() {
        var bytes = Array(#"{"a": "x"#.utf8)
        bytes += [0xC3, 0x28]
        bytes += Array(#""}"#.utf8)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Data(bytes)) }
    }

    @Test func deepNestingIsRefusedNotRecursedInto() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONParser.parse(fine)) != nil)
    }

    @Test func duplicateKeysKeepTheLastLikeJq() throws {
        let value = try JSONParser.parse(#"{"b": 1, "a": 2, "b": 3}"#)
        #expect(JSONWriter.compactString(value) == #"{"a":2,"b":3}"#)
    }

    @Test func objectSubscriptKeepsKeysSorted() {
        var object: JSONObject = ["m": 1]
        object["z"] = 2
        object["a"] = 3
        object["m"] = nil
        #expect(object.keys == ["a", "z"])
        #expect(JSONValue.double(15.0) == .number("15"))
        #expect(JSONValue.double(0.125) == .number("0.125"))
    }
}
