"""The raw baseline of the bench's mail scenario: a plain SMTP client loop (smtplib, one
connection) sending N invitation-shaped messages to the sink at HOST:PORT as fast as the sink
accepts them. Prints "sent N secs S rate R"."""

import smtplib
import sys
import time

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Shaped like an invitation: the same headers (MIME, 7bit text) and about the same size (1.4 KB),
# so the sink parses and stores the same amount per message in both runs.
line = "A line of plain text of about the length the invitations use.\r\n"
body = "Hello crew,\r\n\r\n    123456\r\n\r\n" + line * 16
start = time.monotonic()
with smtplib.SMTP(host, port) as smtp:
    for i in range(n):
        msg = (
            "From: bench <bench@example.com>\r\nTo: raw%d <raw%d@example.com>\r\n"
            "Subject: You are invited to example.com: your code is 123456\r\n"
            "Date: Wed, 02 Dec 2026 01:00:00 +0000\r\nMessage-ID: <raw%d@example.com>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 7bit\r\n\r\n%s" % (i, i, i, body)
        )
        smtp.sendmail("bench@example.com", ["raw%d@example.com" % i], msg)
secs = time.monotonic() - start
print("sent %d secs %.3f rate %.1f" % (n, secs, n / secs))
