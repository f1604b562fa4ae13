"""
Old Autograd, for blitz's tests
===============================

Written for blitz's tests in the format of an older revision. Autograd is define-by-run: each
iteration can differ.
"""

import torch
from torch.autograd import Variable

###############################################################
# A variable that records its operations.

x = Variable(torch.ones(2, 2), requires_grad=True)
y = x + 2
print(y)

###############################################################
# Its creator.

print(y.creator)

###############################################################
# A vector, made in a loop.

x = torch.randn(3, requires_grad=True)
y = x * 2
while y.data.norm() < 100:
    y = y * 2

###############################################################
# Backward, given the vector.

v = torch.tensor([0.1, 1.0, 0.0001])
y.backward(v)
print(x.grad)

###############################################################
# A gradient compared with the wrong formula.

a = torch.tensor([2.0, 3.0], requires_grad=True)
Q = 3 * a**3
Q.sum().backward()
print(9 * a == a.grad)
