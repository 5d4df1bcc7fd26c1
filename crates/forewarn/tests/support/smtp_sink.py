#!/usr/bin/env python3
r"""An SMTP sink for forewarn's end-to-end tests: a mail relay on 127.0.0.1 that accepts
everything (but the addresses given with --reject) and records what it received.

    smtp_sink.py PORT_FILE OUT_FILE [--port P] [--reject ADDR ...] [--delay SECONDS] [--brief]

It listens on 127.0.0.1, port 0 (a free one) unless --port names one (to come back on the same
port after being stopped), and writes the port to PORT_FILE once it accepts connections
(written whole, then renamed into place, so a reader never sees half of it).

For every message and every accepted recipient it appends one JSON line to OUT_FILE, flushed
before the message is acknowledged (so a message recorded here may still be sent again by a
client that dies before reading the 250: that is at-least-once delivery). A line holds the
envelope (`mail_from`, `rcpt_to`), `message_id` and `key` (the Message-ID without its angle
brackets), `subject`, `from`, `to` (decoded), every header (`headers`, `[name, value]` pairs,
decoded), the raw message's `size` and `sha256`, and unless --brief: the MIME `parts` (type,
charset, parameters, disposition), the decoded `text` (text/plain) and `html` (text/html)
parts with line ends as `\n`, every text/calendar part parsed with icalendar in `calendars`
(`content_type_method`, `method`, `events`: uid, sequence, dtstart/dtend as UTC RFC 3339,
status, summary, description; `errors`), and the parser's `defects`. A message the sink
cannot take apart is still recorded, with `error`. Parsing uses Python's `email` package
with policy=default.

--reject ADDR answers RCPT TO for ADDR (case-insensitive) with `550 5.1.1 no such user`.
--delay waits that long after recording a message before acknowledging it.
"""

import argparse
import asyncio
import datetime
import email
import email.parser
import email.policy
import hashlib
import json
import os
import signal
import sys
import traceback

from aiosmtpd.smtp import SMTP

try:
    from icalendar import Calendar
except ImportError:  # reported per message; the sink still records the rest
    Calendar = None


def utc(value):
    """A date-time as UTC RFC 3339 (`2027-03-02T11:00:00Z`); floating times and dates as given."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            return value.isoformat() + " (floating)"
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def event(ev):
    start = ev.decoded("DTSTART") if "DTSTART" in ev else None
    if "DTEND" in ev:
        end = ev.decoded("DTEND")
    elif "DURATION" in ev and start is not None:
        end = start + ev.decoded("DURATION")
    else:
        end = None
    return {
        "uid": str(ev.get("UID", "")),
        "sequence": int(ev.get("SEQUENCE", 0)),
        "dtstart": utc(start),
        "dtend": utc(end),
        "status": str(ev.get("STATUS", "")),
        "summary": str(ev.get("SUMMARY", "")),
        "description": str(ev.get("DESCRIPTION", "")),
    }


def calendar(part):
    out = {"content_type_method": part.get_param("method"), "method": None, "events": [], "errors": []}
    if Calendar is None:
        out["errors"].append("icalendar is not installed")
        return out
    try:
        cal = Calendar.from_ical(part.get_payload(decode=True))
        out["method"] = str(cal.get("METHOD")) if cal.get("METHOD") is not None else None
        out["version"] = str(cal.get("VERSION", ""))
        for component in cal.walk():
            out["errors"].extend(str(e) for e in getattr(component, "errors", []))
        out["events"] = [event(ev) for ev in cal.walk("VEVENT")]
    except Exception:  # noqa: BLE001 - recorded for the test to show
        out["errors"].append(traceback.format_exc())
    return out


def header(msg, name):
    value = msg.get(name)
    return None if value is None else str(value)


def describe(raw, brief):
    """What the tests look at in one message (bytes as received, line ends CRLF)."""
    record = {"size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    try:
        if brief:
            # The header block only: parsing every MIME part costs more than the relay's work.
            msg = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
        else:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
        message_id = (header(msg, "Message-ID") or "").strip()
        record.update(
            {
                "message_id": message_id,
                "key": message_id[1:-1] if message_id.startswith("<") and message_id.endswith(">") else message_id,
                "subject": header(msg, "Subject"),
                "from": header(msg, "From"),
                "to": header(msg, "To"),
                "content_type": msg.get_content_type(),
                "headers": [[name, str(value)] for name, value in msg.items()],
            }
        )
        if brief:
            return record
        parts, texts, htmls, calendars, defects = [], [], [], [], [str(d) for d in msg.defects]
        for part in msg.walk():
            defects.extend(f"{part.get_content_type()}: {d!r}" for d in part.defects if part is not msg)
            if part.is_multipart():
                continue
            ctype = part.get_content_type()
            parts.append(
                {
                    "content_type": ctype,
                    "charset": part.get_content_charset(),
                    "params": {k: v for k, v in part.get_params(failobj=[])[1:]},
                    "disposition": part.get_content_disposition(),
                    "filename": part.get_filename(),
                    "transfer_encoding": part.get("Content-Transfer-Encoding"),
                }
            )
            if ctype == "text/calendar":
                calendars.append(calendar(part))
            elif ctype in ("text/plain", "text/html") and part.get_content_disposition() != "attachment":
                (texts if ctype == "text/plain" else htmls).append(part.get_content().replace("\r\n", "\n"))
        record.update(
            {"parts": parts, "text": "\n".join(texts), "html": "\n".join(htmls), "calendars": calendars, "defects": defects}
        )
    except Exception:  # noqa: BLE001 - recorded for the test to show
        record["error"] = traceback.format_exc()
    return record


class Handler:
    def __init__(self, out, rejects, delay, brief):
        self.out = out
        self.rejects = {a.lower() for a in rejects}
        self.delay = delay
        self.brief = brief

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        if address.lower() in self.rejects:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content if envelope.original_content is not None else envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        record = describe(raw, self.brief)
        received = datetime.datetime.now(datetime.timezone.utc).isoformat()
        for rcpt in envelope.rcpt_tos:
            line = dict(record, mail_from=envelope.mail_from, rcpt_to=rcpt, received=received)
            self.out.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.out.flush()
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 OK: recorded"


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("port_file")
    parser.add_argument("out_file")
    parser.add_argument("--port", type=int, default=0, help="listen on this port (default: a free one)")
    parser.add_argument("--reject", action="append", default=[], metavar="ADDR", help="answer RCPT TO with 550")
    parser.add_argument("--delay", type=float, default=0.0, metavar="SECONDS", help="wait before acknowledging")
    parser.add_argument("--brief", action="store_true", help="record envelope, headers and hash only")
    args = parser.parse_args()

    out = open(args.out_file, "a", encoding="utf-8")
    handler = Handler(out, args.reject, args.delay, args.brief)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.test", enable_SMTPUTF8=True, decode_data=False, data_size_limit=None),
        host="127.0.0.1",
        port=args.port,
        reuse_address=True,
    )
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{port}\n")
    os.replace(tmp, args.port_file)
    print(f"smtp sink listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    out.close()


if __name__ == "__main__":
    asyncio.run(main())
