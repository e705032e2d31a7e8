import Testing
@testable import VLLMJinja

@Suite struct WhitespaceTests {
    @Test func trimBlocksAndLstripBlocks() throws {
        #expect(try render("a\n  {% if true %}\n  b\n  {% endif %}\n  c\n") == "a\n  b\n  c")
        // lstrip applies to block and comment tags, not to {{ }}.
        #expect(try render("  {{ 'v' }}\n") == "  v")
        #expect(try render("x\n    {# note #}\ny") == "x\ny")
    }

    @Test func manualStripping() throws {
        #expect(try render("a  {%- if true -%}  b  {%- endif -%}  c") == "abc")
        #expect(try render("a \n {{- 'b' -}} \n c") == "abc")
        #expect(try render("a {#- c -#} b") == "ab")
    }

    @Test func plusModifiersDisableTrimming() throws {
        #expect(try render("  {%+ if true %}x{% endif +%}\ny") == "  x\ny")
    }

    @Test func commentsAndRaw() throws {
        #expect(try render("a{# {{ ignored }} #}b") == "ab")
        #expect(try render("{% raw %}{{ x }}{% endraw %}") == "{{ x }}")
    }

    @Test func newlinesAreNormalizedAndOneTrailingNewlineDropped() throws {
        #expect(try render("a\r\nb\rc\n") == "a\nb\nc")
        #expect(try render("a\n\n") == "a\n")
    }
}
