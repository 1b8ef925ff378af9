"""How undelivered Segment messages are kept in a spool file (`kernel.spool`).

As JavaScript writes them: messages a fixture may hold (a lone surrogate, a big integer) are kept
exactly, so a resend sends the bytes the first send did; each message read back is checked as a
fixture message is.
"""

from __future__ import annotations

from frigade_cli.kernel.spool import SpoolCodec
from frigade_cli.segment import jsjson
from frigade_cli.segment.messages import message_problem

SEGMENT_SPOOL = SpoolCodec(
    dumps=jsjson.dumps,
    loads=jsjson.loads,
    decode_error=jsjson.JSONDecodeError,
    check=message_problem,
)
