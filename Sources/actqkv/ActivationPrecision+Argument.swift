import ArgumentParser
import LanguageModel

/// `--activations q8|f32` on the commands that run the model.
extension ActivationPrecision: ExpressibleByArgument {}

/// Help text of `--activations`, shared by the commands that run the model.
let activationsHelp = ArgumentHelp(
    "Activations in products with Q4_1/Q8_0 weights: q8 (llama.cpp's arithmetic, 8-bit blocks and integer dot products) or f32 (exact).")
