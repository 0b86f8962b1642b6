"""An agent that thinks with a language model: any OpenAI-compatible chat-completions endpoint.

    # a hosted API
    ARENA_LLM_BASE_URL=https://api.openai.com/v1 ARENA_LLM_API_KEY=sk-... ARENA_LLM_MODEL=gpt-4o-mini \\
        python llm_agent.py
    # Ollama on this machine
    ARENA_LLM_BASE_URL=http://127.0.0.1:11434/v1 ARENA_LLM_MODEL=llama3.2 python llm_agent.py
    # a llama.cpp server (llama-server --port 8081 -m model.gguf)
    ARENA_LLM_BASE_URL=http://127.0.0.1:8081/v1 python llm_agent.py

OPENAI_BASE_URL and OPENAI_API_KEY are read too (OPENAI_API_KEY alone means OpenAI's API). Without
any of them it says so and argues with the client's canned lines instead. A turn the model cannot
answer in time (or at all) gets a canned line too, so the agent never forfeits a turn to a slow model.
"""

from __future__ import annotations

import argparse
import os

import aiohttp
import arena_client as arena

SYSTEM = (
    "You are a debater in Agent Arena, seat {seat}. The topic is: {topic}. Argue one side with conviction, answer "
    "what your opponents just said, and make your point in at most {words} words of plain text (no markdown, "
    "no preamble). The battle has {turns} turns in all; this is turn {number}."
)


class ChatModel:
    """POST {base_url}/chat/completions, the way every OpenAI-compatible server understands it."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def complete(self, messages: list[dict[str, str]], timeout: float) -> str:
        body = {"model": self.model, "messages": messages, "max_tokens": 300, "temperature": 0.8}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http, \
                http.post(self.url, json=body, headers=self.headers) as r:
            data = await r.json(content_type=None)
            if r.status != 200:
                raise RuntimeError(f"the model answered {r.status}: {str(data)[:200]}")
        return data["choices"][0]["message"]["content"].strip()


def messages_for(turn: arena.Turn, words: int = 120) -> list[dict[str, str]]:
    """The system prompt, then the battle so far: our turns as the assistant, the others as the user."""
    out = [{"role": "system", "content": SYSTEM.format(seat=turn.seat, topic=turn.topic, words=words,
                                                       turns=turn.max_turns, number=turn.number)}]
    for t in turn.transcript:
        if t["timed_out"]:
            continue
        mine = t["seat"] == turn.seat
        out.append({"role": "assistant" if mine else "user",
                    "content": t["content"] if mine else f"Seat {t['seat']}: {t['content']}"})
    if out[-1]["role"] != "user":
        out.append({"role": "user", "content": "Your turn: open the debate." if len(out) == 1 else "Your turn."})
    return out


def model_from_env() -> ChatModel | None:
    key = os.environ.get("ARENA_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
    base = os.environ.get("ARENA_LLM_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    if not base and os.environ.get("OPENAI_API_KEY"):
        base = "https://api.openai.com/v1"
    if not base:
        return None
    return ChatModel(base, os.environ.get("ARENA_LLM_MODEL", "gpt-4o-mini"), key)


async def main(args: argparse.Namespace) -> None:
    model = model_from_env()
    if model is None:
        print("llm_agent: no model configured (set ARENA_LLM_BASE_URL, and ARENA_LLM_MODEL and ARENA_LLM_API_KEY "
              "as your server needs); arguing with canned lines instead", flush=True)
    else:
        print(f"llm_agent: thinking with {model.model} at {model.url}", flush=True)

    async def on_turn(turn: arena.Turn) -> str:
        if model is None:
            return arena.argue(turn)
        # The time this turn has (from the prompt, so no clock needs to agree with the server's),
        # minus a margin to send the answer.
        left = (turn.prompt["turn_duration_ms"] + turn.prompt.get("overage_left_ms", 0)) / 1000 - 2
        try:
            return await model.complete(messages_for(turn), timeout=max(1.0, min(60.0, left)))
        except Exception as exc:  # a slow or failing model must not cost the turn
            print(f"llm_agent: the model failed on turn {turn.number} ({type(exc).__name__}: {exc}); "
                  "answering with a canned line", flush=True)
            return arena.argue(turn)

    for _ in range(args.battles) if args.battles else iter(int, 1):
        await arena.play_one_battle(on_turn, url=args.url, name=args.name, topic=args.topic)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="An Agent Arena agent that thinks with an LLM.")
    parser.add_argument("--url", help="the arena (default: ARENA_URL or http://127.0.0.1:8080)")
    parser.add_argument("--name", help="the agent's name (default: ARENA_AGENT_NAME or this file's name)")
    parser.add_argument("--topic", help="the topic, when this agent opens the battle")
    parser.add_argument("--battles", type=int, default=1, help="how many battles to play (0: forever)")
    arena.run(main(parser.parse_args()))
