# -*- coding: utf-8 -*-
"""
Data parallelism, in blitz's own words
======================================

``nn.DataParallel`` splits a batch over the GPUs; on a machine without two of them the model
runs as it is.
"""
import torch
import torch.nn as nn

######################################################################
# A model that says what it sees.


class Echo(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 2)

    def forward(self, x):
        y = self.fc(x)
        print("inside:", tuple(x.shape), "->", tuple(y.shape))
        return y


echo = Echo()
if torch.cuda.device_count() > 1:
    echo = nn.DataParallel(echo)
out = echo(torch.randn(30, 5))
print("outside:", tuple(out.shape))
