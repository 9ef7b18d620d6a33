"""A real SMTP server for netpulse's email tests: aiosmtpd over implicit TLS
(SMTPS, as on port 465) that takes mail only after AUTH as the one user it is
given, and files each message in a maildir.

    python3 smtps_auth_server.py HOST PORT CERT KEY MAILDIR USER PASSWORD
"""

import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

host, port, cert, key, maildir, user, password = sys.argv[1:8]


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() and auth_data.password == password.encode()
    return AuthResult(success=ok, handled=False)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
# The whole session is TLS from the first byte, so AUTH needs no STARTTLS first.
controller = Controller(
    Mailbox(maildir),
    hostname=host,
    port=int(port),
    ssl_context=context,
    authenticator=authenticator,
    auth_required=True,
    auth_require_tls=False,
)
controller.start()
signal.sigwait({signal.SIGINT, signal.SIGTERM})
controller.stop()
