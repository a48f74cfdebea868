"""The raw baseline of the bench's mail scenario: a plain SMTP client loop (smtplib, one
connection) sending N messages of about an invitation's size to the sink at HOST:PORT as fast as
the sink accepts them. Prints "sent N secs S rate R"."""

import smtplib
import sys
import time

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body = "Hello crew,\r\n\r\n" + ("An invitation-sized line of plain text for the baseline.\r\n" * 16)
start = time.monotonic()
with smtplib.SMTP(host, port) as smtp:
    for i in range(n):
        msg = (
            "From: bench <bench@example.com>\r\nTo: raw%d@example.com\r\nSubject: raw %d\r\n"
            "Message-ID: <raw%d@example.com>\r\n\r\n%s" % (i, i, i, body)
        )
        smtp.sendmail("bench@example.com", ["raw%d@example.com" % i], msg)
secs = time.monotonic() - start
print("sent %d secs %.3f rate %.1f" % (n, secs, n / secs))
