import Foundation
import LanguageModel

/// How a document and a question become one prompt, and where the shared prefix and the
/// question span are.
///
/// Layout (token ids; each part tokenized on its own, so the document's tokens never depend on
/// the question):
/// - chat: `encode(head + document + "\n\n")` ‖ `encode(question)` ‖ `encode(tail)`, where head and
///   tail are the chat template around the user message (system message, `<|im_start|>user\n` …
///   `<|im_end|>\n<|im_start|>assistant\n`): the user message is the document, a blank line and
///   the question.
/// - plain (completion, for base models): `encode(document + "\n\n")` ‖ `encode(question)` ‖
///   `encode("\n" + answerPrefix)`, where the answer prefix (e.g. "The pass key is") is the text
///   the model continues; without one the last part is `encode("\n")`.
/// Without a question only the first part (without the blank line) and, for chat, the tail.
/// The first part starts with BOS when the tokenizer asks for it (`add_bos_token`) and the
/// chat template does not write it itself.
///
/// The question span is the question's tokens; the shared prefix is the first part (the same for
/// every question about the same document), which is what a named session stores once.
public struct PromptLayout: Sendable, Hashable {
    /// The whole prompt.
    public var tokens: [Int32]
    /// Positions of the question's tokens (nil without a question).
    public var questionSpan: Range<Int>?
    /// Tokens of the document part (shared by every question about the same document).
    public var sharedPrefixCount: Int

    /// A layout of raw parts.
    public init(tokens: [Int32], questionSpan: Range<Int>?, sharedPrefixCount: Int) {
        self.tokens = tokens; self.questionSpan = questionSpan; self.sharedPrefixCount = sharedPrefixCount
    }

    /// The completion form of a benchmark prompt: `encode(document)` ‖ `encode(question)` ‖
    /// `encode(answerPrefix)`, exactly the given text with no separator added (RULER's templates
    /// carry their own line breaks). BOS as in the plain layout; no chat template.
    public init(completionDocument document: String, question: String, answerPrefix: String, tokenizer: Tokenizer) {
        let first = tokenizer.encode(document, addBOS: tokenizer.addBOSByDefault)
        let q = tokenizer.encode(question)
        tokens = first + q + tokenizer.encode(answerPrefix)
        questionSpan = first.count..<(first.count + q.count)
        sharedPrefixCount = first.count
    }

    /// Builds the layout described above with `tokenizer` (and `template` for chat prompts;
    /// `answerPrefix` is used by plain layouts only).
    public init(document: String, question: String?, tokenizer: Tokenizer, template: ChatTemplate?, answerPrefix: String? = nil) {
        var head = "", tail = ""
        if let template {
            let marker = "\u{1}ACTQKV-USER-MESSAGE\u{1}"
            let full = template.renderPrompt(user: marker)
            let parts = full.components(separatedBy: marker)
            head = parts.first ?? ""
            tail = parts.count > 1 ? parts[1] : ""
        }
        let bos = tokenizer.addBOSByDefault && !(tokenizer.bos.map { tokenizer.encode(head).first == $0 } ?? false)
        if let question, !question.isEmpty {
            let first = tokenizer.encode(head + document + "\n\n", addBOS: bos)
            let q = tokenizer.encode(question)
            let last = tokenizer.encode(template == nil ? "\n" + (answerPrefix ?? "") : tail)
            tokens = first + q + last
            questionSpan = first.count..<(first.count + q.count)
            sharedPrefixCount = first.count
        } else {
            let first = tokenizer.encode(head + document, addBOS: bos)
            tokens = first + (tail.isEmpty ? [] : tokenizer.encode(tail))
            questionSpan = nil
            sharedPrefixCount = first.count
        }
    }
}
