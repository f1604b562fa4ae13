"""The claims of autograd_tutorial.py on training (see ``probes.base``): A01 (a training step
of resnet18: forward, backward, the optimizer's step) and A09 (frozen parameters: only the new
classifier trains).

Each is stated over several cells: the probe finds the model, then, remembering it
(``seen.memory``), the cells of its step. A step is checked on the script's own result (the
parameters before and after it), a frozen model's step on a copy of it (``check_frozen_step``).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from typing import Any

from blitz.tutorial_source.probes import compare, syntax
from blitz.tutorial_source.probes.base import Seen, Unchecked, dotted, probe

SCRIPT = "autograd"

# ----------------------------------------------------------------------------------------------
# A01: a training step of resnet18


def is_resnet18(call: ast.AST) -> bool:
    return isinstance(call, ast.Call) and syntax.last_name(call.func) == "resnet18"


def freezes(seen: Seen) -> bool:
    """The cell freezes parameters: ``p.requires_grad = False`` or ``requires_grad_(False)``."""
    for node in seen.nodes(ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Attribute) and target.attr == "requires_grad":
                if isinstance(node.value, ast.Constant) and node.value.value is False:
                    return True
    return any(
        c.args and isinstance(c.args[0], ast.Constant) and c.args[0].value is False
        for c in seen.calls(".requires_grad_")
    )


def model_made(seen: Seen) -> ast.Call | None:
    """``model = resnet18(...)`` (any spelling), in a cell that does not freeze it (A09's)."""
    for call in syntax.here(seen, seen.nodes(ast.Call)):
        if is_resnet18(call) and syntax.bound_name(seen, call) and not freezes(seen):
            return call
    return None


OPTIMIZERS = frozenset(
    "SGD Adam AdamW Adagrad Adadelta Adamax NAdam RAdam RMSprop Rprop ASGD LBFGS SparseAdam".split()
)


def optimizer_calls(seen: Seen) -> list[ast.Call]:
    """The optimizers the cell makes: ``torch.optim.SGD(...)``, ``optim.SGD(...)``, ``SGD(...)``."""
    return [
        c for c in syntax.here(seen, seen.nodes(ast.Call)) if syntax.last_name(c.func) in OPTIMIZERS
    ]


def find_training_step(seen: Seen) -> Any:
    """The cell that makes the model; then, once blitz saw it, the cells of its step: the
    forward pass (a call of the model), ``backward``, the optimizer, ``step``."""
    memory = seen.memory
    if memory.get("done"):
        return None
    model = memory.get("model")
    if model is None:
        return model_made(seen)
    for call in syntax.here(seen, seen.nodes(ast.Call)):
        callee = dotted(call.func)
        if callee == model or syntax.last_name(call.func) in ("backward", "step"):
            return call
    calls = optimizer_calls(seen)
    return calls[0] if calls else None


def step_parts(seen: Seen) -> Iterator[tuple[str, ast.Call]]:
    """The parts of the step in this cell, in order."""
    model = seen.memory.get("model")
    optimizers = {id(c) for c in optimizer_calls(seen)}
    for call in syntax.here(seen, seen.nodes(ast.Call)):
        if (
            is_resnet18(call)
            and syntax.bound_name(seen, call)
            and not freezes(seen)
            and model is None
        ):
            model = syntax.bound_name(seen, call)
            yield "model", call
        elif model is not None and dotted(call.func) == model:
            yield "forward", call
        elif syntax.last_name(call.func) == "backward" and model is not None:
            yield "backward", call
        elif id(call) in optimizers and model is not None:
            yield "optimizer", call
        elif syntax.last_name(call.func) == "step" and isinstance(call.func, ast.Attribute):
            optimizer = seen.memory.get("optimizer")  # bound by the time this part is reached
            if optimizer is None or dotted(call.func.value) == optimizer:
                yield "step", call


@probe("A01", SCRIPT, looks_for="model = resnet18(...), then its forward, backward and step",
       find=find_training_step, once=False)  # fmt: skip
def training_step(seen: Seen, match: Any) -> None:
    """The model is resnet18; its forward pass gives (1, 1000) scores with a ``grad_fn``;
    backward fills every parameter's ``.grad``; the SGD step moves each by ``-lr * grad``."""
    import torch

    memory = seen.memory
    for part, call in step_parts(seen):
        if part == "model":
            name = syntax.bound_name(seen, call)
            model = seen.value(name)
            import torchvision

            assert isinstance(model, torchvision.models.ResNet), (
                f"{name} = {ast.unparse(call)} is a {type(model).__name__}, not a ResNet"
            )
            count = sum(p.numel() for p in model.parameters())
            assert count == 11_689_512, f"{name} has {count:,} parameters, not resnet18's"
            memory["model"] = name
            memory["before"] = [p.detach().clone() for p in model.parameters()]
            seen.note(f"{name} = {ast.unparse(call)}: resnet18")
        elif part == "forward":
            name = syntax.bound_name(seen, call)
            if name is None:
                seen.unchecked(f"the forward pass at line {seen.line(call)}: not bound to a name")
                continue
            prediction = seen.value(name)
            shape = tuple(prediction.shape)
            data = [seen.value(n) for n in syntax.names_in(call) if n != memory["model"]]
            assert shape == (1, 1000), f"{name} has shape {shape}, not (1, 1000)"
            assert prediction.grad_fn is not None, f"{name} has no grad_fn: autograd did not track"
            seen.note(
                f"{name} = {ast.unparse(call)}: {shape} from "
                f"{[tuple(d.shape) for d in data if isinstance(d, torch.Tensor)]}"
            )
        elif part == "backward":
            model = seen.value(memory["model"])
            missing = [n for n, p in model.named_parameters() if p.grad is None]
            assert not missing, (
                f"{ast.unparse(call)} left {len(missing)} parameters without a .grad: {missing[:3]}"
            )
            bad = [n for n, p in model.named_parameters() if p.grad.shape != p.shape]
            assert not bad, f"the grads of {bad[:3]} do not have their parameters' shapes"
            seen.note(f"{ast.unparse(call)} fills .grad of every parameter")
        elif part == "optimizer":
            name = syntax.bound_name(seen, call)
            optimizer = seen.value(name) if name else None
            if optimizer is not None:
                model = seen.value(memory["model"])
                held = {id(p) for g in optimizer.param_groups for p in g["params"]}
                missing = [n for n, p in model.named_parameters() if id(p) not in held]
                assert not missing, f"{name} does not hold {len(missing)} parameters of the model"
                memory["optimizer"] = name
        elif part == "step":
            receiver = dotted(call.func.value)
            optimizer = seen.value(receiver)
            assert isinstance(optimizer, torch.optim.SGD), (
                f"{receiver} is a {type(optimizer).__name__}, not SGD"
            )
            memory["done"] = True
            check_sgd_step(seen, optimizer, seen.value(memory["model"]), memory.get("before"))


def check_sgd_step(seen: Seen, optimizer, model, before: list | None) -> None:
    """The first SGD step moved every parameter by ``-lr * grad`` (momentum's buffer starts
    as the gradient itself, so the first step is plain gradient descent)."""
    import torch

    settings = {}
    for group in optimizer.param_groups:
        assert not group.get("weight_decay") and not group.get("nesterov"), (
            f"the optimizer has weight_decay={group.get('weight_decay')}, "
            f"nesterov={group.get('nesterov')}: not the -lr * grad step"
        )
        settings.update({id(p): group for p in group["params"]})
    if before is None:
        seen.unchecked("the step's update: the parameters before it were not seen")
        return
    parameters = list(model.parameters())
    assert all(p.grad is not None for p in parameters), "a parameter has no grad at the step"
    for (name, p), was in zip(model.named_parameters(), before):
        assert id(p) in settings, f"the optimizer does not hold {name}"
        lr = settings[id(p)]["lr"]
        # assert_close's defaults: SGD's fused add rounds differently from was - lr * grad
        # (CLAIMS.md: 7e-9 measured on torch 2.14), so not bit for bit.
        compare.assert_close(
            p.detach(), was - lr * p.grad, what=f"the step moved {name} other than by -lr * grad"
        )
    group = optimizer.param_groups[0]
    lr, momentum = group["lr"], group.get("momentum", 0)
    moved = sum(not torch.equal(p.detach(), was) for p, was in zip(parameters, before))
    seen.note(
        f"SGD(lr={lr:g}, momentum={momentum:g}).step() moved {moved}/{len(parameters)} "
        "parameters by -lr * grad"
    )


# ----------------------------------------------------------------------------------------------
# A09: frozen parameters; only the new classifier is trained


def frozen_loop(seen: Seen) -> tuple[str, ast.AST] | None:
    """The model whose parameters the cell freezes (``for p in model.parameters(): p.requires_grad
    = False``, or ``model.requires_grad_(False)``), and the statement that does."""
    for loop in seen.nodes(ast.For):
        iterated = loop.iter.func if isinstance(loop.iter, ast.Call) else None
        if isinstance(iterated, ast.Attribute) and iterated.attr == "parameters":
            body = ast.Module(body=loop.body, type_ignores=[])
            for node in ast.walk(body):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                    if node.value.value is False and any(
                        isinstance(t, ast.Attribute) and t.attr == "requires_grad"
                        for t in node.targets
                    ):
                        return dotted(loop.iter.func.value), loop
    for call in seen.calls(".requires_grad_"):
        if not isinstance(call.func, ast.Attribute):
            continue
        if call.args and isinstance(call.args[0], ast.Constant) and call.args[0].value is False:
            return dotted(call.func.value), call
    return None


def find_frozen(seen: Seen) -> Any:
    """The freezing; then, once blitz saw it, the new ``fc``, then the optimizer."""
    memory = seen.memory
    if memory.get("done"):
        return None
    model = memory.get("model")
    if model is None:
        frozen = frozen_loop(seen)
        return frozen[1] if frozen else None
    for node in seen.nodes(ast.Assign):
        if any(dotted(t) == f"{model}.fc" for t in node.targets):
            return node
    if memory.get("fc"):
        calls = optimizer_calls(seen)
        return calls[0] if calls else None
    return None


RESNET18_FEATURES = 512


@probe("A09", SCRIPT, looks_for="the parameters of a model frozen (requires_grad = False), then a "
       "new model.fc", find=find_frozen, once=False)  # fmt: skip
def frozen_parameters(seen: Seen, match: Any) -> None:
    """Every parameter of the frozen resnet18 stops requiring grad; the new ``fc`` alone does; a
    step of the optimizer (on a copy) changes only ``fc``'s parameters."""
    import torch

    memory = seen.memory
    if memory.get("model") is None:
        name = frozen_loop(seen)[0]
        memory["model"] = name
        model = seen.value(name.split(".")[0])
        for part in name.split(".")[1:]:
            model = getattr(model, part)
        import torchvision

        assert isinstance(model, torchvision.models.ResNet), (
            f"{name} is a {type(model).__name__}, not a ResNet"
        )
        unfrozen = [n for n, p in model.named_parameters() if p.requires_grad]
        assert not unfrozen, f"{len(unfrozen)} parameters still require grad: {unfrozen[:3]}"
        memory["model"] = name
        seen.note(f"{name}: every parameter frozen")
    if isinstance(match, ast.Assign) or any(
        isinstance(a, ast.Assign) and any(dotted(t) == f"{memory['model']}.fc" for t in a.targets)
        for a in seen.nodes(ast.Assign)
    ):
        model = seen.value(memory["model"])
        fc = model.fc
        assert isinstance(fc, torch.nn.Linear), f"{memory['model']}.fc is a {type(fc).__name__}"
        assert fc.in_features == RESNET18_FEATURES, (
            f"the new fc takes {fc.in_features} features, resnet18 gives {RESNET18_FEATURES}"
        )
        trained = [n for n, p in model.named_parameters() if p.requires_grad]
        assert trained == ["fc.weight", "fc.bias"], (
            f"the parameters that require grad are {trained}, not fc.weight and fc.bias"
        )
        memory["fc"] = True
        seen.note(f"only fc.weight, fc.bias require grad (Linear({fc.in_features}, "
                  f"{fc.out_features}))")  # fmt: skip
    calls = optimizer_calls(seen)
    if memory.get("fc") and calls:
        name = syntax.bound_name(seen, calls[0])
        memory["done"] = True
        if name is None:
            raise Unchecked(f"the optimizer at line {seen.line(calls[0])}: not bound to a name")
        check_frozen_step(seen, seen.value(memory["model"]), seen.value(name), name)


def check_frozen_step(seen: Seen, model, optimizer, name: str) -> None:
    """On a copy of the model, with the script's optimizer's settings: a forward and backward
    pass fills only fc's grads, and a step changes only fc's parameters."""
    import torch

    names = {id(p): n for n, p in model.named_parameters()}
    held = [names.get(id(p)) for g in optimizer.param_groups for p in g["params"]]
    assert None not in held, f"{name} holds tensors that are not the model's parameters"
    assert {"fc.weight", "fc.bias"} <= set(held), f"{name} does not hold fc's parameters"
    twin = copy.deepcopy(model)
    twins = dict(twin.named_parameters())
    groups = [
        {**{k: v for k, v in g.items() if k != "params"},
         "params": [twins[names[id(p)]] for p in g["params"]]}
        for g in optimizer.param_groups
    ]  # fmt: skip
    twin_optimizer = type(optimizer)(groups)
    twin.zero_grad(set_to_none=True)
    twin.eval()  # batch norm on its running statistics: which parameters train is the same
    generator = torch.Generator().manual_seed(0)  # never the script's generator
    data = torch.rand((1, 3, 32, 32), generator=generator)
    loss = twin(data).sum()
    loss.backward()
    with_grad = [n for n, p in twin.named_parameters() if p.grad is not None]
    assert with_grad == ["fc.weight", "fc.bias"], f"after backward, {with_grad} have a .grad"
    twin_optimizer.step()
    originals = dict(model.named_parameters())  # the script's model: what the twin was
    changed = [
        n for n, p in twin.named_parameters() if not torch.equal(p.detach(), originals[n].detach())
    ]
    assert changed == ["fc.weight", "fc.bias"], f"a step of {name} changed {changed}"
    seen.note(f"{name} holds {len(held)} parameters; a step changes only {', '.join(changed)}")
