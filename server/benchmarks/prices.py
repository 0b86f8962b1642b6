"""What models cost: USD per million input and output tokens, from the providers' public price lists
(late 2025). A run record's cost is estimated from it and checked against what the agent reported.
A model not in the table is priced at ``DEFAULT`` and said to be unknown."""

from __future__ import annotations

# Longest matching prefix wins: "gpt-4o-mini-2024-07-18" is "gpt-4o-mini", not "gpt-4o".
PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-haiku-4": (1.00, 5.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
    "gemini-2.0-flash": (0.10, 0.40),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-pro": (1.25, 10.00),
    "llama-3.1-8b": (0.18, 0.18),
    "llama-3.1-70b": (0.88, 0.88),
    "mistral-large": (2.00, 6.00),
    "deepseek-chat": (0.27, 1.10),
}
DEFAULT = (1.00, 4.00)
_BY_LENGTH = sorted(PER_MILLION, key=len, reverse=True)


def price(model: str | None) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None for a model the table does not know."""
    if not model:
        return None
    name = model.strip().lower().rpartition("/")[2]  # "openai/gpt-4o" is "gpt-4o"
    for known in _BY_LENGTH:
        if name.startswith(known):
            return PER_MILLION[known]
    return None


def known(model: str | None) -> bool:
    return price(model) is not None


def cost(model: str | None, input_tokens: int, output_tokens: int) -> float:
    """USD for these tokens on ``model`` (``DEFAULT`` prices when unknown)."""
    inp, out = price(model) or DEFAULT
    return (input_tokens * inp + output_tokens * out) / 1_000_000
