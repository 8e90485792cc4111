"""Draw where an upgraded network's deformable layers sample an image, and print offset statistics per layer.

The sampling locations of the stacked deformable layers are composed back to image pixels, as in Dai et al.'s
figure: for each chosen unit of the last deformable layer, (k*k)^L points for L layers, red with the learned
offsets and blue with zero offsets (what the standard convolutions sampled).

Examples
--------
python scripts/visualize_offsets.py --config results/demo/table2/upgrade/config.yaml \
    --weights results/demo/table2/upgrade/last.params --image IMG.jpg --out offsets.png --images 40

``--images N`` adds the statistics averaged over the first N validation images of the config's data set: the
offsets' mean length, the samples outside the map, and the share of the composed samples of the unit at each
object's centre that fall inside its box, with the learned offsets and with zero offsets
(``experiments.offset_study.measure_offsets``).
"""
import os

from ..cli import command_line, command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--config", required=True, help="YAML config of the upgraded network (a run's config.yaml)")
    parser.add_argument("--weights", required=True, help=".params of the upgraded network (after fine-tuning)")
    parser.add_argument("--image", required=True, help="image file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    parser.add_argument("--points", default="0.2,0.2;0.5,0.5;0.8,0.8",
                        help="units to draw: 'y,x;y,x' as fractions of the image height and width "
                             "(default: three points on the diagonal)")
    parser.add_argument("--out", default="offsets.png", help="picture; statistics go beside it (.md, .json)")
    parser.add_argument("--images", type=int, default=0, metavar="N",
                        help="also average the statistics over the first N validation images (default: 0, none)")
    return parser.parse_args(argv)


def parse_points(text):
    points = []
    for pair in text.split(";"):
        values = pair.split(",")
        if len(values) != 2 or not all(0 <= float(v) <= 1 for v in values):
            return None
        points.append(tuple(float(v) for v in values))
    return points


def main(argv=None) -> int:
    args = parse_args(argv)

    def work():
        from ..config.loader import load_config
        from ..data.transforms import load_image
        from ..errors import UsageError
        from ..experiments.offset_study import measure_offsets
        from ..models.build import config_network, input_size
        from ..reporting.files import write_json, write_text
        from ..reporting.offsets import layer_offsets, offset_statistics, plot_sampling
        from ..reporting.tables import markdown_table

        fractions = parse_points(args.points)
        if not fractions:
            raise UsageError("--points needs 'y,x;y,x' with fractions in [0, 1], got {!r}".format(args.points))
        if args.images < 0:
            raise UsageError("--images needs a count of 0 or more, got {}".format(args.images))
        config = load_config(args.config, args.set)
        size = input_size(config["model"])
        net = config_network(config, args.weights)
        x, image = load_image(args.image, size)
        layers = layer_offsets(net, x)
        points = [(fy * (size - 1), fx * (size - 1)) for fy, fx in fractions]
        title = "{}: sampling locations of {} deformable layers, {} on {}".format(
            config["model"]["name"], len(layers), os.path.basename(args.weights), os.path.basename(args.image))
        plot_sampling(image, layers, points, args.out, title)
        stats = offset_statistics(layers, (size, size))
        table = markdown_table(
            ["layer", "input map", "mean offset length (map px)", "max (map px)", "mean (image px)",
             "max (image px)", "samples outside the map", "with zero offsets"],
            [[r["layer"], r["input_map"], round(r["mean"], 3), round(r["max"], 3), round(r["mean_image_px"], 2),
              round(r["max_image_px"], 2), "{:.1%}".format(r["outside"]), "{:.1%}".format(r["outside_standard"])]
             for r in stats])
        validation = measure_offsets(config, net, args.images) if args.images else None
        summary = [] if validation is None else [
            "Over the first {} validation images (means over layers and images): offset length {:.3f} map px, "
            "samples outside the map {:.1%} (zero offsets: {:.1%}); of the composed samples of the unit at each "
            "object's centre, {:.1%} fall inside its box (zero offsets: {:.1%}).".format(
                args.images, validation["mean_length"], validation["outside"], validation["outside_standard"],
                validation["on_object"], validation["on_object_standard"]), ""]
        stem = os.path.splitext(args.out)[0]
        command = command_line("visualize_offsets.py", argv)
        write_text(stem + ".md", "\n".join([
            "# Offsets of {} on {}".format(os.path.basename(args.weights), os.path.basename(args.image)), "",
            "Offset lengths over every output position and kernel tap of each deformable layer, in pixels of the "
            "layer's input map and of the {} px network input.".format(size), "", table, ""] + summary + [
            "![sampling locations]({})".format(os.path.basename(args.out)), "", "Command: `{}`".format(command), ""]))
        write_json(stem + ".json", {"command": command, "layers": stats, "validation": validation})
        return "\n".join([table] + summary[:1] + ["wrote {}, {}.md, {}.json".format(args.out, stem, stem)])
    return run_main(work)
