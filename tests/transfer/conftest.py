"""The EPyMARL-copy fixtures of the integration tests (a private checkout copy and user site)."""

from tests.integration.conftest import epymarl_copy, epymarl_master_copy, user_base  # noqa: F401
