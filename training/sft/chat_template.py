"""Qwen's ChatML template, tokenized with the loss on assistant tokens only (paper §4.1.2).

A conversation of ``messages`` (``{"role": "system"|"user"|"assistant", "content": str}``) becomes::

    <|im_start|>system\\n{system}<|im_end|>\\n<|im_start|>user\\n{user}<|im_end|>\\n
    <|im_start|>assistant\\n{assistant}<|im_end|>\\n ...

as Qwen2's own chat template renders it, including its default system prompt when the conversation
has none. Every message is tokenized on its own, so a label boundary never falls inside a token. The
labels are the assistant contents and their closing ``<|im_end|>`` (so the model learns to stop);
everything else, role headers and the newline after ``<|im_end|>`` included, is -100.
"""

from __future__ import annotations

from typing import List, Sequence

from training.sft.packing import IGNORE_INDEX, TokenizedExample

DEFAULT_SYSTEM = "You are a helpful assistant."  # Qwen2's chat template default
ROLES = ("system", "user", "assistant")


class ChatMLFormatError(ValueError):
    """A conversation the template cannot render: its reason names what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChatML:
    def __init__(self, tokenizer, default_system: str = DEFAULT_SYSTEM) -> None:
        self.tokenizer = tokenizer
        self.default_system = default_system
        self.im_start = tokenizer.token_to_id("<|im_start|>")
        self.im_end = tokenizer.token_to_id("<|im_end|>")
        self.pad = tokenizer.token_to_id("<|endoftext|>")
        if None in (self.im_start, self.im_end, self.pad):
            raise ValueError("tokenizer: no <|im_start|>, <|im_end|> or <|endoftext|> token (not a Qwen tokenizer)")
        self.newline = self._encode("\n")

    def _encode(self, text: str) -> List[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def render(self, messages: Sequence[dict]) -> str:
        """The conversation as text (for inspection; training uses :meth:`tokenize`)."""
        messages = self._with_system(messages)
        return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)

    def _with_system(self, messages: Sequence[dict]) -> List[dict]:
        messages = list(messages)
        for message in messages:
            if not isinstance(message, dict) or message.get("role") not in ROLES \
                    or not isinstance(message.get("content"), str):
                raise ChatMLFormatError("format:bad_message")
        if not any(m["role"] == "assistant" for m in messages):
            raise ChatMLFormatError("format:no_assistant_turn")
        if messages[0]["role"] != "system" and self.default_system:
            messages.insert(0, {"role": "system", "content": self.default_system})
        return messages

    def tokenize(self, messages: Sequence[dict]) -> TokenizedExample:
        input_ids: List[int] = []
        labels: List[int] = []
        for message in self._with_system(messages):
            header = [self.im_start] + self._encode(f"{message['role']}\n")
            content = self._encode(message["content"]) + [self.im_end]
            input_ids += header + content + self.newline
            trained = message["role"] == "assistant"
            labels += [IGNORE_INDEX] * len(header) + (content if trained else [IGNORE_INDEX] * len(content)) \
                + [IGNORE_INDEX] * len(self.newline)
        return TokenizedExample(tuple(input_ids), tuple(labels))


    def tokenize_response(self, prompt: Sequence[dict], response: str) -> TokenizedExample:
        """``prompt`` followed by the assistant ``response``, labelled on the response (and its
        ``<|im_end|>``) only: earlier assistant turns of the prompt are context (DPO)."""
        example = self.tokenize(list(prompt) + [{"role": "assistant", "content": response}])
        trained = len(self._encode(response)) + 1
        end = len(example.input_ids) - len(self.newline)
        labels = [IGNORE_INDEX] * (end - trained) + list(example.labels[end - trained:end]) + \
            [IGNORE_INDEX] * len(self.newline)
        return TokenizedExample(example.input_ids, tuple(labels))


__all__ = ["ChatML", "ChatMLFormatError", "DEFAULT_SYSTEM"]
