"""The baseline of issue 13's start-up targets: what any render script would cost.

Python start + ``import liquid`` + parse the template + render it for each profile of a JSON
file (a list of ``{"Profile": ..., "Event": ...}``) + ``json.loads`` each body. Nothing of ctph
is imported: ``bench_cli.py`` times ``ctph verify`` / ``ctph render`` against this script. The
one extension any CleverTap render script needs is ``{% abort %}`` (a profile that sends
nothing), written here the way python-liquid's own ``break`` tag is (ctph's is
harness/clevertap/tags.py).

Run: ``python bench/bare_render.py TEMPLATE PROFILES.json [N]`` (N: the first N profiles).
"""

from __future__ import annotations

import json
import sys

import liquid
from liquid import Node, Tag
from liquid.token import TOKEN_EXPRESSION, TOKEN_TAG


class Aborted(Exception):
    pass


class AbortNode(Node):
    def render_to_output(self, context: object, buffer: object) -> int:
        raise Aborted


class AbortTag(Tag):
    name = "abort"
    block = False

    def parse(self, stream: liquid.TokenStream) -> Node:
        stream.expect(TOKEN_TAG, value="abort")
        token = stream.current
        if stream.peek.kind == TOKEN_EXPRESSION:
            next(stream)
        return AbortNode(token)


def main() -> int:
    template_path, profiles_path = sys.argv[1], sys.argv[2]
    with open(profiles_path, encoding="utf-8") as fh:
        profiles = json.load(fh)
    if len(sys.argv) > 3:
        profiles = profiles[: int(sys.argv[3])]
    with open(template_path, encoding="utf-8") as fh:
        env = liquid.Environment()
        env.add_tag(AbortTag)
        template = env.from_string(fh.read())
    campaign = {"campaignId": "1714557600_20240501"}
    parsed = 0
    for profile in profiles:
        try:
            body = template.render(
                Profile=profile["Profile"], Event=profile["Event"], Campaign=campaign
            )
        except Aborted:
            continue
        try:
            json.loads(body)
            parsed += 1
        except ValueError:
            pass
    print(f"{parsed} of {len(profiles)} bodies are JSON")
    return 0


if __name__ == "__main__":
    sys.exit(main())
