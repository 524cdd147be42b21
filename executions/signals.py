"""Signals other apps subscribe to, sent after the change has committed.

* ``execution_finished(execution)``: the execution reached succeeded, failed or cancelled.
* ``execution_changed(execution)``: its status or one of its task runs changed (flow-run mirroring).
"""

from django.dispatch import Signal

execution_finished = Signal()
execution_changed = Signal()
