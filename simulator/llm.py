"""Language models, through llama-index, chosen by a spec `provider:model`.

    llm = load_llm("openai:gpt-4o-mini")          # or $KTP_LLM; None means no LLM
    text = llm.complete(messages, on_token=print)  # streams when on_token is given

Providers:
    openai:<model>       OPENAI_API_KEY
    anthropic:<model>    ANTHROPIC_API_KEY
    ollama:<model>       a local Ollama (KTP_OLLAMA_URL, default http://127.0.0.1:11434)
    compat:<model>       any OpenAI-compatible server at KTP_LLM_BASE_URL (key: KTP_LLM_API_KEY)

Keys are read from the environment (or passed in, e.g. from Streamlit secrets) and are never
logged, stored or shown. A missing key or an unreachable server raises `LLMError` with one line
that says what to set.
"""
from __future__ import annotations

import importlib
import os
from typing import Callable, Protocol, Sequence

from corpus.errors import KtpError

TIMEOUT = 60.0
RETRIES = 2


class LLMError(KtpError, RuntimeError):
    """The model cannot be used; the message says what to set or start."""


class ChatModel(Protocol):
    name: str

    def complete(self, messages: Sequence[dict],
                 on_token: Callable[[str], None] | None = None) -> str: ...


PROVIDERS = {  # provider: (module, class, package, key variable)
    "openai": ("llama_index.llms.openai", "OpenAI", "llama-index-llms-openai", "OPENAI_API_KEY"),
    "anthropic": ("llama_index.llms.anthropic", "Anthropic", "llama-index-llms-anthropic",
                  "ANTHROPIC_API_KEY"),
    "ollama": ("llama_index.llms.ollama", "Ollama", "llama-index-llms-ollama", None),
    "compat": ("llama_index.llms.openai_like", "OpenAILike", "llama-index-llms-openai-like",
               None),
}


def load_llm(spec: str | None = None, secrets: dict | None = None) -> ChatModel | None:
    """The model named by `spec` (else $KTP_LLM); None when neither names one."""
    spec = spec or os.environ.get("KTP_LLM") or ""
    if not spec or spec in ("none", "framework-reading"):
        return None
    provider, _, model = spec.partition(":")
    if provider not in PROVIDERS or not model:
        raise LLMError(f"unknown LLM {spec!r}; use openai:<model>, anthropic:<model>, "
                       "ollama:<model> or compat:<model> (with KTP_LLM_BASE_URL)")
    module, class_name, package, key_name = PROVIDERS[provider]
    secrets = secrets or {}
    try:
        factory = getattr(importlib.import_module(module), class_name)
    except ImportError:
        raise LLMError(f"{provider} needs the package {package}: install the extra with "
                       "`uv sync --extra llm`") from None
    options: dict = {"model": model, "timeout": TIMEOUT, "max_retries": RETRIES}
    if key_name:
        key = secrets.get(key_name) or os.environ.get(key_name)
        if not key:
            raise LLMError(f"{provider}:{model} needs an API key: set {key_name}")
        options["api_key"] = key
    if provider == "ollama":
        options = {"model": model, "request_timeout": TIMEOUT,
                   "base_url": os.environ.get("KTP_OLLAMA_URL", "http://127.0.0.1:11434")}
    if provider == "compat":
        base = secrets.get("KTP_LLM_BASE_URL") or os.environ.get("KTP_LLM_BASE_URL")
        if not base:
            raise LLMError("compat:<model> needs the server's address: set KTP_LLM_BASE_URL "
                           "(e.g. http://127.0.0.1:8000/v1)")
        options.update(api_base=base, is_chat_model=True, api_key=secrets.get(
            "KTP_LLM_API_KEY") or os.environ.get("KTP_LLM_API_KEY") or "not-needed")
    return LlamaIndexChat(factory(**options), spec, options.get("api_base")
                          or options.get("base_url"))


class LlamaIndexChat:
    def __init__(self, llm, name: str, where: str | None = None):
        self.llm, self.name, self.where = llm, name, where

    def complete(self, messages: Sequence[dict],
                 on_token: Callable[[str], None] | None = None) -> str:
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        try:
            if on_token is None:
                return self.llm.chat(chat).message.content or ""
            parts = []
            for chunk in self.llm.stream_chat(chat):
                if chunk.delta:
                    parts.append(chunk.delta)
                    on_token(chunk.delta)
            return "".join(parts)
        except Exception as e:  # each client raises its own kinds; the user needs one line
            raise LLMError(_reason(self.name, self.where, e)) from None


def _reason(name: str, where: str | None, error: Exception) -> str:
    text = f"{type(error).__name__}: {error}".splitlines()[0][:200]
    lowered = text.lower()
    if any(s in lowered for s in ("connect", "refused", "unreachable", "timed out", "timeout")):
        return f"{name}: cannot reach the model{f' at {where}' if where else ''} ({text}); " \
               "is the server running, and the address right?"
    if "401" in text or "auth" in lowered or "api key" in lowered:
        return f"{name}: the API key was refused ({text}); check the key you set"
    return f"{name}: the model call failed ({text})"
