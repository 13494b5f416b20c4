"""Regenerates the Jinja expectations in DeepExtension.Tests/TestData from real Jinja2.

Jinja2 is set up as transformers sets up its chat-template environment (immutable sandbox, trim_blocks,
lstrip_blocks, loop controls, json.dumps-based tojson, raise_exception, strftime_now), so the C# interpreter
is compared with what Hugging Face would render. Run: python3 tools/jinja-oracle/make_jinja_cases.py
(needs jinja2; tested with 3.1.6).
"""
import glob
import json
import os
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TEST_DATA = os.path.join(HERE, "..", "..", "DeepExtension.Tests", "TestData")


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
# Fixed so that the expectations do not depend on the day they were made (the C# tests use the same clock).
env.globals["strftime_now"] = lambda f: datetime(2026, 3, 5, 14, 7, 9).strftime(f)


def write(name, content):
    with open(os.path.join(TEST_DATA, name), "w", encoding="utf-8") as f:
        json.dump(content, f, ensure_ascii=False, indent=1)


def interpreter_cases():
    context = json.load(open(os.path.join(HERE, "context.json")))
    cases = []
    for template in json.load(open(os.path.join(HERE, "templates.json"))):
        try:
            cases.append({"template": template, "text": env.from_string(template).render(**context)})
        except Exception as e:
            cases.append({"template": template, "error": f"{type(e).__name__}: {e}"})
    write("jinja-cases.json", {
        "about": "Expected output of Jinja2 configured as transformers' chat-template environment (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, HF tojson, raise_exception, strftime_now fixed at 2026-03-05 14:07:09), for each template rendered with `context`. `error` is 'ExceptionType: message'. Made by tools/jinja-oracle/make_jinja_cases.py.",
        "context": context,
        "cases": cases,
    })


def family_cases():
    templates = {os.path.basename(p)[:-6]: open(p).read() for p in sorted(glob.glob(os.path.join(HERE, "family-templates", "*.jinja")))}
    weather = {"type": "function", "function": {"name": "get_weather", "description": "Get the weather at a place, in °C", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 1}, "precision": {"type": "number", "default": 0.5}}, "required": ["city"]}}}
    convs = {
      "simple": [{"role": "user", "content": "Hi there"}],
      "system": [{"role": "system", "content": " Be brief. "}, {"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}],
      "thinking": [{"role": "user", "content": "Solve it"}, {"role": "assistant", "content": "<think>\nLet me think.\n</think>\n\nIt is 42."}, {"role": "user", "content": "Why?"}, {"role": "assistant", "content": "Because.", "reasoning_content": "It just is."}],
      "tool-dict-args": [{"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2, "precision": 1.0}}}]}, {"role": "tool", "content": "{\"temp\": 21.5}"}, {"role": "assistant", "content": "It is 21.5 °C — nice. 😀"}],
      "tool-string-args": [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": "Checking.", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]}, {"role": "tool", "content": "cold"}],
      "bad-order": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
      "bad-role": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "tool", "content": "c"}],
    }
    plan = {
      "qwen3-like": ["simple", "system", "thinking", "tool-dict-args", "tool-string-args"],
      "llama31-like": ["simple", "system", "tool-dict-args"],
      "mistral-like": ["simple", "system", "bad-order", "bad-role"],
      "gemma-like": ["simple", "system", "bad-order"],
    "coder-xml-tools-like": ["simple", "system", "tool-dict-args"],
    "typescript-tools-like": ["simple", "system", "tool-dict-args"],
    }
    cases = []
    for name, conv_names in plan.items():
        for conv in conv_names:
            for tools in ([None, [weather]] if name in ("qwen3-like", "llama31-like", "coder-xml-tools-like", "typescript-tools-like") else [None]):
                for agp in (False, True):
                    case = {"template": name, "conversation": conv, "messages": convs[conv], "add_generation_prompt": agp, "tools": tools}
                    try:
                        case["text"] = env.from_string(templates[name]).render(
                            messages=convs[conv], tools=tools, documents=None, add_generation_prompt=agp, bos_token="<s>", eos_token="</s>")
                    except jinja2.exceptions.TemplateError as e:
                        if type(e) is not jinja2.exceptions.TemplateError:
                            raise
                        case["error"] = str(e)
                    cases.append(case)
    write("jinja-chat-templates.json", {
        "about": "Chat templates written in the style of real model families (not copies), rendered by Jinja2 configured as transformers' chat-template environment. Same layout as reference-models/chat-templates.json. Made by tools/jinja-oracle/make_jinja_cases.py.",
        "bos_token": "<s>", "eos_token": "</s>", "templates": templates, "cases": cases,
    })


if __name__ == "__main__":
    interpreter_cases()
    family_cases()
