"""A real SMTP server for the mail tests: aiosmtpd on a free loopback port.

Options: --dir DIR (each message is saved as DIR/NNNNNN.eml, every event appended to
DIR/events.jsonl), --tls none|starttls|implicit (a test CA made with trustme; its
certificate is written to DIR/ca.pem), --auth USER:PASSWORD (AUTH required).
The reply is chosen on demand: DIR/mode holds "accept" (the default) or an SMTP reply
such as "550 5.1.1 no such user" or "451 4.7.1 rate limit exceeded", given at RCPT.
Prints "PORT <n>" once it listens, then serves until killed.
"""

import argparse
import email
import email.policy
import email.utils
import json
import os
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    def __init__(self, directory):
        self.dir = directory
        self.count = 0

    def event(self, **fields):
        fields["t"] = time.time()
        with open(os.path.join(self.dir, "events.jsonl"), "a") as f:
            f.write(json.dumps(fields) + "\n")

    def mode(self):
        try:
            with open(os.path.join(self.dir, "mode")) as f:
                return f.read().strip() or "accept"
        except FileNotFoundError:
            return "accept"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.event(event="ehlo", peer=str(session.peer))
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        mode = self.mode()
        self.event(event="rcpt", to=address, reply=mode)
        if mode != "accept":
            return mode
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.dir, "%06d.eml" % self.count)
        tmp = name + ".tmp"
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, name)
        # How a standard parser (Python's email package) reads the message.
        parsed = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        try:
            date_ok = email.utils.parsedate_to_datetime(parsed["Date"]) is not None
        except (TypeError, ValueError):
            date_ok = False
        self.event(
            event="mail",
            file=name,
            subject=str(parsed["Subject"]),
            content_type=parsed.get_content_type(),
            charset=parsed.get_content_charset(),
            text=parsed.get_content() if parsed.get_content_maintype() == "text" else None,
            message_id=str(parsed["Message-ID"]),
            date_ok=date_ok,
            defects=[str(d) for d in parsed.defects],
            mail_from=envelope.mail_from,
            to=envelope.rcpt_tos,
            tls=session.ssl is not None,
            auth=session.authenticated,
        )
        return "250 2.0.0 queued as %06d" % self.count


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    p.add_argument("--auth")
    a = p.parse_args()
    handler = Handler(a.dir)
    port = a.port or free_port()
    kwargs = {}
    context = None
    if a.tls != "none":
        import trustme

        ca = trustme.CA()
        ca.cert_pem.write_to_path(os.path.join(a.dir, "ca.pem"))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    server_kwargs = {}
    if a.tls == "starttls":
        server_kwargs["tls_context"] = context
        server_kwargs["require_starttls"] = True
    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            handler.event(event="auth", ok=ok)
            return AuthResult(success=ok)

        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = a.tls != "none"
    if a.tls == "implicit":
        kwargs["ssl_context"] = context
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, server_kwargs=server_kwargs, **kwargs
    )
    if a.tls == "implicit":
        # The controller's readiness probe speaks plain SMTP; with implicit TLS, wait ourselves.
        controller.ready_timeout = 5
    controller.start()
    print("PORT %d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    controller.stop()


if __name__ == "__main__":
    sys.exit(main())
