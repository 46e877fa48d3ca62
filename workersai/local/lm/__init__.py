"""SmolLM2-135M-Instruct in numpy: the emulator's language model (weights, tokenizer, forward pass)."""
