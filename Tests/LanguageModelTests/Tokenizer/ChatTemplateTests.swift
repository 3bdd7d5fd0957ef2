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
}
