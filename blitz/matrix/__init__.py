"""The claims matrix: one definition of its statuses, cells, text and JSON, without torch.

The pytest plugin (``blitz.plugin``) writes a run's matrix with this module and the reports
(``python -m blitz.report claims``) read it back with the same module, so the vocabulary — the
statuses, how a cell is worded, which keys the JSON has — lives here alone. Importing it costs
no torch: merging files from many runs must be quick.

A **cell** is one claim on one device in one run. Its status comes from the outcomes of every
test of the claim on that device that the run collected, deselected ones included
(``summarize``); ``STATUS_MEANINGS`` says what each means, worst first. A cell reads ``holds``
only when every one of those tests ran and passed, in a run that was not narrowed to a part of
the suite; anything less that passed is ``partial`` and says how many ran and why the others did
not.

A **run document** is what ``pytest --claims-json PATH`` writes: the versions and devices of the
run, whether it finished (``complete``; an interrupted run says why and with which exit status),
whether it was narrowed to part of the suite (``narrowed``, with the ``selection`` that did it:
``-k``, ``-m``, ``--deselect``, ``--lf``, test paths), its facts (which CIFAR-10 copy), and a
``ClaimResult`` per claim of the catalogue with a ``Cell`` per device and the revision of the
tutorial that states the claim (``blitz.claims``: snapshot, 2026 or both). ``dump`` writes it
atomically; ``load`` reads and validates it, naming the file and the fault.
"""

from blitz.matrix.files import dump, from_json, load, read_json
from blitz.matrix.model import (
    ABSENT,
    ACCELERATOR_ONLY,
    DRIFT,
    ERROR,
    FAILS,
    HOLDS,
    HOST_ONLY,
    LABELS,
    NO_RESULT,
    NOT_RUN,
    PARTIAL,
    READABLE_SCHEMAS,
    REVISION_WIDTH,
    SCHEMA,
    SKIPPED,
    STATUS_MEANINGS,
    STATUSES,
    TUTORIAL_PREFIX,
    Cell,
    ClaimResult,
    Device,
    MatrixFileError,
    Outcome,
    RunDocument,
    TestOutcome,
    catalogue_revision,
    cell_text,
    count_text,
    counted_reasons,
    footnote_text,
    label,
    no_verdict,
    plural,
    ran_text,
    status_counts,
    summarize,
    unique,
)
from blitz.matrix.text import (
    CELL_WIDTH,
    GAP,
    STATEMENT_WIDTH,
    column_widths,
    device_columns,
    render,
    selected,
    shorten,
)

__all__ = [
    "ABSENT",
    "ACCELERATOR_ONLY",
    "CELL_WIDTH",
    "DRIFT",
    "ERROR",
    "FAILS",
    "GAP",
    "HOLDS",
    "HOST_ONLY",
    "LABELS",
    "NO_RESULT",
    "NOT_RUN",
    "PARTIAL",
    "READABLE_SCHEMAS",
    "REVISION_WIDTH",
    "SCHEMA",
    "SKIPPED",
    "STATEMENT_WIDTH",
    "STATUS_MEANINGS",
    "STATUSES",
    "Cell",
    "ClaimResult",
    "Device",
    "MatrixFileError",
    "Outcome",
    "RunDocument",
    "TUTORIAL_PREFIX",
    "TestOutcome",
    "catalogue_revision",
    "cell_text",
    "column_widths",
    "count_text",
    "counted_reasons",
    "device_columns",
    "dump",
    "footnote_text",
    "from_json",
    "label",
    "load",
    "no_verdict",
    "plural",
    "ran_text",
    "read_json",
    "render",
    "selected",
    "shorten",
    "status_counts",
    "summarize",
    "unique",
]
