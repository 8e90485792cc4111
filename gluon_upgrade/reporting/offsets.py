"""What the offsets learned: per deformable layer, the offsets a network predicts for one image, their statistics,
and the sampling locations of stacked deformable layers composed back to image pixels (Dai et al., Fig. 5).

Written by hand: no library reads offsets out of MXNet's deformable layers or composes them.
"""
import json
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import mxnet as mx
import numpy as np

from ..errors import UpgradeError
from ..selection.layers import DEFORMABLE, DEFORMABLE_OPS, MODULATED, SAMPLED_MARK, parse_graph_node
from .curves import plt, save_figure


@dataclass
class LayerOffsets:
    """One deformable layer's geometry and the offsets it predicted for one image.

    ``offsets`` is ``(2*k*k*G, Ho, Wo)`` in MXNet's order (per group and tap: row shift, column shift), in
    pixels of the layer's input map, whose size is ``input_size`` (H, W).
    """

    name: str
    kernel: Tuple[int, int]
    stride: Tuple[int, int]
    pad: Tuple[int, int]
    dilate: Tuple[int, int]
    input_size: Tuple[int, int]
    offsets: np.ndarray

    @property
    def output_size(self) -> Tuple[int, int]:
        """(Ho, Wo) of the layer's output map."""
        return tuple(self.offsets.shape[1:])

    def magnitudes(self) -> np.ndarray:
        """Length of every offset vector (all groups, taps and output positions), in input-map pixels."""
        pairs = self.offsets.reshape(-1, 2, *self.output_size)
        return np.sqrt((pairs ** 2).sum(axis=1)).ravel()

    def sample_grid(self, deformed: bool = True) -> np.ndarray:
        """Every sampling position (y, x) in the input map, ``(G, k*k, Ho, Wo, 2)``: with the offsets, or with
        ``deformed=False`` where the standard convolution samples."""
        kh, kw = self.kernel
        rows, cols = self.output_size
        taps = np.arange(kh * kw)
        y = (taps // kw * self.dilate[0])[:, None, None] + (np.arange(rows) * self.stride[0] - self.pad[0])[:, None]
        x = (taps % kw * self.dilate[1])[:, None, None] + (np.arange(cols) * self.stride[1] - self.pad[1])[None, :]
        grid = np.stack(np.broadcast_arrays(y, x), axis=-1).astype(np.float64)[None]
        shifts = self.offsets.reshape(-1, kh * kw, 2, rows, cols).transpose(0, 1, 3, 4, 2)
        return grid + shifts if deformed else np.broadcast_to(grid, shifts.shape)

    def outside_fraction(self, deformed: bool = True) -> float:
        """Fraction of all samples (groups, taps, output positions) outside the input map, where MXNet's v1
        operator reads zero (with ``deformed=False``: the padding the standard convolution reads)."""
        grid = self.sample_grid(deformed)
        height, width = self.input_size
        inside = (grid[..., 0] >= 0) & (grid[..., 0] < height) & (grid[..., 1] >= 0) & (grid[..., 1] < width)
        return float(1 - inside.mean())


def layer_offsets(net: mx.gluon.HybridBlock, x: mx.nd.NDArray) -> List[LayerOffsets]:
    """The offsets every deformable layer of ``net`` predicts for the first image of ``x``, in forward order.

    Works on block trees and symbol graphs alike: the network is traced and the offset inputs of its deformable
    operators are evaluated with the network's own parameters.

    Raises
    ------
    UpgradeError
        The network has no deformable layer.
    """
    traced = net(mx.sym.var("data"))
    traced = mx.sym.Group(list(traced)) if isinstance(traced, (list, tuple)) else traced
    internals = traced.get_internals()
    nodes = json.loads(traced.tojson())["nodes"]
    heads, geometry = [], []
    for node in nodes:
        info = parse_graph_node(node, nodes)
        if info is None or info["kind"] not in (DEFORMABLE, MODULATED):
            continue
        if node["op"] in DEFORMABLE_OPS:
            data, offset = list(internals[node["name"] + "_output"].get_children())[:2]
        else:
            # impl="sampled" or "fast" in a graph: the marked convolution names its offset branch, which "fast"
            # computes as a padded convolution, sliced.
            branch = json.loads(node["attrs"][SAMPLED_MARK])["offset"]
            offset = internals[branch + "_output"]
            padded = branch + "_padded_output"
            data = (internals[padded] if padded in internals.list_outputs() else offset).get_children()[0]
        # The v2 offset branch of a composite also predicts the masks, after the 2*k*k shifts per group.
        with_masks = node["op"] not in DEFORMABLE_OPS and info["kind"] == MODULATED
        heads += [data, offset]
        geometry.append((node["name"], info["kernel"], info["stride"], info["padding"], info["dilation"],
                         with_masks))
    if not heads:
        raise UpgradeError("the network has no deformable layer: upgrade it first (or give the upgraded weights "
                           "with the config that upgrades it)")
    block = mx.gluon.SymbolBlock(mx.sym.Group(heads), [mx.sym.var("data")], params=net.collect_params())
    values = block(x)
    found = []
    for index, (name, kernel, stride, pad, dilate, with_masks) in enumerate(geometry):
        data, offset = values[2 * index], values[2 * index + 1]
        shifts = offset.shape[1] * 2 // 3 if with_masks else offset.shape[1]
        found.append(LayerOffsets(name, kernel, stride, pad, dilate, tuple(data.shape[2:]),
                                  offset[0].asnumpy()[:shifts]))
    return found


def _rescale(points: np.ndarray, source: Tuple[int, int], target: Tuple[int, int]) -> np.ndarray:
    """Positions (y, x) in a map of size ``source`` (H, W) as positions in one of size ``target`` covering the
    same image, aligning the centres of cells."""
    scale = np.array(target, dtype=np.float64) / np.array(source, dtype=np.float64)
    return (points + 0.5) * scale - 0.5


def compose_sampling(layers: Sequence[LayerOffsets], point: Tuple[float, float], image_size: Tuple[int, int],
                     deformed: bool = True) -> Tuple[np.ndarray, Tuple[int, int]]:
    """Where a unit of the last layer looks in the image, through all the ``layers`` (in forward order).

    The unit is the last layer's output position nearest to image pixel ``point`` (y, x). Its ``k*k`` sampling
    positions are positions in the previous layer's output, each of which samples ``k*k`` positions, and so on,
    up to ``(k*k)**len(layers)`` points, returned as image pixels (y, x) with the unit's (row, col). Between
    layers a position is rounded to the nearest output position, as in Dai et al.'s figure; one outside the map
    reads zero and is not traced further.
    """
    last = layers[-1]
    unit = np.clip(np.round(_rescale(np.array(point, dtype=np.float64), image_size, last.output_size)),
                   0, np.array(last.output_size) - 1).astype(int)
    positions = unit[None, :]
    for index in range(len(layers) - 1, -1, -1):
        layer = layers[index]
        grid = layer.sample_grid(deformed)[0]  # (k*k, Ho, Wo, 2), deformable group 0
        points = grid[:, positions[:, 0], positions[:, 1]].transpose(1, 0, 2).reshape(-1, 2)
        if index == 0:
            return _rescale(points, layer.input_size, image_size), (int(unit[0]), int(unit[1]))
        previous = layers[index - 1].output_size
        rounded = np.round(_rescale(points, layer.input_size, previous))
        positions = rounded[np.all((rounded >= 0) & (rounded < np.array(previous)), axis=1)].astype(int)
    raise UpgradeError("no layers to compose")


def offset_statistics(layers: Sequence[LayerOffsets], image_size: Tuple[int, int]) -> List[dict]:
    """Per layer: name, map size, mean and max offset length in map pixels and in image pixels, and the
    fraction of samples outside the map (and the same for zero offsets: the padding)."""
    rows = []
    for layer in layers:
        lengths = layer.magnitudes()
        pixel = float(np.mean(np.array(image_size, dtype=np.float64) / np.array(layer.input_size)))
        rows.append({"layer": layer.name, "input_map": "x".join(map(str, layer.input_size)),
                     "mean": float(lengths.mean()), "max": float(lengths.max()),
                     "outside": layer.outside_fraction(), "outside_standard": layer.outside_fraction(False),
                     "mean_image_px": float(lengths.mean()) * pixel, "max_image_px": float(lengths.max()) * pixel})
    return rows


def plot_sampling(image: np.ndarray, layers: Sequence[LayerOffsets], points: Sequence[Tuple[float, float]],
                  out: str, title: str = "") -> str:
    """One panel per image point: the composed sampling locations of the deformable layers (red) against those of
    the same layers with zero offsets (blue), and the unit (green star). The view extends past the image (up
    to one image size on each side) where learned locations fall outside it. Returns ``out``."""
    height, width = image.shape[:2]
    size = (height, width)
    figure, axes = plt.subplots(1, len(points), figsize=(4.4 * len(points), 4.9), squeeze=False)
    possible = int(np.prod([layer.kernel[0] * layer.kernel[1] for layer in layers]))
    for ax, point in zip(axes[0], points):
        standard, _ = compose_sampling(layers, point, size, deformed=False)
        deformed, unit = compose_sampling(layers, point, size)
        centre = _rescale(np.array(unit, dtype=np.float64), layers[-1].output_size, size)
        shown = np.concatenate([deformed, standard, [[0, 0], [height - 1, width - 1]]])
        low = np.maximum(shown.min(axis=0) - 2, [-height, -width])
        high = np.minimum(shown.max(axis=0) + 2, [2 * height, 2 * width])
        ax.imshow(image, extent=(-0.5, width - 0.5, height - 0.5, -0.5))
        ax.add_patch(plt.Rectangle((-0.5, -0.5), width, height, fill=False, edgecolor="black", linewidth=0.8))
        ax.scatter(standard[:, 1], standard[:, 0], s=10, c="#3b6fd8", alpha=0.6, label="zero offsets")
        ax.scatter(deformed[:, 1], deformed[:, 0], s=6, c="#e03030", alpha=0.5, label="learned offsets")
        ax.scatter([centre[1]], [centre[0]], s=90, c="#20c040", marker="*", edgecolors="black", label="unit")
        ax.set_xlim(low[1], high[1])
        ax.set_ylim(high[0], low[0])
        inside = np.all((deformed > -0.5) & (deformed < np.array(size) - 0.5), axis=1).sum()
        ax.set_title("unit ({}, {}) of {}: {} of {} samples traced,\n{} inside the image".format(
            unit[0], unit[1], layers[-1].name, len(deformed), possible, inside), fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(loc="lower left", fontsize=7, framealpha=0.8)
    return save_figure(figure, out, title)
