"""
Autograd, for blitz's tests
===========================

Written for blitz's tests in the tutorial's format: the autograd claims, in words and names of
its own. The DAG is built anew at each iteration: graphs are dynamic.
"""

import torch
import torchvision

net = torchvision.models.resnet18()
image = torch.rand(1, 3, 64, 64)
target = torch.rand(1, 1000)

######################################################################
# Forward.

scores = net(image)

######################################################################
# Backward: autograd accumulates the gradients in each parameter's ``.grad``.

error = (scores - target).sum()
error.backward()

######################################################################
# An optimizer, and its step.

sgd = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.9)
sgd.step()

######################################################################
# Tracked operations.

u = torch.tensor([1.0, 2.0], requires_grad=True)
w = torch.tensor([3.0, 5.0], requires_grad=True)

######################################################################
# An operation of both.

P = 2 * u**3 - w**2

######################################################################
# ``P`` is a vector: ``backward`` needs its gradient, the vector of a vector-Jacobian product.

ones = torch.tensor([1.0, 1.0])
P.backward(gradient=ones)

######################################################################
# The gradients are the formulas.

print(6 * u**2 == u.grad)
print(-2 * w == w.grad)

######################################################################
# An output requires grad when one input does.

plain = torch.rand(3)
other = torch.rand(3)
tracked = torch.rand(3, requires_grad=True)
left = plain + other
print(f"left: {left.requires_grad}")
right = plain + tracked
print(f"right: {right.requires_grad}")

######################################################################
# Frozen parameters.

from torch import nn, optim

frozen = torchvision.models.resnet18()
for weight in frozen.parameters():
    weight.requires_grad = False

######################################################################
# A new classifier.

frozen.fc = nn.Linear(512, 4)

######################################################################
# Its optimizer.

tuner = optim.SGD(frozen.parameters(), lr=1e-2, momentum=0.9)

######################################################################
# Out of the graph.

with torch.no_grad():
    untracked = tracked * 2
    print(untracked.requires_grad)
