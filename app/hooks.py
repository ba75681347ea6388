"""Import the areas whose flows register process hooks with the engine runner."""

import app.catalog.updates  # noqa: F401
import app.catalog.versions  # noqa: F401
import app.desk.flows  # noqa: F401
import app.disputes.flows  # noqa: F401
import app.open_data.flows  # noqa: F401
import app.rectification.flows  # noqa: F401
import app.sharing.flows  # noqa: F401
import app.supervision.flows  # noqa: F401
import app.systems.flows  # noqa: F401
import app.notifications.moments  # noqa: F401
import app.tasks.actions  # noqa: F401  (cancels open side tasks of a closed task)
import app.authority.next_due  # noqa: F401  (keeps the cases' next deadline with their tasks)
