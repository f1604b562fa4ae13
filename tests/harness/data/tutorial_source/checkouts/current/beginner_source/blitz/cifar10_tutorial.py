# -*- coding: utf-8 -*-
"""
Training a classifier, in blitz's own words
===========================================

A script in the tutorial's format that states the claims of "Training a Classifier" with its
own code and names, for blitz's harness tests: a tiny CIFAR-10 copy, two short epochs.
"""
import torch
import torchvision
import torchvision.transforms as T

######################################################################
# Load CIFAR-10, normalized to [-1, 1].

to_input = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
train_data = torchvision.datasets.CIFAR10(
    root="./data", train=True, download=True, transform=to_input
)
train_batches = torch.utils.data.DataLoader(train_data, batch_size=4, shuffle=True)
test_data = torchvision.datasets.CIFAR10(
    root="./data", train=False, download=True, transform=to_input
)
test_batches = torch.utils.data.DataLoader(test_data, batch_size=4, shuffle=False)
names = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

######################################################################
# The same normalization with ``torchvision.transforms.v2``.

from torchvision.transforms import v2

to_input_v2 = v2.Compose(
    [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize((0.5,) * 3, (0.5,) * 3)]
)

######################################################################
# A first batch of training images.

batches = iter(train_batches)
pictures, targets = next(batches)
print(" ".join(f"{names[t]:5s}" for t in targets))

######################################################################
# A network for 3-channel images.

import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc3(F.relu(self.fc2(x)))


classifier = Classifier()

######################################################################
# Cross-entropy and SGD with momentum.

loss_fn = nn.CrossEntropyLoss()
opt = torch.optim.SGD(classifier.parameters(), lr=0.001, momentum=0.9)

######################################################################
# Train: two epochs, the running loss every 2 batches.

for epoch in range(2):
    running = 0.0
    for step, (x, y) in enumerate(train_batches):
        opt.zero_grad()
        loss = loss_fn(classifier(x), y)
        loss.backward()
        opt.step()
        running += loss.item()
        if step % 2 == 1:
            print(f"[{epoch + 1}, {step + 1:5d}] loss: {running / 2:.3f}")
            running = 0.0
print("Finished Training")

######################################################################
# Save the weights.

PATH = "./classifier.pth"
torch.save(classifier.state_dict(), PATH)

######################################################################
# The first test images.

batches = iter(test_batches)
pictures, targets = next(batches)
print("GroundTruth:", " ".join(f"{names[t]:5s}" for t in targets))

######################################################################
# Load the weights back into a new network.

classifier = Classifier()
classifier.load_state_dict(torch.load(PATH, weights_only=True))

######################################################################
# What it predicts for them.

scores = classifier(pictures)
_, guess = torch.max(scores, 1)
print("Predicted:", " ".join(f"{names[g]:5s}" for g in guess))

######################################################################
# Accuracy on the test images.

hits = 0
counted = 0
with torch.no_grad():
    for x, y in test_batches:
        _, guess = torch.max(classifier(x), 1)
        counted += y.size(0)
        hits += (guess == y).sum().item()
print(f"Accuracy of the network on the test images: {100 * hits // counted} %")

######################################################################
# Per class.

right = {n: 0 for n in names}
seen = {n: 0 for n in names}
with torch.no_grad():
    for x, y in test_batches:
        _, guess = torch.max(classifier(x), 1)
        for label, g in zip(y, guess):
            if label == g:
                right[names[label]] += 1
            seen[names[label]] += 1
for n in names:
    print(f"Accuracy for class: {n:5s} is {100 * right[n] / seen[n]:.1f} %")
