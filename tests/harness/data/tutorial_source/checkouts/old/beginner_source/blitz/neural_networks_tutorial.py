# -*- coding: utf-8 -*-
"""
Neural networks, an older revision in blitz's own words
=======================================================

For blitz's harness tests: an older layout that leaves claims out (no grad_fn walk, no
backprop section, no note on mini-batches), states the update by hand in its text only (a
quoted paragraph, not code the page shows), and behaves wrongly in two places: its network
carries an eleventh parameter, and its loss sums the squared errors instead of averaging them.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.temperature = nn.Parameter(torch.ones(1))  # left over, never used

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


net = Net()
print(net)

######################################################################
# The learnable parameters.

params = list(net.parameters())
print(len(params))
print(params[0].size())

######################################################################
# A random input.

input = torch.randn(1, 1, 32, 32)
out = net(input)
print(out)

######################################################################
# A loss.

output = net(input)
target = torch.randn(10).view(1, -1)
criterion = nn.MSELoss(reduction="sum")
loss = criterion(output, target)
print(loss)

######################################################################
# The simplest update rule, in plain Python:
#
#     learning_rate = 0.01
#     for f in net.parameters():
#         f.data.sub_(f.grad.data * learning_rate)
#
# With the optim package:

import torch.optim as optim

optimizer = optim.SGD(net.parameters(), lr=0.01)
optimizer.zero_grad()
output = net(input)
loss = criterion(output, target)
loss.backward()
optimizer.step()
