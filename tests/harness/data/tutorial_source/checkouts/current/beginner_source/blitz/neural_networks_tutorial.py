# -*- coding: utf-8 -*-
"""
Neural networks, in blitz's own words
=====================================

A script in the tutorial's format (sphinx-gallery) that states the claims of the tutorial's
"Neural Networks" section with its own code and names, for blitz's harness tests. Each code
cell's draws from the random generator come in the tutorial's order, so that its goldens hold.
Its text also shows the update by hand and an optimizer's step as code, which the build does
not run (as the tutorial's text does since 2023).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


model = LeNet()
print(model)

######################################################################
# What the model learns: its parameters.

weights = list(model.parameters())
print(len(weights))
print(weights[0].size())

######################################################################
# One random 32x32 image, in a batch of one.

image = torch.randn(1, 1, 32, 32)
scores = model(image)
print(scores)

######################################################################
# Clear the gradients, then backpropagate a random gradient.

model.zero_grad()
scores.backward(torch.randn(1, 10))

######################################################################
# .. note::
#
#     ``torch.nn`` only supports mini-batches: give a single image a batch dimension with
#     ``image.unsqueeze(0)``.
#
# - ``nn.Parameter``: a tensor that is automatically registered as a parameter when assigned
#   as an attribute of a ``Module``.
# - ``nn.Module``: holds the parameters, with helpers for moving them to GPU, exporting,
#   loading.
#
# A loss: the mean squared error against a made-up goal.

prediction = model(image)
goal = torch.randn(10).view(1, -1)
mse = nn.MSELoss()
error = mse(prediction, goal)
print(error)

######################################################################
# Backwards along ``grad_fn``, through this graph:
#
#     input -> conv2d -> relu -> maxpool2d -> conv2d -> relu -> maxpool2d
#           -> flatten -> linear -> relu -> linear -> relu -> linear
#           -> MSELoss -> loss

print(error.grad_fn)
print(error.grad_fn.next_functions[0][0])
print(error.grad_fn.next_functions[0][0].next_functions[0][0])

######################################################################
# Backprop: the first layer's bias before and after.

model.zero_grad()
print("bias gradient before backward")
print(model.conv1.bias.grad)
error.backward()
print("bias gradient after backward")
print(model.conv1.bias.grad)

######################################################################
# The update by hand, as the text shows it (the build does not run it):
#
# .. code:: python
#
#     learning_rate = 0.01
#     for f in model.parameters():
#         f.data.sub_(f.grad.data * learning_rate)
#
# .. note::
#
#     An optimizer does it for you; clear its buffers at each step, else the gradients
#     accumulate::
#
#         import torch.optim as optim
#
#         optimizer = optim.SGD(model.parameters(), lr=0.01)
#         optimizer.zero_grad()
#         output = model(image)
#         loss = mse(output, goal)
#         loss.backward()
#         optimizer.step()
#
# One step of gradient descent by hand, run.

step_size = 0.01
for w in model.parameters():  # by hand
    w.data.sub_(w.grad.data * step_size)

######################################################################
# The same step without ``.data``.

with torch.no_grad():
    for w in model.parameters():
        w -= w.grad * step_size

######################################################################
# With an optimizer; clear its gradients at each step, else they accumulate.

import torch.optim as optim

sgd = optim.SGD(model.parameters(), lr=0.01)
sgd.zero_grad()
prediction = model(image)
error = mse(prediction, goal)
error.backward()
sgd.step()

######################################################################
# The model's ``zero_grad`` before there is an optimizer, the optimizer's once there is one:
# the same buffers.

model.zero_grad()
sgd.zero_grad()
