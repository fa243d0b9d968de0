# PyTorch reference of the cascaded hyper-convolutional decoder, written from the method doc
# (../../../shared/docs/dnd-method.md §5.1), for parity fixtures and the benchmark. Not used by tests or CI.
# x is (B, N, H, W); every resized axis is, in turn, the channel axis of one 'same' k x k conv.
import math

import torch
from torch import nn
from torch.nn import functional as F


class HyperConv3d(nn.Module):
    """LayerNorm over (H, W); (conv_W -> conv_H) + tanh(conv_H -> conv_W) + bias, / 3. N unchanged."""

    def __init__(self, fin, fout, k):
        super().__init__()
        _, hi, wi = fin
        _, ho, wo = fout
        self.norm = nn.LayerNorm([hi, wi])
        self.conv1w = nn.Conv2d(wi, wo, k, 1, "same", bias=False)  # channels W, spatial (H, N)
        self.conv1h = nn.Conv2d(hi, ho, k, 1, "same", bias=False)  # channels H, spatial (N, W')
        self.conv2h = nn.Conv2d(hi, ho, k, 1, "same", bias=False)  # channels H, spatial (N, W)
        self.conv2w = nn.Conv2d(wi, wo, k, 1, "same", bias=False)  # channels W, spatial (H', N)
        self.bias = nn.Parameter(torch.empty(ho, wo))
        nn.init.uniform_(self.bias, -1.0 / (ho * wo), 1.0 / (ho * wo))

    def forward(self, x):  # (B, N, H, W) -> (B, N, H', W')
        x = self.norm(x)
        a = self.conv1w(x.transpose(1, 3))  # (B, W, H, N) -> (B, W', H, N)
        a = a.transpose(1, 3).transpose(1, 2)  # (B, H, N, W')
        a = self.conv1h(a).transpose(1, 2)  # (B, H', N, W') -> (B, N, H', W')
        b = self.conv2h(x.transpose(1, 2))  # (B, H, N, W) -> (B, H', N, W)
        b = b.transpose(1, 2).transpose(1, 3)  # (B, W, H', N)
        b = torch.tanh(self.conv2w(b).transpose(1, 3))  # (B, W', H', N) -> (B, N, H', W')
        return (a + b + self.bias) / 3


class HyperConvLayer(nn.Module):
    def __init__(self, fin, fout, k):
        super().__init__()
        self.linear1 = HyperConv3d(fin, fout, k)
        self.linear2 = nn.Conv2d(fin[0], fout[0], k, 1, "same")  # "Conv_L": channels N, spatial (H', W')

    def forward(self, x):
        return self.linear2(self.linear1(x))


class HyperConvBlock(nn.Module):
    def __init__(self, features, k):
        super().__init__()
        self.module_list = nn.ModuleList([HyperConvLayer(i, o, k) for i, o in zip(features[:-1], features[1:])])

    def forward(self, x):
        for m in self.module_list:
            y = m(x)
            x = x + y if y.shape == x.shape else y  # residual only when the shapes match
        return x


class HyperConvDecoder(nn.Module):
    def __init__(self, features, k):
        super().__init__()
        self.decoder = HyperConvBlock(features, k)

    def forward(self, x):
        return self.decoder(x)


class Generator(nn.Module):
    """State-dict names match ours: model.decoder.module_list.{i}.linear1.conv1w.weight, ..."""

    def __init__(self, features, k):
        super().__init__()
        self.model = HyperConvDecoder(features, k)

    def forward(self, x):
        return self.model(x)


def weighted_mse(out, target, weights):  # weights [Nw] broadcast as (1, Nw, 1, 1)
    return torch.mean((out - target) ** 2 * weights.view(1, -1, 1, 1))


def lr_at(step, base_lr, warmup, total):
    """lr used by optimizer step `step` (1-based): linear warm-up over `warmup` steps, then cosine to 0."""
    if step <= warmup:
        return base_lr * step / warmup
    return base_lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def train_step(model, opt, x, target, weights, step, cfg, noise=(0.0, 0.0)):
    if noise[0] > 0:
        x = x + torch.randn_like(x) * noise[0]
    if noise[1] > 0:
        target = target + torch.randn_like(target) * noise[1]
    for g in opt.param_groups:
        g["lr"] = lr_at(step, cfg["lr"], cfg["warmup"], cfg["total"])
    opt.zero_grad(set_to_none=True)
    loss = weighted_mse(model(x), target, weights)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
    opt.step()
    return loss.item(), norm.item()
