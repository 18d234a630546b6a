"""EPyMARL integration of epymarl-llm: registration, install, controller, runners, Sacred.

How the plugin reaches an unmodified EPyMARL checkout (see `install.py` and `hook.py`):
`epymarl-llm install DIR` copies the algorithm yamls into `DIR/src/config/algs/`, writes the
marker `DIR/src/.epymarl_llm`, and writes a one-line `.pth` file into site-packages that adds an
import hook; the hook fills EPyMARL's registries when `src/main.py` of a marked checkout imports them.
`register()` does the same by hand (tests, notebooks, custom launchers).

This module imports nothing heavy: the import hook and the CLI import it at start-up.
"""

from __future__ import annotations

# The registry names live below every layer (the critic and the learner name theirs too);
# `epymarl_llm.epymarl.names` stays the integration's name for them.
from epymarl_llm import registry_names as names
from epymarl_llm.epymarl.registration import RegistrationError, register, unregister

__all__ = ["names", "register", "unregister", "RegistrationError"]
