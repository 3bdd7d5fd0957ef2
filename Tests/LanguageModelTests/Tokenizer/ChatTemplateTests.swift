import Foundation
import Testing
@testable import LanguageModel

@Suite struct ChatTemplateTests {
    let template = ChatTemplate.smolLM2

    @Test func defaultSystemMessageIsInsertedBeforeAUserMessage() {
        #expect(template.renderPrompt(user: "What is the capital of France?") ==
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            + "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func explicitSystemMessageReplacesTheDefault() {
        let text = template.render([.system("Be brief."), .user("Hi"), .assistant("Hello."), .user("Bye")],
                                   addGenerationPrompt: false)
        #expect(text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            + "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n")
    }

    @Test func noMessagesRendersOnlyTheGenerationPrompt() {
        #expect(template.render([], addGenerationPrompt: true) == "<|im_start|>assistant\n")
        #expect(template.render([], addGenerationPrompt: false) == "")
    }

    /// The fixtures' chat-formatted prompts are `renderPrompt(user:)` of their user text: the
    /// text between the fixed prefix and suffix.
    @Test(arguments: ["short", "medium", "long"])
    func fixturePromptsAreThisTemplatesOutput(name: String) throws {
        let fixture = try TokenizerTestSupport.loadLogitsFixture(name)
        let userStart = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\n"
        let userEnd = "<|im_end|>\n<|im_start|>assistant\n"
        #expect(template.render([.user("")], addGenerationPrompt: true) == userStart + userEnd)
        try #require(fixture.text.hasPrefix(userStart) && fixture.text.hasSuffix(userEnd))
        let user = String(fixture.text.dropFirst(userStart.count).dropLast(userEnd.count))
        #expect(template.renderPrompt(user: user) == fixture.text)
    }

    @Test func recognisesTheSmolLM2JinjaTemplate() throws {
        let jinja = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
        #expect(try ChatTemplate(jinja: jinja) == .smolLM2)
        let other = jinja.replacingOccurrences(of: "SmolLM, trained by Hugging Face", with: "Bob")
        #expect(try ChatTemplate(jinja: other).defaultSystemMessage == "You are a helpful AI assistant named Bob")
        #expect(try ChatTemplate(jinja: ChatTemplate.jinja(defaultSystemMessage: nil)).defaultSystemMessage == nil)
    }

    @Test func rejectsOtherTemplates() {
        let llama3 = "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}{% endfor %}"
        #expect(throws: TokenizerError.self) { try ChatTemplate(jinja: llama3) }
        #expect((try? ChatTemplate(jinja: "")) == nil)
    }

    // MARK: - Gemma 3

    @Test func gemmaPromptOfOneUserMessage() {
        #expect(ChatTemplate.gemma3.renderPrompt(user: "What is the capital of France?") ==
            "<bos><start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n")
        #expect(ChatTemplate.gemma3.defaultSystemMessage == nil)
        #expect(ChatTemplate.gemma3.format == .gemma3 && ChatTemplate.smolLM2.format
            == .chatML(defaultSystemMessage: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
    }

    /// The system message opens the first turn (untrimmed, then a blank line); `assistant` is
    /// written `model`; each turn's content is trimmed as Python's `str.strip()` trims.
    @Test func gemmaSystemMessageRolesAndTrimming() {
        let text = ChatTemplate.gemma3.render(
            [.system(" Be brief. "), .user("\n Hi\u{3000}\t"), .assistant("\u{1F}Hello.\u{A0}"), .user("Bye")],
            addGenerationPrompt: false)
        #expect(text == "<bos><start_of_turn>user\n Be brief. \n\nHi<end_of_turn>\n"
            + "<start_of_turn>model\nHello.<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n")
        #expect(ChatTemplate.gemma3.render([], addGenerationPrompt: false) == "<bos>")
        #expect(ChatTemplate.gemma3.render([.user("  ")], addGenerationPrompt: true)
            == "<bos><start_of_turn>user\n<end_of_turn>\n<start_of_turn>model\n")
        // Trimming works on scalars: a combining mark after a space keeps the space.
        #expect(ChatTemplate.trimmed(" a \u{301}") == "a \u{301}")
    }

    /// Gemma 3's Jinja text, exactly as the `google/gemma-3-*-it` GGUF files carry it (line breaks
    /// inside string literals real), and with them written as `\n` escapes.
    @Test func recognisesTheGemma3JinjaTemplate() throws {
        #expect(try ChatTemplate(jinja: ChatTemplate.gemma3Jinja) == .gemma3)
        #expect(try ChatTemplate(jinja: ChatTemplate.gemma3JinjaWithEscapes) == .gemma3)
        #expect(ChatTemplate.gemma3JinjaWithEscapes.contains("+ '\\n\\n' -%}"))
        #expect(!ChatTemplate.gemma3JinjaWithEscapes.contains("'\n"))
        #expect(ChatTemplate.gemma3Jinja.hasPrefix("{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- if"))
        #expect(ChatTemplate.gemma3Jinja.hasSuffix("\n    {{'<start_of_turn>model\n'}}\n{%- endif -%}\n"))
        #expect(ChatTemplate.gemma3Jinja.count == 1_532)
        let changed = ChatTemplate.gemma3Jinja.replacingOccurrences(of: "\"model\"", with: "\"assistant\"")
        #expect(throws: TokenizerError.self) { try ChatTemplate(jinja: changed) }
    }

    /// The rendered Gemma prompt encodes with `<bos>`, the turn markers as control tokens and the
    /// user text as llama.cpp encodes it (fixture case 5 holds the turns without `<bos>`).
    @Test func gemmaPromptEncodesToTheFixtureIds() throws {
        let tokenizer = try GemmaTokenizerFixtureTests.loaded.get()
        let fixture = try GemmaTokenizerFixtureTests.fixture()
        let item = try #require(fixture.cases.first { $0.text.hasPrefix("<start_of_turn>user\nWhat is the capital") })
        let prompt = ChatTemplate.gemma3.renderPrompt(user: "What is the capital of France?")
        try #require(item.text == String(prompt.dropFirst("<bos>".count)))
        #expect(tokenizer.encode(prompt) == [2] + item.ids)
    }
}
