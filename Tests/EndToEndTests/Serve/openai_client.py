"""The official `openai` Python client against `actqkv serve` (driven by ServeTests.swift).

usage: openai_client.py BASE_URL MODEL CHECK [ARGS]

Each check prints one JSON object on stdout:
  chat-stream USER_FILE MAX_TOKENS      streamed chat completion with usage: text, chunks, finish_reason, usage
  chat SYSTEM_FILE USER MAX_TOKENS      non-streamed chat completion (system message from a file, '-' for none)
  conversation MESSAGES_JSON MAX_TOKENS non-streamed chat completion of the messages in a JSON file
  completion PROMPT_FILE MAX_TOKENS     non-streamed completion
  errors                                bad requests the client can send: status, code, type and param of each
  disconnect PROMPT_FILE MAX_TOKENS N   streams a completion, reads N chunks, closes the connection
  interleave LONG_FILE LONG_TOKENS SHORT_FILE SHORT_TOKENS
                                        streams a long completion; after its first text, a short
                                        completion: seconds (from the start) at which each ended
  metrics                               GET /metrics parsed by prometheus_client's reference parser:
                                        {"types": {family: type}, "samples": [[name, labels, value], …]}
"""
import json
import sys

import openai


def usage_of(u):
    if u is None:
        return None
    details = getattr(u, "prompt_tokens_details", None)
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
        "cached_tokens": getattr(details, "cached_tokens", None) if details is not None else None,
    }


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def main():
    base, model, check, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=900)
    if check == "chat-stream":
        stream = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": read(args[0])}], max_tokens=int(args[1]),
            temperature=0, stream=True, stream_options={"include_usage": True})
        text, chunks, finish, usage, roles = "", 0, None, None, []
        for chunk in stream:
            chunks += 1
            if chunk.usage is not None:
                usage = usage_of(chunk.usage)
            for c in chunk.choices:
                if c.delta.role:
                    roles.append(c.delta.role)
                text += c.delta.content or ""
                finish = c.finish_reason or finish
        print(json.dumps({"text": text, "chunks": chunks, "finish_reason": finish, "usage": usage, "roles": roles}))
    elif check == "interleave":
        import threading
        import time
        t0 = time.perf_counter()
        first, long_out = threading.Event(), {}

        def long_run():
            stream = client.completions.create(model=model, prompt=read(args[0]), max_tokens=int(args[1]), temperature=0,
                                               stream=True, stream_options={"include_usage": True})
            for chunk in stream:
                if chunk.usage is not None:
                    long_out["tokens"] = chunk.usage.completion_tokens
                if chunk.choices and chunk.choices[0].text:
                    first.set()
            long_out["end"] = time.perf_counter() - t0

        thread = threading.Thread(target=long_run)
        thread.start()
        first.wait(600)
        short_start = time.perf_counter() - t0
        r = client.completions.create(model=model, prompt=read(args[2]), max_tokens=int(args[3]), temperature=0)
        short_end = time.perf_counter() - t0
        thread.join()
        print(json.dumps({"short_start": short_start, "short_end": short_end, "short_tokens": r.usage.completion_tokens,
                          "long_end": long_out.get("end"), "long_tokens": long_out.get("tokens")}))
    elif check == "metrics":
        import urllib.request
        from prometheus_client.parser import text_string_to_metric_families
        with urllib.request.urlopen(base + "/metrics", timeout=60) as r:
            content_type, text = r.headers.get("Content-Type"), r.read().decode("utf-8")
        out = {"content_type": content_type, "types": {}, "samples": []}
        for family in text_string_to_metric_families(text):
            out["types"][family.name] = family.type
            out["samples"] += [[s.name, s.labels, s.value] for s in family.samples]
        print(json.dumps(out))
    elif check in ("chat", "conversation"):
        if check == "conversation":
            messages = json.loads(read(args[0]))
            args = [None, None, args[1]]
        else:
            messages = [] if args[0] == "-" else [{"role": "system", "content": read(args[0])}]
            messages.append({"role": "user", "content": args[1]})
        r = client.chat.completions.create(model=model, messages=messages, max_tokens=int(args[2]), temperature=0)
        print(json.dumps({"text": r.choices[0].message.content, "finish_reason": r.choices[0].finish_reason,
                          "role": r.choices[0].message.role, "object": r.object, "usage": usage_of(r.usage)}))
    elif check == "completion":
        r = client.completions.create(model=model, prompt=read(args[0]), max_tokens=int(args[1]), temperature=0)
        print(json.dumps({"text": r.choices[0].text, "finish_reason": r.choices[0].finish_reason, "object": r.object,
                          "usage": usage_of(r.usage)}))
    elif check == "errors":
        cases = {
            "unknown model": dict(model="no-such-model", messages=[{"role": "user", "content": "hi"}]),
            "temperature too high": dict(model=model, messages=[{"role": "user", "content": "hi"}], temperature=3.5),
            "top_p zero": dict(model=model, messages=[{"role": "user", "content": "hi"}], top_p=0),
            "n of 2": dict(model=model, messages=[{"role": "user", "content": "hi"}], n=2),
            "bad role": dict(model=model, messages=[{"role": "wizard", "content": "hi"}]),
            "no messages": dict(model=model, messages=[]),
            "max_tokens zero": dict(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=0),
        }
        out = {}
        for name, kwargs in cases.items():
            try:
                client.chat.completions.create(**kwargs)
                out[name] = {"status": 200}
            except openai.APIStatusError as e:
                body = e.body if isinstance(e.body, dict) else {}
                out[name] = {"status": e.status_code, "code": body.get("code"), "type": body.get("type"),
                             "param": body.get("param"), "message": body.get("message")}
        print(json.dumps(out))
    elif check == "disconnect":
        stream = client.completions.create(model=model, prompt=read(args[0]), max_tokens=int(args[1]), temperature=0, stream=True)
        seen = 0
        for chunk in stream:
            seen += 1
            if seen >= int(args[2]):
                break
        stream.close()
        print(json.dumps({"chunks": seen}))
    else:
        sys.exit("unknown check " + check)


if __name__ == "__main__":
    main()
