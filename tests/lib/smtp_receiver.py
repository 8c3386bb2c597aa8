#!/usr/bin/env python3
"""Recording SMTP server for the black-box tests (tests/lib/receivers.js).

Usage: smtp_receiver.py PORT   (PORT 0 picks a free port)

Runs an aiosmtpd Controller on 127.0.0.1 and prints one JSON line per stdout event, flushed:
  {"ready": true, "port": N}                       once, when it accepts connections
  {"mail_from": ..., "rcpt_tos": [...], "data": ...} per message (data: the raw message text)
Stops on SIGTERM or SIGINT. Needs python3-aiosmtpd (Debian) - scripts/install-deps.sh --all.
"""
import json
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class RecordingHandler:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        line = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "data": raw}
        print(json.dumps(line, ensure_ascii=False), flush=True)
        return "250 OK queued as sx-%d" % self.count


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    requested = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    # Controller cannot bind port 0 (it connects to its own port to check readiness), so a free
    # port is picked first; a lost race with another process is retried.
    for _ in range(10):
        port = requested or free_port()
        controller = Controller(RecordingHandler(), hostname="127.0.0.1", port=port)
        try:
            controller.start()
            break
        except (OSError, RuntimeError):
            if requested:
                raise
    else:
        sys.exit("smtp_receiver: no free port")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(json.dumps({"ready": True, "port": port}), flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
