"""Import the areas whose flows register process hooks with the engine runner."""

import app.sharing.flows  # noqa: F401
import app.supervision.flows  # noqa: F401
