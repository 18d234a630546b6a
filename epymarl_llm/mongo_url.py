"""What a `mongo_url` value must look like, and the same URL with its password masked.

Apart from `epymarl.mongo` (which attaches Sacred's observer) because the run config checks the key
when it is read, and the run config sits below the EPyMARL integration. `redact_url` is the one
password mask of the project: the run config, Sacred's stored config, the report's and `doctor`'s
messages all use it.
"""

from __future__ import annotations

import re

REDACTED = "****"

# Any scheme, so that a message about a URL that is not a MongoDB one (`--mongo http://u:p@h`) masks it too;
# everything after the `@` is kept as written (several hosts, options).
_CREDENTIALS = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:@/]*)(?::(?P<password>[^@/]*))?@")


def redact_url(url: str) -> str:
    """`mongodb://user:secret@host/db` -> `mongodb://user:****@host/db` (unchanged without a password)."""
    m = _CREDENTIALS.match(url)
    if not m or m.group("password") is None:
        return url
    return f"{m.group('scheme')}{m.group('user')}:{REDACTED}@{url[m.end() :]}"


def check_url(url: object) -> str:
    """A usable `mongo_url` value, or a clear error."""
    if not isinstance(url, str) or not re.match(r"^mongodb(\+srv)?://[^/]", url):
        shown = redact_url(url) if isinstance(url, str) else url
        raise ValueError(
            f"mongo_url must be a MongoDB URL such as 'mongodb://user:password@host:27017/?authSource=admin' "
            f"(or null to log to files only); got {shown!r}"
        )
    return url
