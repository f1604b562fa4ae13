"""The claims the scripts state in their text (see ``probes.base.prose``): how to recognise each
where a revision states it in words only, with nothing of its code to run; it then reads
skipped, saying so. A claim that some revision states in code too has its probes beside its
topic's (``tensor_ops``, ``autograd_backward``, ...); where none of them matches, this says
whether the text states it.

``IN_TEXT`` holds, per claim, three lines: the claim and its script; what the pattern looks for
(an absent claim's note says it); the pattern, a regular expression, case-insensitive, over a
text block with its lines joined by spaces.
"""

from __future__ import annotations

from blitz.tutorial_source.probes.base import prose

IN_TEXT = r"""
T14 tensor
    the note that in-place operations lose history (derivatives)
    in-place operations.{0,200}(derivatives|loss of history)
A05 autograd
    the text on vector-Jacobian products
    (vector-Jacobian|Jacobian-vector) product
A06 autograd
    the text that gradients accumulate in .grad
    accumulat\w*[^.]{0,80}\.grad
A07 autograd
    the text on dynamic graphs (define-by-run)
    \b(DAG|graph)s? (is|are) (dynamic|recreated|rebuilt|built anew)|define-by-run
A10 autograd
    the text on torch.no_grad()
    torch\.no_grad
N05 neural_networks
    the note 'torch.nn only supports mini-batches'
    only\s+supports\s+mini-?batches
N06 neural_networks
    'nn.Parameter ... automatically registered as a parameter' in the text
    nn\.Parameter.{0,120}?automatically\s+registered
N07 neural_networks
    'nn.Module ... helpers for moving them to GPU, exporting, loading' in the text
    helpers\s+for\s+moving\s+them\s+to\s+(the\s+)?GPU
N12 neural_networks
    the update by hand (f.data.sub_(f.grad.data * lr) or f -= f.grad * lr) in text
    \.data\.sub_\(\s*\w+\.grad(\.data)?\s*\*\s*\w+\s*\)|\w+\s*-=\s*\w+\.grad\s*\*\s*\w+
N13 neural_networks
    optimizer.zero_grad() and gradient accumulation in the text
    optimizer\.zero_grad\(\).{0,400}?(accumulated|zero)
"""


def entries(text: str) -> list[tuple[str, str, str, str]]:
    """(claim, script, pattern, looks_for) of each entry of ``text`` (``IN_TEXT``'s form)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) % 3:
        raise ValueError(f"{len(lines)} lines: not three a claim")
    found = []
    for head, looks_for, pattern in zip(lines[0::3], lines[1::3], lines[2::3]):
        claim, script = head.split()
        found.append((claim, script, pattern, looks_for))
    return found


# The pattern of each claim (nn_define reads N05's note, beside the net's batch of one).
PATTERNS = {claim: pattern for claim, _, pattern, _ in entries(IN_TEXT)}

for _claim, _script, _pattern, _looks_for in entries(IN_TEXT):
    prose(_claim, _script, _pattern, looks_for=_looks_for)
