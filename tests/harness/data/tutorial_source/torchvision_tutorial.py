# -*- coding: utf-8 -*-
"""
Torchvision in the Sandbox
==========================

CIFAR-10 and pretrained weights come from local copies.
"""
import torch
import torchvision
import torchvision.transforms as transforms

######################################################################
# CIFAR-10, as the tutorial asks for it.

transform = transforms.Compose(
    [transforms.ToTensor(),
     transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])

trainset = torchvision.datasets.CIFAR10(root='./data', train=True,
                                        download=True, transform=transform)
trainloader = torch.utils.data.DataLoader(trainset, batch_size=4,
                                          shuffle=True, num_workers=2)
testset = torchvision.datasets.CIFAR10(root='./data', train=False,
                                       download=True, transform=transform)
images, labels = next(iter(trainloader))
print(len(trainset), len(testset), tuple(images.shape), type(trainset).__name__)

######################################################################
# Pretrained weights: from the hub cache where the file is there.

import torch.nn as nn

tiny = nn.Linear(2, 1)
tiny.load_state_dict(torch.hub.load_state_dict_from_url(
    "https://download.pytorch.org/models/blitz-tiny-0123abcd.pth"))
print("tiny weight:", tiny.weight.tolist())

######################################################################
# ... otherwise randomly initialised (torchvision 0.13 and later take
# ``weights=``, earlier releases ``pretrained=True``).

from torchvision.models import resnet18

try:
    from torchvision.models import ResNet18_Weights
except ImportError:
    model = resnet18(pretrained=True)
else:
    model = resnet18(weights=ResNet18_Weights.DEFAULT)
print("resnet18:", model.fc.out_features)
