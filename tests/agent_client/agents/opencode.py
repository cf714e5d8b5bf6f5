"""A minimal OpenCode: its provider and model from OPENCODE_CONFIG_CONTENT, chat completions.

OpenCode's inline config names the model as "<provider>/<model>"; an `@ai-sdk/openai-compatible`
provider has `options.baseURL` and `options.apiKey`. Prints {"text", "model"} as JSON; never a key.
"""

import argparse
import json
import os
import sys

import openai
from openai.types.chat import ChatCompletionMessageParam


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--prompt", default="Say pong.")
    args = parser.parse_args()
    config = json.loads(os.environ["OPENCODE_CONFIG_CONTENT"])
    provider_id, _, model = config["model"].partition("/")
    provider = config["provider"][provider_id]
    if provider.get("npm") != "@ai-sdk/openai-compatible" or model not in provider["models"]:
        print("opencode: the configured model has no OpenAI-compatible provider", file=sys.stderr)
        return 2
    options = provider["options"]
    client = openai.OpenAI(
        base_url=options["baseURL"], api_key=options["apiKey"], max_retries=0, timeout=30
    )
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": args.prompt}]
    try:
        if args.stream:
            text, answered_by = "", model
            for chunk in client.chat.completions.create(
                model=model, messages=messages, stream=True
            ):
                answered_by = chunk.model or answered_by
                if chunk.choices and chunk.choices[0].delta.content:
                    text += chunk.choices[0].delta.content
        else:
            completion = client.chat.completions.create(model=model, messages=messages)
            text, answered_by = completion.choices[0].message.content or "", completion.model
    except openai.APIError as error:
        print(f"opencode: {type(error).__name__}", file=sys.stderr)
        return 1
    print(json.dumps({"text": text, "model": answered_by}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
