#!/usr/bin/env python3
"""Writes the seed corpus, fuzz/corpus/<target>/seed-*, from the project's own payload fixtures
(tests/fixtures/payloads, events/) and a few hand-written inputs. Run it again after changing a
fixture or a target's input layout; inputs the fuzzer or a bug report added (crash-*, found-*)
are left alone. The layouts are the targets' own (fuzz/src): see each module's doc comment."""

import base64
import hashlib
import hmac
import json
import os
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"

# As in fuzz/src/component_id.rs.
COMPONENT_KEY = b"gavel fuzz component key"
TENANT = "1174109840998400000"


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def fixture(name):
    return json.loads((ROOT / "tests/fixtures/payloads" / f"{name}.json").read_text())["body"]


def event(name):
    """An events/ request: its body and its two signature headers (signed with the test key)."""
    doc = json.loads((ROOT / "events" / f"{name}.json").read_text())
    headers = doc["headers"]
    sig = headers.get("x-signature-ed25519") or headers.get("x-slack-signature")
    ts = headers.get("x-signature-timestamp") or headers.get("x-slack-request-timestamp")
    return doc["body"].encode(), sig.encode(), ts.encode()


def form(fields):
    return urllib.parse.urlencode(fields).encode()


def component_id(flow, nonce, version, evt, platform, user):
    body = f"g1:{flow}:{nonce}:{version}:{evt}"
    msg = b""
    for part in (body, platform, TENANT, user):
        part = part.encode()
        msg += len(part).to_bytes(8, "big") + part
    tag = hmac.new(COMPONENT_KEY, msg, hashlib.sha256).digest()[:12]
    return f"{body}:{base64.urlsafe_b64encode(tag).decode().rstrip('=')}".encode()


def seeds():
    discord_bodies = {
        name: compact(fixture(f"discord_{name}"))
        for name in ["ping", "slash_guild", "slash_options_guild", "slash_dm", "button_click",
                     "select_click", "modal_submit", "user_context_menu",
                     "message_context_menu", "user_installed"]
    }
    slack_commands = {
        name: form(fixture(f"slack_{name}")) for name in ["slash_command", "dm_command"]
    }
    for name, command, text in [
        ("warn", "/warn", "<@U0GAVELTST|ann> 3 spamming links"),
        ("tempban", "/TempBan", "<@U0GAVELTST> 1d12h raid"),
        ("economy", "/economy", "give <@U0GAVELTST> 50 prize"),
        ("unknown", "/nosuch", "anything at all"),
    ]:
        body = dict(fixture("slack_slash_command"), command=command, text=text)
        slack_commands[name] = form(body)
    slack_interactions = {
        name: form({"payload": compact(fixture(f"slack_{name}")).decode()})
        for name in ["block_actions", "grid_block_actions", "view_submission"]
    }
    slack_interactions["view_closed"] = form({"payload": compact(
        {"type": "view_closed", "user": {"id": "U0GAVELTST"}, "team": {"id": "T0GAVELTST"}}
    ).decode()})
    slack_events = {
        "event_callback": compact(fixture("slack_event_callback")),
        "url_verification": compact(fixture("slack_url_verification")),
        "rate_limited": compact({"type": "app_rate_limited", "team_id": "T0GAVELTST",
                                 "minute_rate_limited": 1764000000, "api_app_id": "A0GAVELTST"}),
    }

    # Verifiers: control bytes [offset, position, flip], then the rest (fuzz/src/verify.rs).
    d_body, d_sig, d_ts = event("discord-command-ping")
    s_body, s_sig, s_ts = event("slack-command-ping")
    out = {
        "verify_discord": {
            "signed-ping": b"\x00\x00\x01" + discord_bodies["ping"],
            "signed-stale-command": b"\x7f\x10\x80" + discord_bodies["slash_guild"],
            "signed-edge-of-window": b"\x9c\x3f\x02" + discord_bodies["button_click"],
            "headers-valid": b"\x00\x00\x00" + d_sig + b"\n" + d_ts + b"\n" + d_body,
            "headers-fraction": b"\x00\x00\x00" + d_sig + b"\n" + d_ts + b".0\n" + d_body,
        },
        "verify_slack": {
            "signed-command": b"\x00\x00\x01" + slack_commands["slash_command"],
            "signed-stale-event": b"\x81\x05\x40" + slack_events["event_callback"],
            "signed-edge-of-window": b"\x64\x1f\x02" + slack_interactions["block_actions"],
            "headers-valid": b"\x00\x00\x00" + s_sig + b"\n" + s_ts + b"\n" + s_body,
            "headers-uppercase": b"\x00\x00\x00" + s_sig.upper() + b"\n" + s_ts + b"\n" + s_body,
        },
        "discord_interaction": dict(discord_bodies, bare_ping=b'{"type":1}',
                                    unknown_type=b'{"type":9,"id":"1","application_id":"2","token":"t"}'),
        "slack_command": slack_commands,
        "slack_interaction": slack_interactions,
        "slack_event": slack_events,
        # `name\ntext` (fuzz/src/text_options.rs).
        "text_options": {
            name: f"{name}\n{text}".encode()
            for name, text in [
                ("warn", "<@U0GAVELTST|ann> 3 spamming links"),
                ("mute", "<@U0GAVELTST> 2h flooding"),
                ("tempban", "<@U0GAVELTST> 1d12h raid"),
                ("case", "12 new reason"),
                ("pardon", "12 appeal accepted"),
                ("remind", "30m check the queue"),
                ("reportchannel", "<#C0GAVELTST|mod-reports>"),
                ("economy", "config daily 100"),
                ("pay", "<@U0GAVELTST> 50 thanks"),
                ("modconfig", "threshold 10"),
                ("automod", "add word spam delete"),
                ("infractions", "<@U0GAVELTST>"),
            ]
        },
        "duration": {
            text: text.encode()
            for text in ["30s", "10m", "2h", "7d", "1w", "1d12h", "1D 12H", "30m1h", "3660d",
                         "1h1h", "10", "h", "0s", "99999999999999999999d"]
        },
        # Received ids (one drawn for the target's binding, one shared), and drawn-id parts:
        # [version x8, flow length, nonce length, position, flip], then name bytes.
        "component_id": {
            "received-personal": component_id("confirm", "n0nce", 3, "yes", "discord", "U1"),
            "received-shared": component_id("report", "abc123", 0, "claim", "slack", "*"),
            "received-foreign": b"approve_button",
            "drawn-small": bytes([1, 0, 0, 0, 0, 0, 0, 0, 6, 5, 9, 2]) + b"confirmn0nceyes",
            "drawn-max": b"\xff" * 12 + b"x" * 60,
        },
    }
    return out


def main():
    for target, inputs in seeds().items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("seed-*"):
            old.unlink()
        for name, data in inputs.items():
            (folder / f"seed-{name.replace('_', '-')}").write_bytes(data)
    print(f"wrote seeds into {os.path.relpath(CORPUS)}")


if __name__ == "__main__":
    main()
